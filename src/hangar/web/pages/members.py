"""Workspace members (spec 01 W6, matrix rows 1-4): add, change roles, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep, WorkspaceAccess
from hangar.tenancy import users, workspaces
from hangar.tenancy.access import Actor, workspace_roles
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Workspace
from hangar.web.forms import parse_roles
from hangar.web.permissions import can_in_workspace
from hangar.web.templating import render

router = APIRouter(prefix="/workspaces/{workspace_id}/members", include_in_schema=False)
MemberAdder = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.add"))]
MemberEditor = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.edit"))]
MemberRemover = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.delete"))]
RolesField = Annotated[list[str] | None, Form()]


def members_context(session: Session, actor: Actor, ws: Workspace) -> dict[str, object]:
    """What the members section shows; the controls follow the matrix for the caller."""
    members = workspaces.list_members(session, ws=ws)
    present = {m.user_id for m in members}
    roles = workspace_roles(session, actor, ws)
    return {
        "ws": ws,
        "members": members,
        "candidates": [
            u
            for u in users.list_users(session, actor=actor)
            if u.id not in present and not u.disabled
        ],
        "all_roles": list(Role),
        "can_add": can_in_workspace(actor, "workspace_users.add", roles),
        "can_edit": can_in_workspace(actor, "workspace_users.edit", roles),
        "can_remove": can_in_workspace(actor, "workspace_users.delete", roles),
    }


def _section(request: Request, session: Session, access: WorkspaceAccess, flash: str) -> Response:
    context = members_context(session, access.actor, access.workspace)
    return render(request, "workspaces/_members.html", {**context, "flash": flash})


@router.post("", name="workspace.members.add")
def add(
    request: Request,
    session: SessionDep,
    access: MemberAdder,
    user_id: Annotated[str, Form(max_length=64)] = "",
    roles: RolesField = None,
) -> Response:
    member = workspaces.do_add_member(
        session,
        actor=access.actor,
        ws=access.workspace,
        user_id=user_id,
        roles=parse_roles(roles or []),
    )
    held = ", ".join(member.roles)
    return _section(request, session, access, f"Added '{member.username}' as {held}.")


@router.put("/{user_id}", name="workspace.members.update")
def update(
    request: Request,
    session: SessionDep,
    access: MemberEditor,
    user_id: str,
    roles: RolesField = None,
) -> Response:
    member = workspaces.do_update_member(
        session,
        actor=access.actor,
        ws=access.workspace,
        user_id=user_id,
        roles=parse_roles(roles or []),
    )
    held = ", ".join(member.roles)
    return _section(request, session, access, f"'{member.username}' now holds: {held}.")


@router.delete("/{user_id}", name="workspace.members.remove")
def remove(request: Request, session: SessionDep, access: MemberRemover, user_id: str) -> Response:
    workspaces.do_remove_member(session, actor=access.actor, ws=access.workspace, user_id=user_id)
    username = users.access_user(session, access.actor, user_id).username
    return _section(request, session, access, f"Removed '{username}' from the workspace.")
