"""Errors the SDK raises. Every one is a :class:`HangarClientError`.

The server's error body is ``{"code", "message", "fields"}`` (see ``hangar.api.errors``);
:class:`HangarAPIError` carries those parts unchanged, plus the HTTP status.
"""

from __future__ import annotations

from typing import Any


class HangarClientError(Exception):
    """Base class of everything the SDK raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HangarAPIError(HangarClientError):
    """The server answered with an error status (4xx/5xx)."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.fields: dict[str, str] = dict(fields or {})
        # The whole decoded body: some errors carry extra keys (``retry_after``, ``kind``).
        self.body: dict[str, Any] = dict(body or {})

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status}, {self.code})"

    def __repr__(self) -> str:
        return (
            f"HangarAPIError(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, fields={self.fields!r})"
        )


class HangarConnectionError(HangarClientError):
    """The server could not be reached, or did not answer in time."""

    def __init__(self, message: str, *, server_url: str) -> None:
        super().__init__(message)
        self.server_url = server_url


class HangarResponseError(HangarClientError):
    """The server answered successfully but not with what Hangar sends (wrong URL?)."""


class HangarLookupError(HangarClientError):
    """A name or id given to a ``find`` method matches nothing the caller can see."""

    def __init__(self, kind: str, ref: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} '{ref}' not found")
        self.kind = kind
        self.ref = ref
