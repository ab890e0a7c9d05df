"""HTTP API: app factory, dependencies, error mapping, middleware."""
