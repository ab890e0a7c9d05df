"""The local backend (embedded default): ``hangar.backends.local.backend.LocalBackend``.

Kept empty on purpose: ``python -m hangar.backends.local.supervisor`` imports this package
once per node launch and must start fast.
"""
