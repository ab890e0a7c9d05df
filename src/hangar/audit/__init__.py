"""The audit trail: one append-only record per mutating request."""
