"""API tokens: random, stored as lookup prefix + hash, scoped, expiring, revocable."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.db.base import utcnow
from hangar.errors import Conflict, NotFound, ValidationFailed
from hangar.tenancy import credentials
from hangar.tenancy.access import Actor
from hangar.tenancy.capabilities import CAPABILITIES
from hangar.tenancy.matrix import POINTS
from hangar.tenancy.orm import ApiToken, User

NAMESPACES = frozenset(p.namespace for p in POINTS) | frozenset(c.namespace for c in CAPABILITIES)
_SCOPE_RE = re.compile(r"^(all|\*:(read|write)|[a-z_]+:(read|write))$")


def check_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise ValidationFailed.field("scopes", "at least one scope is required (e.g. 'all')")
    for scope in scopes:
        ns = scope.split(":", 1)[0]
        if not _SCOPE_RE.match(scope) or (ns not in NAMESPACES | {"*", "all"}):
            raise ValidationFailed.field(
                "scopes",
                f"'{scope}' is not a scope; use 'all', '*:read', '*:write' or "
                f"'<namespace>:read|write' with a namespace from: {', '.join(sorted(NAMESPACES))}",
            )
    return sorted(set(scopes))


def do_create_token(
    session: Session,
    *,
    user: User,
    name: str,
    scopes: list[str],
    expires_in_days: int | None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never retrievable again."""
    note_target("token", "", name)
    if not name.strip():
        raise ValidationFailed.field("name", "is required")
    bearer = credentials.new_bearer()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=bearer.prefix,
        secret_hash=bearer.digest,
        scopes=check_scopes(scopes),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    session.flush()
    note_target("token", token.id, token.name)
    return token, bearer.full


def list_tokens(session: Session, *, actor: Actor, all_users: bool = False) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.created_at.desc())
    if all_users:
        stmt = stmt.join(User, User.id == ApiToken.user_id).where(User.tenant_id == actor.tenant_id)
    else:
        stmt = stmt.where(ApiToken.user_id == actor.id)
    return list(session.scalars(stmt))


def access_token(session: Session, actor: Actor, token_id: str, *, manage: bool) -> ApiToken:
    """A token of the actor, or of anyone in the tenant when ``manage`` (admins)."""
    token = session.get(ApiToken, token_id)
    owner = session.get(User, token.user_id) if token else None
    if token is None or owner is None or owner.tenant_id != actor.tenant_id:
        raise NotFound.of("token", token_id)
    if token.user_id != actor.id and not manage:
        raise NotFound.of("token", token_id)
    return token


def do_revoke_token(session: Session, *, token: ApiToken) -> ApiToken:
    note_target("token", token.id, token.name)
    if token.revoked_at is not None:
        raise Conflict(f"token '{token.name}' was already revoked")
    token.revoked_at = utcnow()
    return token
