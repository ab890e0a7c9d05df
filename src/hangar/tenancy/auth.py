"""Authentication: password login with throttling, console sessions, bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_actor, note_target, note_tenant
from hangar.db.base import utcnow
from hangar.errors import NotAuthenticated, TooManyRequests
from hangar.tenancy import credentials
from hangar.tenancy.access import Actor, tenant_roles
from hangar.tenancy.orm import ApiToken, ConsoleSession, LoginFailure, User

# Writing last_used_at on every request would serialise all readers on SQLite's write lock;
# a minute's precision is what users need to spot unused tokens.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    window: timedelta


def check_password_login(
    session: Session, *, username: str, password: str, client_addr: str, throttle: Throttle
) -> User:
    """Verify a password. Too many recent failures from one address lock the pair out.

    The failure is recorded by the caller in its own transaction (see
    :func:`record_login_failure`), so it survives the rollback of this request. Attempts on an
    existing account are audited in its tenant, so tenant admins see them.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        note_tenant(user.tenant_id)
        note_target("user", user.id, user.username)
    since = utcnow() - throttle.window
    recent = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.username == username,
            LoginFailure.client_addr == client_addr,
            LoginFailure.at >= since,
        )
    )
    if (recent or 0) >= throttle.max_failures:
        minutes = int(throttle.window.total_seconds() // 60)
        raise TooManyRequests(
            f"too many failed logins for '{username}' from this address; "
            f"try again in {minutes} minutes",
            retry_after=int(throttle.window.total_seconds()),
        )
    if not credentials.verify_password(user.password_hash if user else None, password):
        raise NotAuthenticated("wrong username or password", fields={"password": "wrong"})
    assert user is not None
    if user.disabled:
        raise NotAuthenticated("this account is disabled; ask a tenant admin to enable it")
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.client_addr == client_addr
        )
    )
    user.last_login_at = utcnow()
    return user


def record_login_failure(session: Session, *, username: str, client_addr: str) -> None:
    session.add(LoginFailure(username=username[:64], client_addr=client_addr[:64]))


def do_prune_stale(session: Session, *, failure_window: timedelta) -> tuple[int, int]:
    """Delete expired console sessions, and login failures too old to count for throttling.

    Returns (sessions, failures) deleted. Both are dead weight: expiry and the window are
    checked on every use, so this only keeps the tables small.
    """
    now = utcnow()
    sessions = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    failures = session.execute(delete(LoginFailure).where(LoginFailure.at < now - failure_window))
    return int(sessions.rowcount or 0), int(failures.rowcount or 0)  # type: ignore[attr-defined]


def do_create_session(
    session: Session, *, user: User, ttl: timedelta, client_addr: str
) -> tuple[ConsoleSession, str]:
    bearer = credentials.new_bearer()
    row = ConsoleSession(
        user_id=user.id,
        prefix=bearer.prefix,
        secret_hash=bearer.digest,
        csrf_token=credentials.new_bearer().secret,
        expires_at=utcnow() + ttl,
        client_addr=client_addr[:64],
    )
    session.add(row)
    session.flush()
    return row, bearer.full


def resolve_session(session: Session, cookie: str) -> tuple[Actor, ConsoleSession]:
    parsed = credentials.parse_bearer(cookie)
    row = (
        session.scalar(select(ConsoleSession).where(ConsoleSession.prefix == parsed.prefix))
        if parsed
        else None
    )
    if row is None or parsed is None or not credentials.matches(row.secret_hash, parsed.secret):
        raise NotAuthenticated("your session has ended; log in again")
    if row.expires_at <= utcnow():
        raise NotAuthenticated("your session has expired; log in again")
    user = _active_user(session, row.user_id)
    actor = Actor(user=user, tenant_roles=tenant_roles(session, user), via="session")
    note_actor(tenant_id=user.tenant_id, user_id=user.id, username=user.username)
    return actor, row


def do_end_session(session: Session, *, row: ConsoleSession) -> None:
    session.delete(row)


def resolve_token(session: Session, value: str) -> Actor:
    parsed = credentials.parse_bearer(value)
    token = (
        session.scalar(select(ApiToken).where(ApiToken.prefix == parsed.prefix)) if parsed else None
    )
    if token is None or parsed is None or not credentials.matches(token.secret_hash, parsed.secret):
        raise NotAuthenticated("invalid API token")
    now = utcnow()
    if token.revoked_at is not None:
        raise NotAuthenticated(f"API token '{token.name}' was revoked; create a new one")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated(f"API token '{token.name}' has expired; create a new one")
    user = _active_user(session, token.user_id)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    note_actor(tenant_id=user.tenant_id, user_id=user.id, username=user.username)
    return Actor(
        user=user,
        tenant_roles=tenant_roles(session, user),
        via="token",
        scopes=frozenset(token.scopes),
        token_id=token.id,
    )


def _active_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotAuthenticated("this account no longer exists")
    if user.disabled:
        raise NotAuthenticated("this account is disabled; ask a tenant admin to enable it")
    return user
