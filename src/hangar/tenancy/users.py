"""Sub-accounts: create, edit, disable, delete. The caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationFailed
from hangar.tenancy import credentials
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import ConsoleSession, User
from hangar.tenancy.schemas import UserCreate, UserUpdate
from hangar.tenancy.validation import check_password, check_username


def access_user(session: Session, actor: Actor, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.tenant_id != actor.tenant_id:
        raise NotFound.of("user", user_id)
    return user


def list_users(session: Session, *, actor: Actor, query: str = "") -> list[User]:
    stmt = select(User).where(User.tenant_id == actor.tenant_id).order_by(User.username)
    if query:
        stmt = stmt.where(User.username.contains(query) | User.display_name.contains(query))
    return list(session.scalars(stmt))


def do_create_user(
    session: Session, *, tenant_id: str, data: UserCreate, is_owner: bool = False
) -> User:
    note_target("user", "", data.username, action="user.create")
    check_username(data.username)
    check_password(data.password)
    taken = session.scalar(select(func.count()).where(User.username == data.username))
    if taken:
        raise AlreadyExists(
            f"username '{data.username}' is already taken; choose another",
            fields={"username": "already taken"},
        )
    user = User(
        tenant_id=tenant_id,
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        password_hash=credentials.hash_password(data.password),
        is_owner=is_owner,
    )
    session.add(user)
    session.flush()
    note_target("user", user.id, user.username, action="user.create")
    return user


def do_update_user(session: Session, *, actor: Actor, user: User, data: UserUpdate) -> User:
    note_target("user", user.id, user.username)
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.email is not None:
        user.email = data.email
    if data.password is not None:
        if user.is_owner and user.id != actor.id:
            # The main account outranks every sub-account (T1) and, in the first tenant, is the
            # platform admin: letting a sub-account admin reset it would hand over the tenant
            # and every other tenant.
            raise PermissionDenied(
                "only the main account itself may change its password",
                fields={"password": "main account"},
            )
        check_password(data.password)
        user.password_hash = credentials.hash_password(data.password)
        _end_sessions(session, user.id)
    if data.disabled is not None and data.disabled != user.disabled:
        if data.disabled and user.is_owner:
            raise Conflict(
                "the main account cannot be disabled", fields={"disabled": "main account"}
            )
        if data.disabled and user.id == actor.id:
            raise Conflict("you cannot disable yourself", fields={"disabled": "own account"})
        user.disabled = data.disabled
        if data.disabled:
            # Disabled users are locked out at once: sessions end now, and every token is
            # rejected on use because authentication checks `disabled` on each request.
            _end_sessions(session, user.id)
    return user


def do_change_own_password(
    session: Session, *, user: User, current: str, new: str, keep_session_id: str | None
) -> None:
    """Self-service: prove the current password, set a new one, end the other sessions."""
    note_target("user", user.id, user.username)
    if not credentials.verify_password(user.password_hash, current):
        raise ValidationFailed.field(
            "current_password", "does not match your current password; type it again"
        )
    check_password(new, "new_password")
    if new == current:
        raise ValidationFailed.field("new_password", "must differ from the current password")
    user.password_hash = credentials.hash_password(new)
    stmt = delete(ConsoleSession).where(ConsoleSession.user_id == user.id)
    if keep_session_id is not None:
        stmt = stmt.where(ConsoleSession.id != keep_session_id)
    session.execute(stmt)


def do_delete_user(session: Session, *, actor: Actor, user: User) -> None:
    note_target("user", user.id, user.username)
    if user.is_owner:
        raise Conflict("the main account cannot be deleted")
    if user.id == actor.id:
        raise Conflict("you cannot delete yourself")
    session.delete(user)


def _end_sessions(session: Session, user_id: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
