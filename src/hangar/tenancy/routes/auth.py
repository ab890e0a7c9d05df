"""Login, logout, whoami."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from hangar.api.deps import (
    SESSION_COOKIE,
    CurrentActor,
    SessionDep,
    SettingsDep,
    app_state,
    client_addr,
    console_session,
)
from hangar.audit.context import note_actor, note_target
from hangar.config import Settings
from hangar.db.engine import transaction
from hangar.errors import NotAuthenticated, PermissionDenied
from hangar.tenancy import auth, tokens, users
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant, User
from hangar.tenancy.schemas import (
    LoginIn,
    Me,
    PasswordChange,
    TokenCreated,
    TokenLoginIn,
    TokenRead,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def password_login(request: Request, session: Session, settings: Settings, body: LoginIn) -> User:
    """Shared by the console and the API: verify, or record the failure durably."""
    throttle = auth.Throttle(
        settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes)
    )
    note_target("user", "", body.username, action="auth.login")
    try:
        user = auth.check_password_login(
            session,
            username=body.username,
            password=body.password,
            client_addr=client_addr(request),
            throttle=throttle,
        )
    except NotAuthenticated:
        # The request transaction rolls back; the failure must still count, so it is written
        # in a transaction of its own. End the request's transaction first: on SQLite it holds
        # the database's only write lock, which the second transaction would wait on forever.
        session.rollback()
        with transaction(app_state(request).sessions) as own:
            auth.record_login_failure(own, username=body.username, client_addr=client_addr(request))
        raise
    note_actor(tenant_id=user.tenant_id, user_id=user.id, username=user.username)
    note_target("user", user.id, user.username)
    return user


@router.post("/login", name="auth.login", response_model=Me)
def login(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep, body: LoginIn
) -> Me:
    """Console login: sets an HTTP-only session cookie; the CSRF token is in the body."""
    user = password_login(request, session, settings, body)
    row, cookie = auth.do_create_session(
        session,
        user=user,
        ttl=timedelta(hours=settings.session_ttl_hours),
        client_addr=client_addr(request),
    )
    set_session_cookie(response, cookie, settings.session_ttl_hours, settings.secure_cookies)
    response.headers["X-CSRF-Token"] = row.csrf_token
    actor = auth.resolve_session(session, cookie)[0]
    return me(session, actor)


@router.post("/token", name="auth.token_login", response_model=TokenCreated, status_code=201)
def token_login(
    request: Request, session: SessionDep, settings: SettingsDep, body: TokenLoginIn
) -> TokenCreated:
    """CLI login: exchange a password for a new API token (shown once)."""
    user = password_login(request, session, settings, body)
    token, secret = tokens.do_create_token(
        session, user=user, name=body.token_name, scopes=["all"],
        expires_in_days=body.expires_in_days,
    )  # fmt: skip
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.post("/logout", name="auth.logout", status_code=204)
def logout(request: Request, response: Response, session: SessionDep, actor: CurrentActor) -> None:
    """Ends the console session, or revokes the API token used for this call."""
    row = console_session(request)
    if row is not None:
        auth.do_end_session(session, row=row)
    elif actor.token_id is not None:
        tokens.do_revoke_token(
            session, token=tokens.access_token(session, actor, actor.token_id, manage=False)
        )
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/password", name="auth.password_change", status_code=204)
def change_password(
    request: Request, session: SessionDep, actor: CurrentActor, body: PasswordChange
) -> None:
    """Change your own password. Your other console sessions end; API tokens stay valid."""
    if not actor.scope_allows("user", write=True):
        raise PermissionDenied(
            "this API token lacks the scope 'user:write'", fields={"scopes": "user:write"}
        )
    row = console_session(request)
    users.do_change_own_password(
        session,
        user=actor.user,
        current=body.current_password,
        new=body.new_password,
        keep_session_id=row.id if row else None,
    )


@router.get("/me", response_model=Me)
def whoami(session: SessionDep, actor: CurrentActor) -> Me:
    return me(session, actor)


def me(session: Session, actor: Actor) -> Me:
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    return Me(
        **{
            k: getattr(actor.user, k)
            for k in (
                "id",
                "tenant_id",
                "username",
                "display_name",
                "email",
                "is_owner",
                "disabled",
                "created_at",
                "last_login_at",
                "is_platform_admin",
            )
        },
        tenant_name=tenant.name,
        tenant_roles=sorted(actor.tenant_roles),
        via=actor.via,
        scopes=sorted(actor.scopes) if actor.via == "token" else ["all"],
    )


def set_session_cookie(response: Response, value: str, ttl_hours: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=ttl_hours * 3600,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
