"""Who may see and manage a quota or a queue (spec 01 §1.1, §5.2; RQ11).

- Tenant admins (the ``quota.manage`` capability) see and manage every quota and queue of
  their tenant.
- A quota's admins see and manage it; members of a workspace associated with it see it.
- A queue's admins see and manage it; its members see it. Every member of the default
  workspace sees the built-in default queue (it is on demand, C1).

Anything invisible is 404, never 403, so other tenants' ids do not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from hangar.errors import NotFound, PermissionDenied
from hangar.resources.orm import Queue, QueueUser, Quota, QuotaAdmin, QuotaWorkspace
from hangar.resources.types import QueueRole
from hangar.tenancy.access import Actor, check_capability
from hangar.tenancy.capabilities import CAPABILITY
from hangar.tenancy.orm import Workspace, WorkspaceRole

MANAGE = "quota.manage"


def is_tenant_manager(actor: Actor) -> bool:
    return bool(actor.tenant_roles & CAPABILITY[MANAGE].roles)


def visible_quotas(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause: the quotas ``actor`` may see."""
    mine = Quota.tenant_id == actor.tenant_id
    if is_tenant_manager(actor):
        return mine
    admin = exists().where(QuotaAdmin.quota_id == Quota.id, QuotaAdmin.user_id == actor.id)
    member = exists().where(
        QuotaWorkspace.quota_id == Quota.id,
        QuotaWorkspace.workspace_id == WorkspaceRole.workspace_id,
        WorkspaceRole.user_id == actor.id,
    )
    return mine & or_(admin, member)


def visible_queues(actor: Actor) -> ColumnElement[bool]:
    mine = Queue.tenant_id == actor.tenant_id
    if is_tenant_manager(actor):
        return mine
    user = exists().where(QueueUser.queue_id == Queue.id, QueueUser.user_id == actor.id)
    default_member = Queue.builtin.is_(True) & exists().where(
        Workspace.tenant_id == actor.tenant_id,
        Workspace.is_default.is_(True),
        WorkspaceRole.workspace_id == Workspace.id,
        WorkspaceRole.user_id == actor.id,
    )
    return mine & or_(user, default_member)


def access_quota(session: Session, actor: Actor, quota_id: str) -> Quota:
    """A quota the actor may see, by id or by name; anything else is 404."""
    quota = session.scalar(
        select(Quota).where(
            visible_quotas(actor), or_(Quota.id == quota_id, Quota.name == quota_id)
        )
    )
    if quota is None:
        raise NotFound.of("quota", quota_id)
    return quota


def access_queue(session: Session, actor: Actor, queue_id: str) -> Queue:
    queue = session.scalar(
        select(Queue).where(
            visible_queues(actor), or_(Queue.id == queue_id, Queue.name == queue_id)
        )
    )
    if queue is None:
        raise NotFound.of("queue", queue_id)
    return queue


def can_manage_quota(session: Session, actor: Actor, quota: Quota) -> bool:
    if is_tenant_manager(actor):
        return True
    return session.get(QuotaAdmin, (quota.id, actor.id)) is not None


def can_manage_queue(session: Session, actor: Actor, queue: Queue) -> bool:
    if is_tenant_manager(actor):
        return True
    row = session.get(QueueUser, (queue.id, actor.id))
    return row is not None and row.role == QueueRole.ADMIN.value


def check_manage_quota(session: Session, actor: Actor, quota: Quota) -> None:
    """RQ11: tenant admins and the quota's admins manage it; the token needs ``quota:write``."""
    check_capability(actor, "quota.access", write=True)
    if not can_manage_quota(session, actor, quota):
        raise PermissionDenied(
            f"only tenant admins and the admins of quota '{quota.name}' may manage it; "
            "ask one of them to add you as an admin",
            permission=MANAGE,
        )


def check_manage_queue(session: Session, actor: Actor, queue: Queue) -> None:
    """Spec 01 §5.2: tenant admins and the queue's admins manage it; members only use it."""
    check_capability(actor, "quota.access", write=True)
    if not can_manage_queue(session, actor, queue):
        raise PermissionDenied(
            f"only tenant admins and the admins of queue '{queue.name}' may manage it; "
            "queue members may only use it",
            permission=MANAGE,
        )
