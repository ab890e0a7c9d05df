"""Errors the SDK raises. Every one is a :class:`HangarClientError`.

The server's error body is ``{"code", "message", "fields"}`` (see ``hangar.api.errors``);
:class:`HangarAPIError` carries those parts unchanged, plus the HTTP status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar


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


class Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


def by_name_or_id(items: Iterable[N], ref: str, kind: str, message: str | None = None) -> N:
    """The item named ``ref``, else the one whose id is ``ref``; names win over ids."""
    found = list(items)
    for item in found:
        if item.name == ref:
            return item
    for item in found:
        if item.id == ref:
            return item
    raise HangarLookupError(kind, ref, message)
