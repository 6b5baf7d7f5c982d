"""Offline evaluations of the pipeline stages against the shared reference data."""
