"""Programs and helpers that run INSIDE workloads. They reach the server only through the
public API (``HANGAR_API_URL`` + ``HANGAR_RUN_TOKEN``) and never import server internals."""
