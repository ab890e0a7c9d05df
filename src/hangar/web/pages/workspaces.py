"""The workspace list (spec 01 W9), creating workspaces, entering one, and its detail page."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep, WorkspaceAccess
from hangar.tenancy import workspaces
from hangar.tenancy.access import Actor
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Workspace
from hangar.tenancy.schemas import WorkspaceCreate
from hangar.web.chrome import WORKSPACES, PageChrome, remember_workspace
from hangar.web.forms import parse
from hangar.web.pages.members import members_context
from hangar.web.permissions import can
from hangar.web.templating import is_htmx, render

router = APIRouter(prefix="/workspaces", include_in_schema=False)
Lister = Annotated[Actor, Depends(Permit(WORKSPACES.capability))]
Creator = Annotated[Actor, Depends(Permit("workspace.create"))]
# Entering a workspace is the matrix's "list workspace users" row, as in the API.
Member = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.list"))]


@dataclass(frozen=True)
class WorkspaceRow:
    """One line of the list: name + id, my roles, owner, member count (W9)."""

    workspace: Workspace
    my_roles: list[Role]
    owner: str
    member_count: int


def workspace_rows(session: Session, actor: Actor) -> list[WorkspaceRow]:
    found = workspaces.list_workspaces(session, actor=actor)
    described = workspaces.describe(session, actor=actor, found=found)
    return [
        WorkspaceRow(
            workspace=ws,
            my_roles=row.my_roles,
            owner=row.owner_username,
            member_count=row.member_count,
        )
        for ws, row in zip(found, described, strict=True)
    ]


def _section(session: Session, actor: Actor) -> dict[str, object]:
    return {
        "rows": workspace_rows(session, actor),
        "can_create": can(actor, "workspace.create", write=True),
    }


@router.get("")
def list_page(request: Request, session: SessionDep, actor: Lister, chrome: PageChrome) -> Response:
    return render(request, "workspaces/list.html", {"chrome": chrome, **_section(session, actor)})


@router.post("", name="workspace.create")
def create(
    request: Request,
    session: SessionDep,
    actor: Creator,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    data = parse(WorkspaceCreate, name=name, description=description)
    ws = workspaces.do_create_workspace(session, actor=actor, data=data)
    return render(
        request,
        "workspaces/_section.html",
        {**_section(session, actor), "flash": f"Created workspace '{ws.name}'."},
    )


@router.get("/enter")
def enter(request: Request, session: SessionDep, access: Member) -> Response:
    """The header's workspace switcher: remember the choice and open the workspace."""
    remember_workspace(request, session, access.workspace)
    url = f"/workspaces/{access.workspace.id}"
    if is_htmx(request):
        return Response(headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/{workspace_id}")
def detail_page(
    request: Request, session: SessionDep, access: Member, chrome: PageChrome
) -> Response:
    ws = access.workspace
    remember_workspace(request, session, ws)
    row = next(r for r in workspace_rows(session, access.actor) if r.workspace.id == ws.id)
    return render(
        request,
        "workspaces/detail.html",
        {
            "chrome": dataclasses.replace(chrome, current_workspace=ws),
            "row": row,
            **members_context(session, access.actor, ws),
        },
    )
