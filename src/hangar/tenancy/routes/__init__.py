"""HTTP routes for tenancy: thin — authorize via ``Permit``, call one service, serialise."""
