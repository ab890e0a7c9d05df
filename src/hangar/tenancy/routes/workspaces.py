"""Workspaces, their members, and the access review that applies the matrix for the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep, WorkspaceAccess
from hangar.audit.context import read_only
from hangar.billing.allocation_history import record_allocations
from hangar.errors import ValidationFailed
from hangar.tenancy import workspaces
from hangar.tenancy.access import Actor, decide
from hangar.tenancy.matrix import BY_KEY, Point
from hangar.tenancy.orm import Workspace
from hangar.tenancy.schemas import (
    AccessDecision,
    AccessReviewIn,
    AccessReviewOut,
    MemberAdd,
    MemberRead,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
)

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])

Lister = Annotated[Actor, Depends(Permit("workspace.list"))]
Creator = Annotated[Actor, Depends(Permit("workspace.create"))]
# Entering a workspace is the matrix's "list workspace users" row: every member may.
Member = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.list"))]
# The access review is a query sent as POST: a read-only token may ask it.
Reviewer = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.list", write=False))]
# Editing and deleting a workspace are its configuration (matrix rows 5-6): admins only.
Configurer = Annotated[WorkspaceAccess, Depends(Permit("workspace_config.button"))]
MemberAdder = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.add"))]
MemberEditor = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.edit"))]
MemberRemover = Annotated[WorkspaceAccess, Depends(Permit("workspace_users.delete"))]


def _read(session: Session, actor: Actor, ws: Workspace) -> WorkspaceRead:
    return workspaces.describe(session, actor=actor, found=[ws])[0]


@router.get("", response_model=list[WorkspaceRead])
def list_workspaces(session: SessionDep, actor: Lister) -> list[WorkspaceRead]:
    found = workspaces.list_workspaces(session, actor=actor)
    return workspaces.describe(session, actor=actor, found=found)


@router.post("", name="workspace.create", response_model=WorkspaceRead, status_code=201)
def create_workspace(session: SessionDep, actor: Creator, body: WorkspaceCreate) -> WorkspaceRead:
    ws = workspaces.do_create_workspace(session, actor=actor, data=body)
    return _read(session, actor, ws)


@router.get("/{workspace_id}", response_model=WorkspaceRead)
def get_workspace(session: SessionDep, access: Member) -> WorkspaceRead:
    return _read(session, access.actor, access.workspace)


@router.patch("/{workspace_id}", name="workspace.update", response_model=WorkspaceRead)
def update_workspace(
    session: SessionDep, access: Configurer, body: WorkspaceUpdate
) -> WorkspaceRead:
    ws = workspaces.do_update_workspace(session, actor=access.actor, ws=access.workspace, data=body)
    return _read(session, access.actor, ws)


@router.delete("/{workspace_id}", name="workspace.delete", status_code=204)
def delete_workspace(session: SessionDep, access: Configurer) -> None:
    tenant_id = access.workspace.tenant_id
    workspaces.do_delete_workspace(session, ws=access.workspace)
    session.flush()  # its quota links go with it: the allocation history records the drop
    record_allocations(session, tenant_id=tenant_id, reason="workspace.delete")


@router.get("/{workspace_id}/members", response_model=list[MemberRead])
def list_members(session: SessionDep, access: Member) -> list[MemberRead]:
    return workspaces.list_members(session, ws=access.workspace)


@router.post(
    "/{workspace_id}/members", name="workspace.members.add", response_model=MemberRead,
    status_code=201,
)  # fmt: skip
def add_member(session: SessionDep, access: MemberAdder, body: MemberAdd) -> MemberRead:
    return workspaces.do_add_member(
        session, actor=access.actor, ws=access.workspace, user_id=body.user_id, roles=body.roles
    )


@router.put(
    "/{workspace_id}/members/{user_id}", name="workspace.members.update",
    response_model=MemberRead,
)  # fmt: skip
def update_member(
    session: SessionDep, access: MemberEditor, user_id: str, body: MemberUpdate
) -> MemberRead:
    return workspaces.do_update_member(
        session, actor=access.actor, ws=access.workspace, user_id=user_id, roles=body.roles
    )


@router.delete(
    "/{workspace_id}/members/{user_id}", name="workspace.members.remove", status_code=204
)
def remove_member(session: SessionDep, access: MemberRemover, user_id: str) -> None:
    workspaces.do_remove_member(session, actor=access.actor, ws=access.workspace, user_id=user_id)


def _owned(point: Point) -> bool:
    return point.owned and not point.creates


@router.post("/{workspace_id}/access-review", response_model=AccessReviewOut)
@read_only
def access_review(access: Reviewer, body: AccessReviewIn) -> AccessReviewOut:
    """What the matrix allows the caller in this workspace, point by point.

    With ``owner_id`` the own/others column is chosen as if acting on that user's object;
    without it, on the caller's own objects. Read-only: nothing is changed or audited.
    """
    unknown = [p for p in body.points if p not in BY_KEY]
    if unknown:
        raise ValidationFailed.field(
            "points", f"unknown permission point(s): {', '.join(unknown[:5])}"
        )
    owner_is_actor = body.owner_id is None or body.owner_id == access.actor.id
    decisions = [
        AccessDecision(
            point=key,
            number=BY_KEY[key].number,
            allowed=decide(
                BY_KEY[key],
                access.roles,
                owner_is_actor=owner_is_actor if _owned(BY_KEY[key]) else None,
            ),
        )
        for key in body.points
    ]
    return AccessReviewOut(roles=sorted(access.roles), decisions=decisions)
