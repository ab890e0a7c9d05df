"""Quotas and queues as the API shows them: spec, admins or users, workspaces and usage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.resources.activity import usage
from hangar.resources.orm import (
    Cluster,
    Queue,
    QueueUser,
    Quota,
    QuotaAdmin,
    QuotaWorkspace,
    ResourceSpec,
)
from hangar.resources.schemas import (
    Amount,
    QueueRead,
    QueueUserRead,
    QuotaRead,
    Usage,
    UserRef,
    WorkspaceRef,
)
from hangar.resources.specs import read as read_spec
from hangar.tenancy.orm import User, Workspace


def total_of(spec: ResourceSpec | None, count: int | None) -> Amount:
    """Spec × count (RQ5: only a total); zero for the on-demand default queue."""
    if spec is None or count is None:
        return Amount()
    return Amount(
        gpus=spec.accel_count * count,
        cpu_millicores=spec.cpu_millicores * count,
        mem_bytes=spec.mem_bytes * count,
    )


def quota_usage(session: Session, quota: Quota) -> Usage:
    spec = session.get(ResourceSpec, quota.spec_id)
    return usage(session, quota_id=quota.id, total=total_of(spec, quota.instance_count))


def queue_usage(session: Session, queue: Queue) -> Usage:
    spec = session.get(ResourceSpec, queue.spec_id) if queue.spec_id else None
    return usage(session, queue_id=queue.id, total=total_of(spec, queue.instance_count))


def _clusters(session: Session, ids: set[str]) -> dict[str, str]:
    return dict(session.execute(select(Cluster.id, Cluster.name).where(Cluster.id.in_(ids))).all())


def describe_quotas(session: Session, quotas: Sequence[Quota]) -> list[QuotaRead]:
    ids = [q.id for q in quotas]
    clusters = _clusters(session, {q.cluster_id for q in quotas})
    specs = {
        s.id: s
        for s in session.scalars(
            select(ResourceSpec).where(ResourceSpec.id.in_({q.spec_id for q in quotas}))
        )
    }
    admins: dict[str, list[UserRef]] = defaultdict(list)
    for quota_id, user_id, username in session.execute(
        select(QuotaAdmin.quota_id, User.id, User.username)
        .join(User, User.id == QuotaAdmin.user_id)
        .where(QuotaAdmin.quota_id.in_(ids))
        .order_by(User.username)
    ):
        admins[quota_id].append(UserRef(id=user_id, username=username))
    linked: dict[str, list[WorkspaceRef]] = defaultdict(list)
    for quota_id, ws_id, ws_name in session.execute(
        select(QuotaWorkspace.quota_id, Workspace.id, Workspace.name)
        .join(Workspace, Workspace.id == QuotaWorkspace.workspace_id)
        .where(QuotaWorkspace.quota_id.in_(ids))
        .order_by(Workspace.name)
    ):
        linked[quota_id].append(WorkspaceRef(id=ws_id, name=ws_name))
    rows = []
    for q in quotas:
        spec = specs[q.spec_id]
        read = QuotaRead(
            id=q.id,
            tenant_id=q.tenant_id,
            cluster_id=q.cluster_id,
            cluster_name=clusters.get(q.cluster_id, ""),
            name=q.name,
            description=q.description,
            workload_types=q.workload_types,
            spec=read_spec(spec),
            instance_count=q.instance_count,
            weight=q.weight,
            borrowing=q.borrowing,
            exclusive=q.exclusive,
            policy=q.policy,
            status=q.status,
            admins=admins[q.id],
            workspaces=linked[q.id],
            usage=usage(session, quota_id=q.id, total=total_of(spec, q.instance_count)),
            created_by=q.created_by,
            created_at=q.created_at,
            updated_at=q.updated_at,
        )
        rows.append(read)
    return rows


def describe_queues(session: Session, queues: Sequence[Queue]) -> list[QueueRead]:
    ids = [q.id for q in queues]
    clusters = _clusters(session, {q.cluster_id for q in queues})
    spec_ids = {q.spec_id for q in queues if q.spec_id}
    specs = {
        s.id: s for s in session.scalars(select(ResourceSpec).where(ResourceSpec.id.in_(spec_ids)))
    }
    users: dict[str, list[QueueUserRead]] = defaultdict(list)
    for queue_id, user_id, username, role in session.execute(
        select(QueueUser.queue_id, User.id, User.username, QueueUser.role)
        .join(User, User.id == QueueUser.user_id)
        .where(QueueUser.queue_id.in_(ids))
        .order_by(QueueUser.role, User.username)
    ):
        users[queue_id].append(QueueUserRead(user_id=user_id, username=username, role=role))
    defaults = {
        tenant_id: WorkspaceRef(id=ws_id, name=name)
        for tenant_id, ws_id, name in session.execute(
            select(Workspace.tenant_id, Workspace.id, Workspace.name).where(
                Workspace.is_default.is_(True),
                Workspace.tenant_id.in_({q.tenant_id for q in queues}),
            )
        )
    }
    rows = []
    for q in queues:
        spec = specs.get(q.spec_id) if q.spec_id else None
        read = QueueRead(
            id=q.id,
            tenant_id=q.tenant_id,
            cluster_id=q.cluster_id,
            cluster_name=clusters.get(q.cluster_id, ""),
            name=q.name,
            description=q.description,
            builtin=q.builtin,
            workload_types=q.workload_types,
            spec=read_spec(spec) if spec else None,
            instance_count=q.instance_count,
            status=q.status,
            workspace=defaults.get(q.tenant_id),
            users=users[q.id],
            usage=usage(session, queue_id=q.id, total=total_of(spec, q.instance_count)),
            created_by=q.created_by,
            created_at=q.created_at,
            updated_at=q.updated_at,
        )
        rows.append(read)
    return rows
