"""Dependencies: the DB session (route owns the transaction), the caller, and ``Permit``.

``Permit`` is the single gate every route goes through. For a workspace point of the matrix
it loads the workspace (404 when invisible), the caller's roles, optionally the object and its
owner, and applies the matrix cell; for a tenant capability it applies the capability table.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hangar.api.middleware import audited, record_fields
from hangar.api.state import AppState
from hangar.audit import context as audit_context
from hangar.audit.context import note_workspace
from hangar.audit.service import do_record
from hangar.config import Settings
from hangar.db.engine import transaction
from hangar.errors import NotAuthenticated, PermissionDenied
from hangar.tenancy import auth
from hangar.tenancy.access import (
    Actor,
    access_workspace,
    check_capability,
    check_point,
    workspace_roles,
)
from hangar.tenancy.capabilities import CAPABILITY
from hangar.tenancy.matrix import BY_KEY, Role
from hangar.tenancy.orm import ConsoleSession, Workspace

SESSION_COOKIE = "hangar_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.hangar
    return state


def get_settings(request: Request) -> Settings:
    return app_state(request).settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the route returns, roll back on error.

    The dependency closes when the route function returns, before the response is sent, so a
    client never sees success for an uncommitted change. A mutating request's audit record
    joins this transaction when the route succeeds: the change and its record commit together
    or not at all. Failures are recorded by :class:`hangar.api.middleware.AuditTrail`.
    """
    audit = audit_context.current() if audited(request.scope) else None
    with app_state(request).sessions() as session:
        with session.begin():
            yield session
            if audit is not None:
                route = request.scope.get("route")
                status = getattr(route, "status_code", None) or 200
                record = do_record(session, **record_fields(request.scope, audit, status))
                session.flush()
        if audit is not None:
            audit.record_id, audit.recorded_status = record.id, status


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_addr(request: Request) -> str:
    return request.client.host if request.client else ""


def _authenticate(request: Request, session: Session) -> tuple[Actor, ConsoleSession | None]:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise NotAuthenticated("Authorization header must be 'Bearer <token>'")
        return auth.resolve_token(session, value), None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated("log in first, or send 'Authorization: Bearer <token>'")
    actor, row = auth.resolve_session(session, cookie)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if not sent or not hmac.compare_digest(sent, row.csrf_token):
            raise PermissionDenied(
                "missing or wrong CSRF token; reload the page and try again",
                fields={CSRF_HEADER: "missing or wrong"},
            )
    return actor, row


def current_actor(request: Request, session: SessionDep) -> Actor:
    actor, row = _authenticate(request, session)
    request.state.console_session = row
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def streaming_actor(request: Request) -> Actor:
    """The caller, authenticated in a short transaction of its own: for routes that stream a
    large body into storage and must not hold the request's transaction (on SQLite, the
    database's write lock) while they do. They open their own transactions around it."""
    with transaction(app_state(request).sessions) as session:
        actor, row = _authenticate(request, session)
    request.state.console_session = row
    return actor


StreamingActor = Annotated[Actor, Depends(streaming_actor)]


def console_session(request: Request) -> ConsoleSession | None:
    row: ConsoleSession | None = getattr(request.state, "console_session", None)
    return row


@dataclass(frozen=True)
class WorkspaceAccess:
    actor: Actor
    workspace: Workspace
    roles: frozenset[Role]
    obj: Any = None


OwnerLoader = Callable[[Session, Workspace, Request], tuple[Any, str | None]]


def Permit(  # noqa: N802 - reads like a type at the call site: Depends(Permit("..."))
    key: str, *, load: OwnerLoader | None = None, write: bool | None = None
) -> Callable[..., Any]:
    """The permission dependency. ``key`` is a matrix point or a tenant capability.

    Workspace points need a ``workspace_id`` path parameter. ``load`` fetches the object the
    route acts on and returns it with its owner's user id, so the own/others column applies.
    ``write`` (which token scope is needed) defaults to "the method is unsafe"; pass False
    for queries sent as POST.
    """

    def writes(request: Request) -> bool:
        return request.method not in SAFE_METHODS if write is None else write

    if key in BY_KEY:

        def workspace_gate(
            request: Request, session: SessionDep, actor: CurrentActor, workspace_id: str
        ) -> WorkspaceAccess:
            ws = access_workspace(session, actor, workspace_id)
            note_workspace(ws.id)
            roles = workspace_roles(session, actor, ws)
            obj, owner_id = load(session, ws, request) if load else (None, None)
            check_point(actor, key, roles, owner_id=owner_id, write=writes(request))
            return WorkspaceAccess(actor=actor, workspace=ws, roles=roles, obj=obj)

        return workspace_gate
    if key in CAPABILITY:

        def tenant_gate(request: Request, actor: CurrentActor) -> Actor:
            check_capability(actor, key, write=writes(request))
            return actor

        return tenant_gate
    raise KeyError(f"unknown permission '{key}'")


def platform_admin(actor: CurrentActor) -> Actor:
    if not actor.user.is_platform_admin:
        raise PermissionDenied(
            "only the platform admin (the installation's first admin account) may do this: "
            "tenants, clusters and the platform price book are platform-wide"
        )
    return actor


PlatformAdmin = Annotated[Actor, Depends(platform_admin)]
