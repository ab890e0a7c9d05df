"""Quotas and queues as the scheduler's input types (:mod:`hangar.scheduling.model`).

The scheduling loop and the submission checks read pools through this one mapping, so that
what admission enforces is exactly what the API shows: totals are spec × count (RQ5), a
stopped pool is ``started=False`` (B10), a quota lists its associated workspaces (RQ17) and a
queue names its tenant's default workspace (Q3). The built-in default queue has no total: it
is bounded by the default cluster only. A quota carries its admission policy ("fifo" or
"best_effort"); queues have no policy column and stay "fifo".
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.resources.orm import Queue, Quota, QuotaWorkspace, ResourceSpec
from hangar.resources.specs import to_spec
from hangar.resources.types import Status, WorkloadType
from hangar.scheduling import model
from hangar.tenancy.orm import Workspace


def _types(values: list[str]) -> frozenset[WorkloadType]:
    return frozenset(WorkloadType(v) for v in values)


def scheduler_quotas(session: Session, *, tenant_id: str | None = None) -> list[model.Quota]:
    stmt = select(Quota, ResourceSpec).join(ResourceSpec, ResourceSpec.id == Quota.spec_id)
    if tenant_id is not None:
        stmt = stmt.where(Quota.tenant_id == tenant_id)
    rows = session.execute(stmt).all()
    linked: dict[str, set[str]] = defaultdict(set)
    for quota_id, ws_id in session.execute(
        select(QuotaWorkspace.quota_id, QuotaWorkspace.workspace_id).where(
            QuotaWorkspace.quota_id.in_([q.id for q, _ in rows])
        )
    ):
        linked[quota_id].add(ws_id)
    return [
        model.Quota(
            id=q.id,
            name=q.name,
            cluster_id=q.cluster_id,
            total=to_spec(spec).resources().times(q.instance_count),
            workload_types=_types(q.workload_types),
            weight=q.weight,
            borrowing=q.borrowing,
            exclusive=q.exclusive,
            started=q.status == Status.STARTED.value,
            workspace_ids=frozenset(linked[q.id]),
            policy=q.policy,
        )
        for q, spec in rows
    ]


def scheduler_queues(session: Session, *, tenant_id: str | None = None) -> list[model.Queue]:
    stmt = select(Queue)
    if tenant_id is not None:
        stmt = stmt.where(Queue.tenant_id == tenant_id)
    queues = list(session.scalars(stmt))
    specs = {
        s.id: s
        for s in session.scalars(
            select(ResourceSpec).where(
                ResourceSpec.id.in_({q.spec_id for q in queues if q.spec_id})
            )
        )
    }
    defaults = dict(
        session.execute(
            select(Workspace.tenant_id, Workspace.id).where(Workspace.is_default.is_(True))
        ).all()
    )
    out = []
    for q in queues:
        spec = specs.get(q.spec_id) if q.spec_id else None
        total = to_spec(spec).resources().times(q.instance_count or 0) if spec else None
        out.append(
            model.Queue(
                id=q.id,
                name=q.name,
                cluster_id=q.cluster_id,
                total=total,
                workload_types=_types(q.workload_types),
                started=q.status == Status.STARTED.value,
                default_workspace_id=defaults.get(q.tenant_id),
            )
        )
    return out
