"""Workloads (everything that uses compute), their runs, events and usage intervals."""
