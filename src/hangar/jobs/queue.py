"""The admission queue (issue 3 item 7, spec 02 §8.3): waiting workloads of every kind, per
quota or queue, in the order admission takes them, with wait time and the waiting reason;
and the admin priority override (decision B6).

Who sees what: tenant admins see every pool of the tenant; others see the waiting workloads
of the workspaces they belong to and of the pools they administer. Positions count every
waiting workload of the pool, seen or not, so "3rd" means third.
Tenant admins and a pool's admins may change a waiting workload's priority; the change is an
event on the workload and an audit record (route ``workload.priority``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target, note_workspace
from hangar.db.base import utcnow
from hangar.errors import Conflict, NotFound, PermissionDenied
from hangar.jobs.reads import names_by_id
from hangar.jobs.schemas import PoolQueue, PoolRef, PriorityRead, QueuedWorkload
from hangar.resources.access import can_manage_queue, can_manage_quota, is_tenant_manager
from hangar.resources.orm import Cluster, Queue, QueueUser, Quota, QuotaAdmin
from hangar.resources.types import QueueRole
from hangar.scheduling.model import Request
from hangar.tenancy.access import Actor, check_capability
from hangar.tenancy.orm import User, Workspace, WorkspaceRole
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Workload
from hangar.workloads.requests import per_node, vgpu_of
from hangar.workloads.service import do_note

WAITING = (State.SUBMITTED.value, State.QUEUED.value)


def _visible(actor: Actor) -> ColumnElement[bool]:
    mine = Workload.tenant_id == actor.tenant_id
    if is_tenant_manager(actor):
        return mine
    member = select(WorkspaceRole.workspace_id).where(WorkspaceRole.user_id == actor.id)
    quotas = select(QuotaAdmin.quota_id).where(QuotaAdmin.user_id == actor.id)
    queues = select(QueueUser.queue_id).where(
        QueueUser.user_id == actor.id, QueueUser.role == QueueRole.ADMIN.value
    )
    return mine & or_(
        Workload.workspace_id.in_(member), Workload.quota_id.in_(quotas),
        Workload.queue_id.in_(queues),
    )  # fmt: skip


def _order(w: Workload) -> tuple[int, Any, str]:
    """Admission order within a pool (docs/scheduling.md): priority, submission, id."""
    return (-w.priority, w.submitted_at, w.id)


def describe_request(spec: dict[str, Any]) -> str:
    res = spec.get("resources") or {}
    return Request(per_node(res), max(1, int(spec.get("node_count") or 1)), vgpu_of(res)).describe()


def queue_view(session: Session, *, actor: Actor) -> list[PoolQueue]:
    """Every pool with waiting workloads the caller may see, each in admission order."""
    seen = list(
        session.scalars(select(Workload).where(_visible(actor), Workload.state.in_(WAITING)))
    )
    quota_ids = {w.quota_id for w in seen if w.quota_id}
    queue_ids = {w.queue_id for w in seen if w.queue_id}
    everyone = session.scalars(
        select(Workload).where(
            Workload.state.in_(WAITING),
            or_(Workload.quota_id.in_(quota_ids), Workload.queue_id.in_(queue_ids)),
        )
    )
    position: dict[str, int] = {}
    per_pool: dict[str, list[Workload]] = defaultdict(list)
    for w in everyone:
        per_pool[w.quota_id or w.queue_id or ""].append(w)
    for members in per_pool.values():
        for i, w in enumerate(sorted(members, key=_order), start=1):
            position[w.id] = i
    now = utcnow()
    workspaces = names_by_id(session, Workspace, {w.workspace_id for w in seen}, Workspace.name)
    users = names_by_id(session, User, {w.created_by for w in seen if w.created_by}, User.username)
    pools: list[tuple[str, Quota | Queue]] = [
        *(("quota", q) for q in session.scalars(select(Quota).where(Quota.id.in_(quota_ids)))),
        *(("queue", q) for q in session.scalars(select(Queue).where(Queue.id.in_(queue_ids)))),
    ]
    clusters = names_by_id(session, Cluster, {p.cluster_id for _, p in pools}, Cluster.name)
    out = []
    for kind, pool in sorted(pools, key=lambda kp: (kp[0], kp[1].name)):
        mine = sorted((w for w in seen if (w.quota_id or w.queue_id) == pool.id), key=_order)
        manage = (
            can_manage_quota(session, actor, pool)
            if isinstance(pool, Quota)
            else can_manage_queue(session, actor, pool)
        )
        out.append(
            PoolQueue(
                pool=PoolRef(kind="quota" if kind == "quota" else "queue", id=pool.id,
                             name=pool.name),
                cluster_name=clusters.get(pool.cluster_id, ""), status=pool.status,
                can_prioritise=manage,
                workloads=[
                    QueuedWorkload(
                        position=position[w.id], id=w.id, kind=w.kind, name=w.name,
                        workspace_id=w.workspace_id,
                        workspace_name=workspaces.get(w.workspace_id, ""),
                        created_by=w.created_by, created_by_name=users.get(w.created_by or "", ""),
                        state=w.state, state_display=State(w.state).display, priority=w.priority,
                        submitted_at=w.submitted_at,
                        wait_seconds=max(0.0, (now - w.submitted_at).total_seconds()),
                        reason=w.state_reason, request=describe_request(w.spec),
                    )
                    for w in mine
                ],
            )
        )  # fmt: skip
    return out


def do_set_priority(
    session: Session, *, actor: Actor, workload_id: str, priority: int
) -> PriorityRead:
    """B6: reorder a waiting workload in its pool's queue; tenant admins and pool admins."""
    workload = session.scalar(
        select(Workload).where(Workload.id == workload_id, _visible(actor)).with_for_update()
    )
    if workload is None:
        raise NotFound.of("workload", workload_id)
    note_workspace(workload.workspace_id)
    note_target("workload", workload.id, workload.name, priority=priority,
                previous=workload.priority)  # fmt: skip
    check_capability(actor, "quota.access", write=True)
    pool: Quota | Queue | None = (
        session.get(Quota, workload.quota_id)
        if workload.quota_id
        else session.get(Queue, workload.queue_id or "")
    )
    if pool is None:
        raise Conflict(
            f"workload '{workload.name}' names no existing quota or queue; it cannot be reordered",
            fields={"workload_id": "no pool"},
        )
    kind = "quota" if isinstance(pool, Quota) else "queue"
    allowed = (
        can_manage_quota(session, actor, pool)
        if isinstance(pool, Quota)
        else can_manage_queue(session, actor, pool)
    )
    if not allowed:
        raise PermissionDenied(
            f"only tenant admins and the admins of {kind} '{pool.name}' may change the "
            "priority of its waiting workloads (B6)",
            permission="quota.manage",
        )
    state = State(workload.state)
    if state.value not in WAITING:
        raise Conflict(
            f"workload '{workload.name}' is {state.display.lower()} ({state.value}); priority "
            "only orders workloads still waiting for admission (B6)",
            fields={"state": state.value},
        )
    previous = workload.priority
    workload.priority = priority
    do_note(
        session, workload, "scheduling",
        f"priority set to {priority} (was {previous}) by {actor.user.username}: higher goes "
        f"first in {kind} '{pool.name}' (B6)",
    )  # fmt: skip
    return PriorityRead(
        id=workload.id, name=workload.name, state=workload.state, priority=priority,
        previous=previous,
    )  # fmt: skip
