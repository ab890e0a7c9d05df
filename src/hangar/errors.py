"""One error hierarchy for the whole platform.

Services raise these; ``hangar.api.errors`` maps them to HTTP in one place. Every message says
what was wrong and, where it helps, what to do instead.
"""

from __future__ import annotations

from typing import Any


class HangarError(Exception):
    """Base class: a stable ``code``, an HTTP status and optional per-field messages."""

    code = "error"
    http_status = 500

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        """The wire shape of every error: exactly ``code``, ``message`` and ``fields``.

        ``extra`` stays server-side (headers such as Retry-After, logs); clients get one
        stable shape to parse.
        """
        return {"code": self.code, "message": self.message, "fields": dict(self.fields)}


class ValidationFailed(HangarError):
    code = "validation_failed"
    http_status = 422

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls(f"{name}: {message}", fields={name: message})


class NotAuthenticated(HangarError):
    code = "not_authenticated"
    http_status = 401


class PermissionDenied(HangarError):
    code = "permission_denied"
    http_status = 403


class NotFound(HangarError):
    """Also used for objects of another tenant, so their existence never leaks."""

    code = "not_found"
    http_status = 404

    @classmethod
    def of(cls, kind: str, ident: str) -> NotFound:
        return cls(f"{kind} '{ident}' not found", kind=kind, id=ident)


class Conflict(HangarError):
    code = "conflict"
    http_status = 409


class AlreadyExists(Conflict):
    code = "already_exists"


class LimitExceeded(HangarError):
    code = "limit_exceeded"
    http_status = 409


class TooManyRequests(HangarError):
    code = "too_many_requests"
    http_status = 429


class PayloadTooLarge(HangarError):
    code = "payload_too_large"
    http_status = 413
