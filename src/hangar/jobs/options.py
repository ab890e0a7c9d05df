"""What the create form offers in one workspace: pools with usage, specs, the caller's usage.

Custom workspaces draw from their associated quotas (RQ17); the default workspace from the
queues its members may use (Q3). When no started quota is associated, the form shows the
RQ18 notice instead of a picker. Per-user limits are enforced by the scheduler at admission;
the form only shows where the caller stands (spec 02 §7).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.config import Settings
from hangar.jobs.schemas import JobOptions, PoolChoice, UserUsage
from hangar.jobs.submission import RQ18, VGPU_TYPES
from hangar.resources import queues as queue_service
from hangar.resources.orm import Cluster, Quota, QuotaWorkspace, ResourceSpec
from hangar.resources.reads import queue_usage, quota_usage
from hangar.resources.specs import read as read_spec
from hangar.resources.specs import to_spec
from hangar.resources.types import Status, WorkloadType
from hangar.tenancy.access import Actor
from hangar.tenancy.limits import Caps, user_limits
from hangar.tenancy.orm import Tenant, Workspace
from hangar.workloads.lifecycle import LIVE
from hangar.workloads.orm import Run, RunNode, Workload


def form_options(
    session: Session,
    *,
    actor: Actor,
    ws: Workspace,
    caps: Caps | None = None,
    workload_type: WorkloadType = WorkloadType.TRAINING,
) -> JobOptions:
    """The create form's choices for a workload of ``workload_type``: the pools that take it,
    and their specs (virtual-GPU specs only for the types that may use slices)."""
    pools = _queues(session, actor) if ws.is_default else _quotas(session, ws, workload_type)
    cluster_ids = {p.cluster_id for p in pools}
    where = [ResourceSpec.cluster_id.in_(cluster_ids)]
    if workload_type not in VGPU_TYPES:
        where.append(ResourceSpec.vgpu_vram_gib.is_(None))
    specs = session.scalars(
        select(ResourceSpec)
        .where(*where)
        .order_by(ResourceSpec.cluster_id, ResourceSpec.accel_count, ResourceSpec.cpu_millicores)
    )
    usable = [p for p in pools if p.status == Status.STARTED.value]
    notice = "" if ws.is_default or usable else RQ18
    return JobOptions(
        workspace_id=ws.id, workspace_name=ws.name, is_default=ws.is_default, pools=pools,
        specs=[read_spec(s) for s in specs], notice=notice,
        user=user_usage(session, actor=actor, caps=caps),
    )  # fmt: skip


def _clusters(session: Session, ids: set[str]) -> dict[str, str]:
    return dict(session.execute(select(Cluster.id, Cluster.name).where(Cluster.id.in_(ids))).all())


def _quotas(session: Session, ws: Workspace, workload_type: WorkloadType) -> list[PoolChoice]:
    found = list(
        session.scalars(
            select(Quota)
            .join(QuotaWorkspace, QuotaWorkspace.quota_id == Quota.id)
            .where(QuotaWorkspace.workspace_id == ws.id)
            .order_by(Quota.name)
        )
    )
    found = [q for q in found if workload_type.value in q.workload_types]
    names = _clusters(session, {q.cluster_id for q in found})
    out = []
    for q in found:
        spec = session.get(ResourceSpec, q.spec_id)
        out.append(
            PoolChoice(
                kind="quota", id=q.id, name=q.name, cluster_id=q.cluster_id,
                cluster_name=names.get(q.cluster_id, ""), status=q.status,
                usage=quota_usage(session, q),
                spec_display=to_spec(spec).display() if spec else "",
                instance_count=q.instance_count,
            )
        )  # fmt: skip
    return out


def _queues(session: Session, actor: Actor) -> list[PoolChoice]:
    found = [
        q
        for q in queue_service.list_queues(session, actor=actor)
        if WorkloadType.TRAINING.value in q.workload_types
    ]
    names = _clusters(session, {q.cluster_id for q in found})
    out = []
    for q in found:
        spec = session.get(ResourceSpec, q.spec_id) if q.spec_id else None
        out.append(
            PoolChoice(
                kind="queue", id=q.id, name=q.name, cluster_id=q.cluster_id,
                cluster_name=names.get(q.cluster_id, ""), status=q.status,
                usage=queue_usage(session, q),
                spec_display=to_spec(spec).display() if spec else "",
                instance_count=q.instance_count,
            )
        )  # fmt: skip
    return out


def user_usage(session: Session, *, actor: Actor, caps: Caps | None) -> UserUsage:
    """GPU cards and CPU cores the caller's live workloads hold, against their limits."""
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    limits = user_limits(tenant, actor.user, caps).effective
    gpus = cpu = 0
    for res in session.scalars(
        select(RunNode.resources)
        .join(Run, Run.id == RunNode.run_id)
        .join(Workload, Workload.id == Run.workload_id)
        .where(
            Workload.created_by == actor.id,
            Workload.state.in_([s.value for s in LIVE]),
            Run.finished_at.is_(None),
        )
    ):
        gpus += int(res.get("gpus") or 0)
        cpu += int(res.get("cpu_millicores") or 0)
    return UserUsage(
        gpus_used=gpus, gpus_limit=limits.max_gpus, cpu_cores_used=cpu / 1000,
        cpu_cores_limit=limits.max_cpus,
    )  # fmt: skip


def caps_of(settings: Settings) -> Caps:
    """The installation caps of the per-user limits (decision A7)."""
    return Caps(
        max_gpus=settings.cap_user_max_gpus,
        max_cpus=settings.cap_user_max_cpus,
        pfs_gib=settings.cap_user_pfs_gib,
    )
