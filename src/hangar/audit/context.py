"""Per-request audit scope that routers and services fill in and the middleware writes.

The middleware puts a mutable :class:`AuditScope` in a context variable. FastAPI runs sync
endpoints in a worker thread with a *copy* of the context, so the object is shared and
mutations made there are visible to the middleware afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar


@dataclass
class AuditScope:
    tenant_id: str | None = None
    user_id: str | None = None
    username: str = ""
    workspace_id: str | None = None
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    target_name: str = ""
    level: str = "normal"
    details: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    # Set when the record was committed inside the request's own transaction (see
    # hangar.api.deps.get_session), with the status it was written with.
    record_id: str | None = None
    recorded_status: int | None = None


_scope: ContextVar[AuditScope | None] = ContextVar("hangar_audit_scope", default=None)


def begin() -> AuditScope:
    scope = AuditScope()
    _scope.set(scope)
    return scope


def current() -> AuditScope | None:
    return _scope.get()


def note_actor(*, tenant_id: str, user_id: str, username: str) -> None:
    scope = _scope.get()
    if scope is not None:
        scope.tenant_id, scope.user_id, scope.username = tenant_id, user_id, username


def note_target(
    kind: str,
    ident: str,
    name: str = "",
    *,
    workspace_id: str | None = None,
    action: str | None = None,
    level: str | None = None,
    **details: Any,
) -> None:
    """Record what a mutating request acted on. Safe to call outside a request (no-op)."""
    scope = _scope.get()
    if scope is None:
        return
    scope.target_type, scope.target_id, scope.target_name = kind, ident, name
    if workspace_id is not None:
        scope.workspace_id = workspace_id
    if action is not None:
        scope.action = action
    if level is not None:
        scope.level = level
    scope.details.update(details)


def note_tenant(tenant_id: str) -> None:
    """File the record under a tenant before anyone is authenticated (e.g. a failed login)."""
    scope = _scope.get()
    if scope is not None:
        scope.tenant_id = tenant_id


def note_workspace(workspace_id: str) -> None:
    scope = _scope.get()
    if scope is not None:
        scope.workspace_id = workspace_id


_F = TypeVar("_F", bound=Callable[..., Any])
READ_ONLY_MARK = "__hangar_read_only__"


def read_only(endpoint: _F) -> _F:
    """Mark a POST endpoint that changes nothing (a query with a body): it is not audited."""
    setattr(endpoint, READ_ONLY_MARK, True)
    return endpoint
