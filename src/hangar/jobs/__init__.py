"""Training jobs (spec 04): the first workload kind."""
