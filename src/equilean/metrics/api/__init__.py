"""REST endpoints for measures, observations and signals."""
