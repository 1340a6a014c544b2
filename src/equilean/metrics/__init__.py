"""Measures, their stratified observations, the signals raised on them, and equity dashboards."""
