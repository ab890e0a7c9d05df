"""Workspaces and their members (spec 01 §3, §4). The caller owns the transaction."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from hangar.tenancy.access import Actor
from hangar.tenancy.capabilities import TenantRole
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Group, GroupMember, User, Workspace, WorkspaceRole
from hangar.tenancy.schemas import MemberRead, WorkspaceCreate, WorkspaceRead, WorkspaceUpdate
from hangar.tenancy.validation import (
    WORKSPACE_DESCRIPTION_MAX,
    check_description,
    check_workspace_name,
)

DEFAULT_WORKSPACE = "default"


def create_default_workspace(session: Session, *, tenant_id: str, owner_id: str) -> Workspace:
    ws = Workspace(
        tenant_id=tenant_id,
        name=DEFAULT_WORKSPACE,
        description="Default workspace",
        is_default=True,
        created_by=owner_id,
    )
    session.add(ws)
    session.flush()
    return ws


def list_workspaces(session: Session, *, actor: Actor) -> list[Workspace]:
    """Workspaces the actor may enter (W8): all for tenant admins, else where a member."""
    stmt = select(Workspace).where(Workspace.tenant_id == actor.tenant_id)
    if not actor.is_tenant_admin:
        mine = select(WorkspaceRole.workspace_id).where(WorkspaceRole.user_id == actor.id)
        stmt = stmt.where(Workspace.id.in_(mine))
    return list(session.scalars(stmt.order_by(Workspace.is_default.desc(), Workspace.name)))


def describe(session: Session, *, actor: Actor, found: list[Workspace]) -> list[WorkspaceRead]:
    """The workspace-list row of spec 01 W9 for each workspace: the caller's roles (tenant
    admins hold admin implicitly), the creator's username and the member count."""
    mine = roles_by_workspace(session, actor=actor)
    counts = member_counts(session, tenant_id=actor.tenant_id)
    admins = tenant_admin_count(session, tenant_id=actor.tenant_id)
    creators = {w.created_by for w in found if w.created_by}
    names = {
        uid: username
        for uid, username in session.execute(
            select(User.id, User.username).where(User.id.in_(creators))
        )
    }
    rows = []
    for ws in found:
        roles = mine.get(ws.id, set()) | ({Role.ADMIN} if actor.is_tenant_admin else set())
        row = WorkspaceRead.model_validate(ws)
        row.my_roles = sorted(roles)
        row.member_count = counts.get(ws.id, admins)
        row.owner_username = names.get(ws.created_by or "", "")
        rows.append(row)
    return rows


def roles_by_workspace(session: Session, *, actor: Actor) -> dict[str, set[Role]]:
    out: dict[str, set[Role]] = defaultdict(set)
    for ws_id, role in session.execute(
        select(WorkspaceRole.workspace_id, WorkspaceRole.role).where(
            WorkspaceRole.user_id == actor.id
        )
    ):
        out[ws_id].add(Role(role))
    return out


def member_counts(session: Session, *, tenant_id: str) -> dict[str, int]:
    """Members per workspace id: explicit members plus the tenant admins (implicit everywhere).

    Workspaces absent from the result have only the implicit members: use ``.get(id, admins)``
    with :func:`tenant_admin_count`.
    """
    admin_ids = _tenant_admin_ids(session, tenant_id)
    per_ws: dict[str, set[str]] = defaultdict(set)
    for ws_id, uid in session.execute(
        select(WorkspaceRole.workspace_id, WorkspaceRole.user_id)
        .join(Workspace, Workspace.id == WorkspaceRole.workspace_id)
        .where(Workspace.tenant_id == tenant_id)
    ):
        per_ws[ws_id].add(uid)
    return {ws: len(users | admin_ids) for ws, users in per_ws.items()}


def tenant_admin_count(session: Session, *, tenant_id: str) -> int:
    return len(_tenant_admin_ids(session, tenant_id))


def do_create_workspace(session: Session, *, actor: Actor, data: WorkspaceCreate) -> Workspace:
    note_target("workspace", "", data.name)  # a refused create is audited with the name tried
    check_workspace_name(data.name)
    check_description(data.description, WORKSPACE_DESCRIPTION_MAX)
    _check_name_free(session, actor.tenant_id, data.name)
    ws = Workspace(
        tenant_id=actor.tenant_id,
        name=data.name,
        description=data.description,
        tags=dict(data.tags),
        created_by=actor.id,
    )
    session.add(ws)
    session.flush()
    # The creator is a workspace admin (spec 01 §4). Tenant admins are admins implicitly.
    if not actor.is_tenant_admin:
        session.add(WorkspaceRole(workspace_id=ws.id, user_id=actor.id, role=Role.ADMIN.value))
    note_target("workspace", ws.id, ws.name, workspace_id=ws.id)
    return ws


def do_update_workspace(
    session: Session, *, actor: Actor, ws: Workspace, data: WorkspaceUpdate
) -> Workspace:
    note_target("workspace", ws.id, ws.name, workspace_id=ws.id)
    if data.name is not None and data.name != ws.name:
        if ws.is_default:
            raise Conflict(
                "the default workspace cannot be renamed", fields={"name": "default workspace"}
            )
        check_workspace_name(data.name)
        _check_name_free(session, actor.tenant_id, data.name)
        ws.name = data.name
    if data.description is not None:
        ws.description = check_description(data.description, WORKSPACE_DESCRIPTION_MAX)
    if data.tags is not None:
        ws.tags = dict(data.tags)
    return ws


def do_delete_workspace(session: Session, *, ws: Workspace) -> None:
    note_target("workspace", ws.id, ws.name, workspace_id=ws.id)
    if ws.is_default:
        raise Conflict("the default workspace cannot be deleted")
    session.delete(ws)


def list_members(session: Session, *, ws: Workspace) -> list[MemberRead]:
    roles: dict[str, set[Role]] = defaultdict(set)
    for uid, role in session.execute(
        select(WorkspaceRole.user_id, WorkspaceRole.role).where(WorkspaceRole.workspace_id == ws.id)
    ):
        roles[uid].add(Role(role))
    admin_ids = _tenant_admin_ids(session, ws.tenant_id)
    users = session.scalars(
        select(User).where(User.id.in_(set(roles) | admin_ids)).order_by(User.username)
    )
    members = []
    for user in users:
        implicit = user.id in admin_ids
        held = roles[user.id] | ({Role.ADMIN} if implicit else set())
        members.append(
            MemberRead(
                user_id=user.id,
                username=user.username,
                display_name=user.display_name,
                roles=sorted(held),
                implicit=implicit,
            )
        )
    return members


def do_add_member(
    session: Session, *, actor: Actor, ws: Workspace, user_id: str, roles: list[Role]
) -> MemberRead:
    user = session.get(User, user_id)
    if user is None or user.tenant_id != ws.tenant_id:
        raise NotFound(f"user '{user_id}' not found", fields={"user_id": "unknown user"})
    note_target("member", user.id, user.username, workspace_id=ws.id, roles=list(roles))
    existing = session.scalar(
        select(func.count())
        .select_from(WorkspaceRole)
        .where(WorkspaceRole.workspace_id == ws.id, WorkspaceRole.user_id == user_id)
    )
    if existing:
        raise AlreadyExists(
            f"'{user.username}' is already a member of workspace '{ws.name}'; "
            "edit their roles instead",
            fields={"user_id": "already a member"},
        )
    _set_roles(session, ws, user_id, roles)
    return _member(session, ws, user_id)


def do_update_member(
    session: Session, *, actor: Actor, ws: Workspace, user_id: str, roles: list[Role]
) -> MemberRead:
    user = _explicit_member(session, ws, user_id)
    note_target("member", user.id, user.username, workspace_id=ws.id, roles=list(roles))
    _set_roles(session, ws, user_id, roles)
    return _member(session, ws, user_id)


def do_remove_member(session: Session, *, actor: Actor, ws: Workspace, user_id: str) -> None:
    user = session.get(User, user_id)
    if (
        user is not None
        and user.tenant_id == ws.tenant_id
        and user.id in _tenant_admin_ids(session, ws.tenant_id)
    ):
        note_target("member", user.id, user.username, workspace_id=ws.id)
        raise Conflict(
            f"'{user.username}' is a tenant admin and an implicit admin of every "
            "workspace; remove them from the 'admin' user group instead",
            fields={"user_id": "tenant admin"},
        )
    user = _explicit_member(session, ws, user_id)
    note_target("member", user.id, user.username, workspace_id=ws.id)
    session.execute(
        delete(WorkspaceRole).where(
            WorkspaceRole.workspace_id == ws.id, WorkspaceRole.user_id == user_id
        )
    )


def _set_roles(session: Session, ws: Workspace, user_id: str, roles: list[Role]) -> None:
    if not roles:
        raise ValidationFailed.field("roles", "at least one role is required")
    session.execute(
        delete(WorkspaceRole).where(
            WorkspaceRole.workspace_id == ws.id, WorkspaceRole.user_id == user_id
        )
    )
    for role in sorted(set(roles)):
        session.add(WorkspaceRole(workspace_id=ws.id, user_id=user_id, role=role.value))
    session.flush()


def _member(session: Session, ws: Workspace, user_id: str) -> MemberRead:
    return next(m for m in list_members(session, ws=ws) if m.user_id == user_id)


def _explicit_member(session: Session, ws: Workspace, user_id: str) -> User:
    user = session.get(User, user_id)
    is_member = session.scalar(
        select(func.count())
        .select_from(WorkspaceRole)
        .where(WorkspaceRole.workspace_id == ws.id, WorkspaceRole.user_id == user_id)
    )
    if user is None or user.tenant_id != ws.tenant_id or not is_member:
        raise NotFound(
            f"user '{user_id}' is not a member of workspace '{ws.name}'",
            fields={"user_id": "not a member"},
        )
    return user


def _tenant_admin_ids(session: Session, tenant_id: str) -> set[str]:
    owners = session.scalars(
        select(User.id).where(User.tenant_id == tenant_id, User.is_owner.is_(True))
    )
    admins = session.scalars(
        select(GroupMember.user_id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(Group.tenant_id == tenant_id, Group.policy == TenantRole.ADMIN.value)
    )
    return set(owners) | set(admins)


def _check_name_free(session: Session, tenant_id: str, name: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(Workspace)
        .where(Workspace.tenant_id == tenant_id, Workspace.name == name)
    )
    if taken:
        raise AlreadyExists(
            f"a workspace named '{name}' already exists in this tenant; names are unique "
            "per tenant",
            fields={"name": "already exists"},
        )
