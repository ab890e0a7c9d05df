"""Submission checks for a training job (spec 02 RQ17, RQ18, Q3, §8.1; spec 04 §1).

Each check names the field, the rule and the fix. Order: the pool (quota or queue) the job
draws from, its resources per node, then whether the request could ever be admitted. What
admission enforces at run time (per-user limits, free capacity) is left to the scheduler.

The resulting workload ``spec`` is the contract with the scheduler loop and the reconciler
(see docs/jobs.md): per-node ``resources``, ``request`` totals, ``node_count`` and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hangar.billing.gates import check_can_start
from hangar.db.base import utcnow
from hangar.errors import Conflict, NotFound, ValidationFailed
from hangar.jobs.capacity import card_models, card_vram_gib, never_fits
from hangar.jobs.schemas import NodeResources, TrainingJobCreate
from hangar.resources.access import access_queue, access_quota
from hangar.resources.orm import Cluster, Queue, Quota, QuotaWorkspace, ResourceSpec
from hangar.resources.queues import ensure_default_queue
from hangar.resources.scheduler_view import scheduler_queues, scheduler_quotas
from hangar.resources.specs import to_spec
from hangar.resources.types import Status, WorkloadType
from hangar.scheduling import model, rules
from hangar.scheduling.resources import GIB, MILLI, ZERO, Resources
from hangar.scheduling.specs import vgpu_share_milli
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Workspace
from hangar.workloads.requests import request_of

RQ18 = "The current workspace has no resource quota or the quota is disabled — go configure"
TRAINING = WorkloadType.TRAINING
#: Spec 02 §9 V1: virtual GPUs are for dev environments and model services; training jobs
#: take whole cards.
VGPU_TYPES = frozenset({WorkloadType.IDE, WorkloadType.SERVICE})


@dataclass(frozen=True)
class Pool:
    """The quota or queue a job draws from, as stored and as the scheduler sees it."""

    kind: Literal["quota", "queue"]
    row: Quota | Queue
    cluster: Cluster
    model: model.Quota | model.Queue

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.row.name}'"


# -- the pool (RQ17, RQ18, Q3, W4) -------------------------------------------------------------


def check_pool(
    session: Session,
    *,
    actor: Actor,
    ws: Workspace,
    quota_ref: str | None,
    queue_ref: str | None,
) -> Pool:
    """The pool a job in ``ws`` draws from: a quota associated with a custom workspace, or a
    queue (default: the built-in one) for the default workspace."""
    if ws.is_default:
        if quota_ref:
            raise ValidationFailed.field(
                "quota_id",
                f"'{ws.name}' is the default workspace, which uses queues, not resource quotas "
                "(W4): leave quota_id empty and give a queue_id (default: the built-in queue)",
            )
        if queue_ref:
            ensure_default_queue(session, tenant_id=actor.tenant_id)
            queue = access_queue(session, actor, queue_ref)
        else:
            queue = ensure_default_queue(session, tenant_id=actor.tenant_id)
        return _queue_pool(session, queue)
    if queue_ref:
        raise ValidationFailed.field(
            "queue_id",
            f"only the default workspace may use queues (Q3); workspace '{ws.name}' draws from "
            "its resource quotas: give a quota_id instead",
        )
    quota = access_quota(session, actor, quota_ref) if quota_ref else _only_quota(session, ws)
    return _quota_pool(session, quota)


def _only_quota(session: Session, ws: Workspace) -> Quota:
    linked = list(
        session.scalars(
            select(Quota)
            .join(QuotaWorkspace, QuotaWorkspace.quota_id == Quota.id)
            .where(QuotaWorkspace.workspace_id == ws.id)
            .order_by(Quota.name)
        )
    )
    if not linked:
        raise Conflict(
            f"{RQ18}: no resource quota is associated with workspace '{ws.name}' (RQ18); a "
            "tenant admin associates one on the Quotas page",
            fields={"quota_id": "no quota associated with this workspace"},
            rule="RQ18",
        )
    if len(linked) > 1:
        names = ", ".join(f"'{q.name}'" for q in linked)
        raise ValidationFailed.field(
            "quota_id",
            f"workspace '{ws.name}' has {len(linked)} resource quotas ({names}); pick one (RQ17)",
        )
    return linked[0]


def _quota_pool(session: Session, quota: Quota) -> Pool:
    cluster = session.get(Cluster, quota.cluster_id)
    assert cluster is not None  # quotas reference their cluster (FK)
    found = next(
        q for q in scheduler_quotas(session, tenant_id=quota.tenant_id) if q.id == quota.id
    )
    return Pool("quota", quota, cluster, found)


def _queue_pool(session: Session, queue: Queue) -> Pool:
    cluster = session.get(Cluster, queue.cluster_id)
    assert cluster is not None
    found = next(
        q for q in scheduler_queues(session, tenant_id=queue.tenant_id) if q.id == queue.id
    )
    return Pool("queue", queue, cluster, found)


def pool_of(session: Session, job_quota_id: str | None, job_queue_id: str | None) -> Pool | None:
    """The pool a stored workload names, or None when it no longer exists."""
    if job_quota_id:
        quota = session.get(Quota, job_quota_id)
        return _quota_pool(session, quota) if quota else None
    queue = session.get(Queue, job_queue_id) if job_queue_id else None
    return _queue_pool(session, queue) if queue else None


def check_started(pool: Pool) -> None:
    """RQ15/RQ18, Q10: a stopped pool takes no new work."""
    if pool.row.status == Status.STARTED.value:
        return
    if pool.kind == "quota":
        raise Conflict(
            f"{RQ18}: quota '{pool.row.name}' is stopped (RQ15, RQ18); ask its admin to start "
            "it, or pick another quota",
            fields={"quota_id": "quota is stopped"},
            rule="RQ18",
        )
    raise Conflict(
        f"queue '{pool.row.name}' is stopped and accepts no new workloads (Q10): ask its admin "
        "to start it, or pick another queue",
        fields={"queue_id": "queue is stopped"},
        rule="Q10",
    )


# -- resources per node ------------------------------------------------------------------------


def check_resources(
    session: Session, *, pool: Pool, res: NodeResources, workload_type: WorkloadType = TRAINING
) -> dict[str, Any]:
    """Per-node resources of the workload spec: from the spec record, or explicit amounts.

    A virtual GPU spec (spec 02 §9) is open to the kinds of V1 only (``VGPU_TYPES``); its
    slices and their share of a card are stored as :mod:`hangar.workloads.requests` reads them.
    """
    if res.spec_id:
        row = _spec(session, pool, res.spec_id, workload_type)
        out: dict[str, Any] = {
            "cpu_millicores": row.cpu_millicores, "mem_bytes": row.mem_bytes,
            "gpus": row.accel_count, "gpu_model": row.accel_model or None, "spec_id": row.id,
        }  # fmt: skip
        if row.vgpu_vram_gib is not None:
            out.update(gpus=0, **_vgpu(session, pool, row))
        return out
    assert res.cpu_cores is not None and res.mem_gib is not None  # the schema requires both
    cpu, mem = round(res.cpu_cores * MILLI), round(res.mem_gib * GIB)
    if cpu < 1:
        raise ValidationFailed.field("resources.cpu_cores", "must be at least 0.001 cores")
    if res.gpu_model and not res.gpus:
        raise ValidationFailed.field(
            "resources.gpu_model", "names a card model but gpus is 0: ask for GPUs or clear it"
        )
    if res.gpu_model:
        models = card_models(session, pool.cluster.id)
        if res.gpu_model not in models:
            have = ", ".join(models) or "no cards"
            raise ValidationFailed.field(
                "resources.gpu_model",
                f"cluster '{pool.cluster.name}' of {pool.label} has no {res.gpu_model} cards "
                f"(it has: {have}); use one of its card models, or leave it empty",
            )
    return {
        "cpu_millicores": cpu, "mem_bytes": mem, "gpus": res.gpus,
        "gpu_model": res.gpu_model or None, "spec_id": None,
    }  # fmt: skip


def _spec(session: Session, pool: Pool, ref: str, workload_type: WorkloadType) -> ResourceSpec:
    row = session.scalar(
        select(ResourceSpec).where(
            or_(
                ResourceSpec.id == ref,
                (ResourceSpec.name == ref) & (ResourceSpec.cluster_id == pool.cluster.id),
            )
        )
    )
    other = session.get(Cluster, row.cluster_id) if row is not None else None
    visible = other is not None and other.tenant_id in (None, pool.row.tenant_id)
    if row is None or not visible:
        raise NotFound(
            f"spec '{ref}' not found; `hangar specs list --cluster {pool.cluster.name}` shows "
            f"the specs {pool.label} can use",
            fields={"resources.spec_id": "unknown spec"},
            kind="spec",
            id=ref,
        )
    if row.cluster_id != pool.cluster.id:
        assert other is not None
        raise ValidationFailed.field(
            "resources.spec_id",
            f"spec '{row.name}' belongs to cluster '{other.name}', but {pool.label} draws from "
            f"cluster '{pool.cluster.name}': pick one of its specs",
        )
    if row.vgpu_vram_gib is not None and workload_type not in VGPU_TYPES:
        raise ValidationFailed.field(
            "resources.spec_id",
            f"spec '{to_spec(row).display()}' slices virtual GPUs; training jobs take whole cards "
            "or CPU only: pick a whole-card or CPU-only spec",
        )
    return row


def _vgpu(session: Session, pool: Pool, row: ResourceSpec) -> dict[str, Any]:
    """The slices of a virtual GPU spec and their share of a physical card (decision I1)."""
    spec = to_spec(row)
    assert spec.vgpu is not None and spec.accel_model is not None
    phys = card_vram_gib(session, pool.cluster.id, spec.accel_model)
    if phys is None:
        raise ValidationFailed.field(
            "resources.spec_id",
            f"spec '{spec.display()}' slices {spec.accel_model} cards, but cluster "
            f"'{pool.cluster.name}' of {pool.label} has none: pick a spec of its card models",
        )
    v = spec.vgpu
    return {
        "vgpu": {"count": spec.accel_count, "vram_gib": v.vram_gib,
                 "compute_percent": v.compute_percent},
        "gpu_milli": vgpu_share_milli(spec.accel_count, v.vram_gib, phys),
    }  # fmt: skip


# -- the workload spec and whether it can ever be admitted ---------------------------------------


def build_spec(data: TrainingJobCreate, per_node: dict[str, Any]) -> dict[str, Any]:
    """The workload spec the scheduler and the reconciler consume (docs/jobs.md)."""
    nodes = data.node_count
    return {
        "command": data.command,
        "env": dict(data.env),
        "mode": data.mode,
        "worker_count": data.worker_count if data.mode == "ddp" else 0,
        "node_count": nodes,
        "procs_per_node": data.procs_per_node or int(per_node["gpus"]) or 1,
        "resources": dict(per_node),
        "request": {k: int(per_node[k]) * nodes for k in ("cpu_millicores", "mem_bytes", "gpus")},
        "restart": data.restart.model_dump(),
        "image": data.image,
    }


def check_admissible(
    session: Session,
    *,
    pool: Pool,
    ws: Workspace,
    spec: dict[str, Any],
    workload_type: WorkloadType = TRAINING,
) -> None:
    """What admission would reject: the workload type, the workspace, the card model, more
    than the pool can ever hold (RQ5, RQ17, Q3, Q5), more than any node (§8.1); and what
    the tenant's billing refuses (minimum balance, exhausted wallet, plan cap: billing.gates)."""
    check_started(pool)
    request = request_of(spec)
    rules.check_submission(
        pool.model, workload_type=workload_type, workspace_id=ws.id, request=request,
        max_borrowable=_lendable(session, pool),
    )  # fmt: skip
    reason = never_fits(session, pool.cluster, request)
    if reason is not None:
        raise ValidationFailed.field(
            "resources",
            f"{reason} (spec 02 §8.1): ask for less per node or fewer nodes, or pick a pool on "
            "a cluster with larger nodes",
        )
    check_can_start(session, tenant_id=ws.tenant_id, request=request, now=utcnow())


def _lendable(session: Session, pool: Pool) -> Resources | None:
    """The most a borrowing quota could ever borrow: the totals of the other started,
    non-exclusive quotas of its cluster (B4 bounds it by their idle capacity at run time)."""
    me = pool.model
    if not isinstance(me, model.Quota) or not me.borrowing:
        return None
    total = ZERO
    for q in scheduler_quotas(session, tenant_id=pool.row.tenant_id):
        lends = q.id != me.id and q.cluster_id == me.cluster_id and q.started and not q.exclusive
        if lends and me.total.model_compatible(q.total):
            total = total + q.total
    return total
