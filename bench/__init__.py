"""Benchmarks of equilean's compute and FHIR ingest against the alternatives (`make bench`)."""
