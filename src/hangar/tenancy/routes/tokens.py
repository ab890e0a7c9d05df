"""API tokens: one's own, and (tenant admins) everyone's in the tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hangar.api.deps import Permit, SessionDep
from hangar.errors import PermissionDenied
from hangar.tenancy import tokens
from hangar.tenancy.access import Actor, check_capability
from hangar.tenancy.schemas import TokenCreate, TokenCreated, TokenRead

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
Own = Annotated[Actor, Depends(Permit("token.own"))]


def _may_manage(actor: Actor, *, write: bool) -> bool:
    try:
        check_capability(actor, "token.manage", write=write)
    except PermissionDenied:
        return False
    return True


@router.get("", response_model=list[TokenRead])
def list_tokens(
    session: SessionDep,
    actor: Own,
    all_users: Annotated[bool, Query(alias="all")] = False,
) -> list[TokenRead]:
    """Your tokens; ``?all=true`` lists every token in the tenant (tenant admins)."""
    if all_users:
        check_capability(actor, "token.manage", write=False)
    found = tokens.list_tokens(session, actor=actor, all_users=all_users)
    return [TokenRead.model_validate(t) for t in found]


@router.post("", name="token.create", response_model=TokenCreated, status_code=201)
def create_token(session: SessionDep, actor: Own, body: TokenCreate) -> TokenCreated:
    """Create a token for yourself. The secret is in this response only."""
    token, secret = tokens.do_create_token(
        session,
        user=actor.user,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
    )
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.get("/{token_id}", response_model=TokenRead)
def get_token(session: SessionDep, actor: Own, token_id: str) -> TokenRead:
    manage = _may_manage(actor, write=False)
    return TokenRead.model_validate(tokens.access_token(session, actor, token_id, manage=manage))


@router.delete("/{token_id}", name="token.revoke", response_model=TokenRead)
def revoke_token(session: SessionDep, actor: Own, token_id: str) -> TokenRead:
    """Revoke at once; the token is kept, marked revoked, so the audit trail stays readable."""
    token = tokens.access_token(session, actor, token_id, manage=_may_manage(actor, write=True))
    return TokenRead.model_validate(tokens.do_revoke_token(session, token=token))
