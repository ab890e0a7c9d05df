"""Training jobs as the API shows them: list rows, details with runs, events and usage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hangar.assets.dataset_schemas import MountRead
from hangar.db.base import utcnow
from hangar.jobs.schemas import (
    EventRead,
    JobPage,
    JobRead,
    JobSummary,
    NodeRequest,
    PoolRef,
    RestartPolicy,
    RunNodeRead,
    RunRead,
    RunUsage,
    UsageIntervalRead,
)
from hangar.resources.orm import Queue, Quota
from hangar.scheduling.resources import GIB, MILLI
from hangar.scheduling.specs import Spec, VgpuSlice
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.lifecycle import LIVE, State
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload, WorkloadEvent
from hangar.workloads.requests import vgpu_of

EVENTS_SHOWN = 500  # the newest events of a job; older ones stay in the database


def node_display(res: dict[str, Any]) -> str:
    """Per-node resources as a spec string (spec 02 §3): ``2C8G``, ``21C_175G_1*H800``,
    ``2*(L40S(eGPU)_5G_1C_8G)``."""
    cpu, mem = int(res.get("cpu_millicores") or 0), int(res.get("mem_bytes") or 0)
    gpus = int(res.get("gpus") or 0)
    if cpu <= 0 or mem <= 0:
        return "—"  # not a job spec (a workload of another kind, or hand-made)
    v = vgpu_of(res)
    if v is not None:
        one = VgpuSlice(v.vram_gib, cpu // MILLI // v.count, mem // GIB // v.count,
                        v.compute_percent)  # fmt: skip
        return Spec.virtual(v.model, v.count, one).display()
    model = (res.get("gpu_model") or "GPU") if gpus else None
    return Spec(cpu, mem, gpus, model).display()


def occupied(spec: dict[str, Any]) -> str:
    """Spec 04 §2 "occupied resources": master spec × 1 + worker spec × N, or spec × nodes."""
    one = node_display(spec.get("resources") or {})
    if spec.get("mode") == "ddp":
        return f"master {one}×1 + worker {one}×{int(spec.get('worker_count') or 0)}"
    return f"{one}×{int(spec.get('node_count') or 1)}"


def seconds(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    return None if start is None else max(0.0, ((end or now) - start).total_seconds())


def names_by_id(session: Session, table: Any, ids: set[str], column: Any) -> dict[str, str]:
    if not ids:
        return {}
    return dict(session.execute(select(table.id, column).where(table.id.in_(ids))).all())


def summaries(session: Session, jobs: Sequence[Workload]) -> list[JobSummary]:
    """List rows for ``jobs``, with names and the latest run looked up in a few queries."""
    now = utcnow()
    workspaces = names_by_id(session, Workspace, {j.workspace_id for j in jobs}, Workspace.name)
    users = names_by_id(session, User, {j.created_by for j in jobs if j.created_by}, User.username)
    quotas = names_by_id(session, Quota, {j.quota_id for j in jobs if j.quota_id}, Quota.name)
    queues = names_by_id(session, Queue, {j.queue_id for j in jobs if j.queue_id}, Queue.name)
    latest: dict[str, Run] = {}
    if jobs:
        newest = (
            select(Run.workload_id, func.max(Run.number).label("n"))
            .where(Run.workload_id.in_([j.id for j in jobs]))
            .group_by(Run.workload_id)
            .subquery()
        )
        for last in session.scalars(
            select(Run).join(
                newest, (Run.workload_id == newest.c.workload_id) & (Run.number == newest.c.n)
            )
        ):
            latest[last.workload_id] = last
    rows = []
    for j in jobs:
        run = latest.get(j.id)
        pool = None
        if j.quota_id:
            pool = PoolRef(kind="quota", id=j.quota_id, name=quotas.get(j.quota_id, "(deleted)"))
        elif j.queue_id:
            pool = PoolRef(kind="queue", id=j.queue_id, name=queues.get(j.queue_id, "(deleted)"))
        started = run.started_at if run else None
        finished = run.finished_at if run else None
        rows.append(
            JobSummary(
                id=j.id, name=j.name, description=j.description, workspace_id=j.workspace_id,
                workspace_name=workspaces.get(j.workspace_id, ""), created_by=j.created_by,
                created_by_name=users.get(j.created_by or "", ""),
                mode=str(j.spec.get("mode", "")), node_count=int(j.spec.get("node_count") or 1),
                worker_count=int(j.spec.get("worker_count") or 0), occupied=occupied(j.spec),
                state=j.state, state_display=State(j.state).display, state_reason=j.state_reason,
                source=j.source, priority=j.priority, pool=pool, run_count=j.run_count,
                restart_count=j.restart_count, submitted_at=j.submitted_at,
                created_at=j.created_at, started_at=started, finished_at=finished,
                duration_seconds=seconds(started, finished, now),
            )
        )  # fmt: skip
    return rows


def list_page(
    session: Session, where: Sequence[ColumnElement[bool]], *, limit: int, offset: int
) -> JobPage:
    total = session.scalar(select(func.count()).select_from(Workload).where(*where)) or 0
    running = session.scalar(
        select(func.count())
        .select_from(Workload)
        .where(*where, Workload.state.in_([s.value for s in LIVE]))
    )
    found = session.scalars(
        select(Workload)
        .where(*where)
        .order_by(Workload.created_at.desc(), Workload.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return JobPage(
        items=summaries(session, list(found)), total=total, running=running or 0,
        limit=limit, offset=offset,
    )  # fmt: skip


def detail(session: Session, job: Workload) -> JobRead:
    """A job with its configuration, its runs (newest first) and its events."""
    now = utcnow()
    [row] = summaries(session, [job])
    spec = job.spec
    runs = list(
        session.scalars(select(Run).where(Run.workload_id == job.id).order_by(Run.number.desc()))
    )
    ids = [r.id for r in runs]
    nodes: dict[str, list[RunNodeRead]] = defaultdict(list)
    for n in session.scalars(select(RunNode).where(RunNode.run_id.in_(ids)).order_by(RunNode.rank)):
        nodes[n.run_id].append(RunNodeRead.model_validate(n))
    usage: dict[str, list[UsageInterval]] = defaultdict(list)
    for u in session.scalars(
        select(UsageInterval)
        .where(UsageInterval.run_id.in_(ids))
        .order_by(UsageInterval.started_at)
    ):
        usage[u.run_id].append(u)
    events = list(
        session.scalars(
            select(WorkloadEvent)
            .where(WorkloadEvent.workload_id == job.id)
            .order_by(WorkloadEvent.id.desc())
            .limit(EVENTS_SHOWN)
        )
    )
    return JobRead(
        **row.model_dump(),
        command=str(spec.get("command", "")), env=dict(spec.get("env") or {}),
        image=spec.get("image"), procs_per_node=int(spec.get("procs_per_node") or 1),
        resources=NodeRequest.model_validate(spec["resources"]),
        spec_display=node_display(spec["resources"]),
        request={k: int(v) for k, v in (spec.get("request") or {}).items()},
        restart=RestartPolicy.model_validate(spec.get("restart") or {}),
        mounts=MountRead.of_spec(spec),
        runs=[_run(r, nodes[r.id], usage[r.id], now) for r in runs],
        events=[EventRead.model_validate(e) for e in reversed(events)],
    )  # fmt: skip


def _run(
    run: Run, nodes: list[RunNodeRead], intervals: list[UsageInterval], now: datetime
) -> RunRead:
    out = RunRead.model_validate(run)
    out.nodes = nodes
    out.duration_seconds = seconds(run.started_at, run.finished_at, now)
    out.usage = run_usage(intervals, now)
    return out


def run_usage(intervals: list[UsageInterval], now: datetime) -> RunUsage:
    """GPU-hours and CPU-core-hours of a run's usage intervals (open ones count up to now)."""
    gpu = cpu = 0.0
    rows = []
    for u in intervals:
        hours = (seconds(u.started_at, u.ended_at, now) or 0.0) / 3600
        gpu += (u.gpus + u.gpu_milli / 1000) * hours
        cpu += u.cpu_millicores / 1000 * hours
        rows.append(UsageIntervalRead.model_validate(u))
    return RunUsage(gpu_hours=round(gpu, 4), cpu_core_hours=round(cpu, 4), intervals=rows)


def events(session: Session, job: Workload, *, run_id: str | None = None) -> list[EventRead]:
    stmt = select(WorkloadEvent).where(WorkloadEvent.workload_id == job.id)
    if run_id:
        stmt = stmt.where(WorkloadEvent.run_id == run_id)
    found = session.scalars(stmt.order_by(WorkloadEvent.id.desc()).limit(EVENTS_SHOWN))
    return [EventRead.model_validate(e) for e in reversed(list(found))]
