"""One's own API tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.tenancy import tokens
from hangar.tenancy.access import Actor
from hangar.tenancy.schemas import TokenCreate
from hangar.web.chrome import TOKENS, PageChrome
from hangar.web.forms import blank_to_none, parse
from hangar.web.templating import render

router = APIRouter(prefix="/tokens", include_in_schema=False)
Own = Annotated[Actor, Depends(Permit(TOKENS.capability))]


def _section(session: Session, actor: Actor) -> dict[str, object]:
    return {"tokens": tokens.list_tokens(session, actor=actor), "secret": None, "flash": ""}


@router.get("")
def list_page(request: Request, session: SessionDep, actor: Own, chrome: PageChrome) -> Response:
    return render(request, "tokens/list.html", {"chrome": chrome, **_section(session, actor)})


@router.post("", name="token.create")
def create(
    request: Request,
    session: SessionDep,
    actor: Own,
    name: Annotated[str, Form()] = "",
    scopes: Annotated[str, Form()] = "all",
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    data = parse(
        TokenCreate,
        name=name,
        scopes=[s for s in re.split(r"[\s,]+", scopes) if s],
        expires_in_days=blank_to_none(expires_in_days),
    )
    token, secret = tokens.do_create_token(
        session,
        user=actor.user,
        name=data.name,
        scopes=data.scopes,
        expires_in_days=data.expires_in_days,
    )
    context = {
        **_section(session, actor),
        "secret": secret,
        "flash": f"Created token '{token.name}'.",
    }
    return render(request, "tokens/_section.html", context)


@router.delete("/{token_id}", name="token.revoke")
def revoke(request: Request, session: SessionDep, actor: Own, token_id: str) -> Response:
    token = tokens.do_revoke_token(
        session, token=tokens.access_token(session, actor, token_id, manage=False)
    )
    context = {**_section(session, actor), "flash": f"Revoked token '{token.name}'."}
    return render(request, "tokens/_section.html", context)
