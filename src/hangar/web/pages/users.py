"""Sub-accounts (tenant admins): the directory, creating accounts, disabling and enabling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.tenancy import users
from hangar.tenancy.access import Actor
from hangar.tenancy.schemas import UserCreate, UserUpdate
from hangar.web.chrome import USERS, PageChrome
from hangar.web.forms import parse
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/users", include_in_schema=False)
Manager = Annotated[Actor, Depends(Permit(USERS.capability))]
Creator = Annotated[Actor, Depends(Permit("user.create"))]


def _section(session: Session, actor: Actor) -> dict[str, object]:
    return {
        "users": users.list_users(session, actor=actor),
        "me": actor.id,
        "can_create": can(actor, "user.create", write=True),
    }


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: Manager, chrome: PageChrome
) -> Response:
    return render(request, "users/list.html", {"chrome": chrome, **_section(session, actor)})


@router.post("", name="user.create")
def create(
    request: Request,
    session: SessionDep,
    actor: Creator,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    data = parse(
        UserCreate, username=username, password=password, display_name=display_name, email=email
    )
    user = users.do_create_user(session, tenant_id=actor.tenant_id, data=data)
    flash = f"Created sub-account '{user.username}'. Add it to workspaces or groups next."
    return render(request, "users/_section.html", {**_section(session, actor), "flash": flash})


def _set_disabled(
    request: Request, session: Session, actor: Actor, user_id: str, *, disabled: bool
) -> Response:
    user = users.access_user(session, actor, user_id)
    users.do_update_user(session, actor=actor, user=user, data=UserUpdate(disabled=disabled))
    flash = (
        f"Disabled '{user.username}': their sessions ended and their tokens stop working."
        if disabled
        else f"Enabled '{user.username}'."
    )
    return render(request, "users/_section.html", {**_section(session, actor), "flash": flash})


@router.post("/{user_id}/disable", name="user.update")
def disable(request: Request, session: SessionDep, actor: Manager, user_id: str) -> Response:
    return _set_disabled(request, session, actor, user_id, disabled=True)


@router.post("/{user_id}/enable", name="user.update")
def enable(request: Request, session: SessionDep, actor: Manager, user_id: str) -> Response:
    return _set_disabled(request, session, actor, user_id, disabled=False)
