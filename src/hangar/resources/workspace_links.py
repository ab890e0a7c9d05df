"""Quota ↔ workspace associations (RQ1, RQ11, W4; decisions A3, A4).

- Only non-default workspaces of the quota's tenant may be associated with quotas; the
  default workspace uses queues only (W4).
- Tenant admins associate any quota with any workspace; a quota admin may associate it with
  the workspaces they administer (A3: tenant admin *or* workspace admin).
- Removing an association is refused while the quota has running or queued workloads from
  that workspace (A4), and allowed (and audited) otherwise.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.billing.allocation_history import record_allocations
from hangar.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationFailed
from hangar.resources.access import check_manage_quota, is_tenant_manager
from hangar.resources.activity import activity
from hangar.resources.orm import Quota, QuotaWorkspace
from hangar.tenancy.access import Actor
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Workspace, WorkspaceRole


def check_associable(session: Session, actor: Actor, quota: Quota, workspace_id: str) -> Workspace:
    """The workspace, if ``quota`` may be associated with it by ``actor``."""
    ws = session.get(Workspace, workspace_id)
    if ws is None or ws.tenant_id != quota.tenant_id:
        raise NotFound(
            f"workspace '{workspace_id}' not found", fields={"workspace_id": "unknown workspace"}
        )
    if ws.is_default:
        raise ValidationFailed.field(
            "workspace_id",
            f"'{ws.name}' is the default workspace, which can use queues only, never resource "
            "quotas (W4); associate the quota with a non-default workspace",
        )
    if not is_tenant_manager(actor) and not _is_workspace_admin(session, actor, ws):
        raise PermissionDenied(
            f"only tenant admins, or quota admins who administer workspace '{ws.name}', may "
            "associate quotas with it (A3)",
            permission="quota.manage",
        )
    return ws


def do_associate(session: Session, *, actor: Actor, quota: Quota, workspace_id: str) -> Workspace:
    note_target("quota", quota.id, quota.name, workspace=workspace_id)
    check_manage_quota(session, actor, quota)
    ws = check_associable(session, actor, quota, workspace_id)
    note_target("quota", quota.id, quota.name, workspace_id=ws.id, workspace=ws.name)
    if session.get(QuotaWorkspace, (quota.id, ws.id)) is not None:
        raise AlreadyExists(
            f"quota '{quota.name}' is already associated with workspace '{ws.name}'",
            fields={"workspace_id": "already associated"},
        )
    session.add(QuotaWorkspace(quota_id=quota.id, workspace_id=ws.id, associated_by=actor.id))
    session.flush()
    record_allocations(session, tenant_id=quota.tenant_id, reason="quota.associate")
    return ws


def do_dissociate(session: Session, *, actor: Actor, quota: Quota, workspace_id: str) -> None:
    """A4: refused while the quota has running or queued workloads from that workspace."""
    note_target("quota", quota.id, quota.name, workspace=workspace_id, level="warning")
    check_manage_quota(session, actor, quota)
    link = session.get(QuotaWorkspace, (quota.id, workspace_id))
    ws = session.get(Workspace, workspace_id)
    if link is None or ws is None:
        raise NotFound(
            f"quota '{quota.name}' is not associated with workspace '{workspace_id}'",
            fields={"workspace_id": "not associated"},
        )
    note_target("quota", quota.id, quota.name, workspace_id=ws.id, workspace=ws.name)
    if not is_tenant_manager(actor) and not _is_workspace_admin(session, actor, ws):
        raise PermissionDenied(
            f"only tenant admins, or quota admins who administer workspace '{ws.name}', may "
            "remove its association (A3)",
            permission="quota.manage",
        )
    now = activity(session, quota_id=quota.id, workspace_id=ws.id)
    if now.unfinished:
        raise Conflict(
            f"workspace '{ws.name}' still has {now.running} running and {now.queued} queued "
            f"workloads on quota '{quota.name}' (A4): wait for them to finish or migrate them "
            "to another quota, then remove the association",
            fields={"workspace_id": "has unfinished workloads"},
            rule="A4",
        )
    session.delete(link)
    record_allocations(session, tenant_id=quota.tenant_id, reason="quota.dissociate")


def _is_workspace_admin(session: Session, actor: Actor, ws: Workspace) -> bool:
    return (
        session.scalar(
            select(WorkspaceRole.role).where(
                WorkspaceRole.workspace_id == ws.id,
                WorkspaceRole.user_id == actor.id,
                WorkspaceRole.role == Role.ADMIN.value,
            )
        )
        is not None
    )
