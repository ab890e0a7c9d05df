"""Who is calling, and what the tables allow them to do.

``Actor`` is the authenticated caller. :func:`decide` is the only function that reads the
workspace matrix; :func:`tenant_roles` and :func:`workspace_roles` compute the roles it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.errors import NotFound, PermissionDenied
from hangar.tenancy.capabilities import CAPABILITY, TenantRole
from hangar.tenancy.matrix import BY_KEY, Effect, Point, Role
from hangar.tenancy.orm import Group, GroupMember, User, Workspace, WorkspaceRole


@dataclass(frozen=True)
class Actor:
    user: User
    tenant_roles: frozenset[TenantRole]
    via: str  # "session" | "token"
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def tenant_id(self) -> str:
        return self.user.tenant_id

    @property
    def is_tenant_admin(self) -> bool:
        return bool(self.tenant_roles & {TenantRole.OWNER, TenantRole.ADMIN})

    def scope_allows(self, namespace: str, *, write: bool) -> bool:
        """Token scopes are ``all``, ``<namespace>:read`` / ``<namespace>:write`` or ``*:read``.

        Session logins carry every scope.
        """
        if self.via == "session" or "all" in self.scopes:
            return True
        wanted = {f"{namespace}:write", "*:write"}
        if not write:
            wanted |= {f"{namespace}:read", "*:read"}
        return bool(self.scopes & wanted)


def tenant_roles(session: Session, user: User) -> frozenset[TenantRole]:
    roles = {TenantRole.USER}
    if user.is_owner:
        roles.add(TenantRole.OWNER)
    policies = session.scalars(
        select(Group.policy)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user.id, Group.policy.is_not(None))
    ).all()
    if "admin" in policies:
        roles.add(TenantRole.ADMIN)
    if "second_level_admin" in policies:
        roles.add(TenantRole.SECOND_LEVEL_ADMIN)
    return frozenset(roles)


def workspace_roles(session: Session, actor: Actor, workspace: Workspace) -> frozenset[Role]:
    """Roles of ``actor`` in ``workspace``; tenant admins are implicit workspace admins (W7)."""
    roles = set(
        Role(r)
        for r in session.scalars(
            select(WorkspaceRole.role).where(
                WorkspaceRole.workspace_id == workspace.id,
                WorkspaceRole.user_id == actor.id,
            )
        )
    )
    if actor.is_tenant_admin:
        roles.add(Role.ADMIN)
    return frozenset(roles)


def decide(point: Point, roles: Iterable[Role], *, owner_is_actor: bool | None) -> bool:
    """Apply one matrix row. ``owner_is_actor`` is None for actions without an owner yet.

    The effective permission of a user holding several roles is the union (spec 01 §6.1).
    """
    cells: list[Effect] = []
    for role in roles:
        if role is Role.ADMIN:
            cells.append(point.admin)
        elif owner_is_actor is None or owner_is_actor:
            cells.append(point.developer_own if role is Role.DEVELOPER else point.operator_own)
        elif role is Role.OPERATOR:
            cells.append(point.operator_others)
        # A developer on others' data: denied (decision A6); shared reads go through ACLs.
    return Effect.ALLOW in cells


def check_capability(actor: Actor, key: str, *, write: bool) -> None:
    cap = CAPABILITY[key]
    if not actor.scope_allows(cap.namespace, write=write):
        raise PermissionDenied(
            f"this API token lacks the scope '{cap.namespace}:{'write' if write else 'read'}'",
            required_scope=f"{cap.namespace}:{'write' if write else 'read'}",
        )
    if not actor.tenant_roles & cap.roles:
        allowed = ", ".join(sorted(r.value for r in cap.roles))
        raise PermissionDenied(
            f"'{cap.label}' needs one of the tenant roles: {allowed}", permission=key
        )


def check_point(
    actor: Actor,
    point_key: str,
    roles: frozenset[Role],
    *,
    owner_id: str | None,
    write: bool,
) -> None:
    """Raise unless the matrix allows ``point_key``. Non-members never reach this (404)."""
    point = BY_KEY[point_key]
    if not actor.scope_allows(point.namespace, write=write):
        raise PermissionDenied(
            f"this API token lacks the scope '{point.namespace}:{'write' if write else 'read'}'",
            required_scope=f"{point.namespace}:{'write' if write else 'read'}",
        )
    owner_is_actor = None if owner_id is None else owner_id == actor.id
    if not decide(point, roles, owner_is_actor=owner_is_actor):
        held = ", ".join(sorted(r.value for r in roles)) or "none"
        raise PermissionDenied(
            f"'{point.label}' is not allowed for your workspace role(s) ({held})"
            + ("" if owner_is_actor is not False else " on data created by another user"),
            permission=point_key,
        )


def access_workspace(session: Session, actor: Actor, workspace_id: str) -> Workspace:
    """Fetch a workspace the actor may enter (W8); anything else is 404, never 403."""
    ws = session.get(Workspace, workspace_id)
    if ws is None or ws.tenant_id != actor.tenant_id:
        raise NotFound.of("workspace", workspace_id)
    if actor.is_tenant_admin:
        return ws
    member = session.scalar(
        select(WorkspaceRole.role).where(
            WorkspaceRole.workspace_id == ws.id, WorkspaceRole.user_id == actor.id
        )
    )
    if member is None:
        raise NotFound.of("workspace", workspace_id)
    return ws
