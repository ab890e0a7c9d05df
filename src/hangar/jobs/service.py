"""Training-job actions: create, stop, restart, copy, delete. The caller owns the transaction.

Every state change goes through :func:`hangar.workloads.service.do_transition`, so an
illegal one is a 409 naming what is allowed now. The scheduler loop moves a SUBMITTED job on
(QUEUED, then PREPARING with a new run); the run reconciler does the rest. Nothing here talks
to a backend: deleting returns the run handles whose logs the caller forgets after commit.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets import mounts
from hangar.audit.context import note_target
from hangar.backends.state import RunHandle
from hangar.config import Settings
from hangar.db.base import utcnow
from hangar.errors import Conflict, ValidationFailed
from hangar.images import service as images
from hangar.jobs.access import JobAccess, access_workspace_for_create
from hangar.jobs.logs import attempt_handles
from hangar.jobs.schemas import JOB_NAME_MAX, JobCopy, NodeResources, TrainingJobCreate
from hangar.jobs.submission import (
    build_spec,
    check_admissible,
    check_pool,
    check_resources,
    pool_of,
)
from hangar.tenancy.access import Actor
from hangar.workloads.lifecycle import State, transition
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.requests import request_of
from hangar.workloads.runspec import confidential_output
from hangar.workloads.service import do_note, do_transition
from hangar.workloads.service import do_stop as stop_workload

Source = Literal["api", "console", "cli"]
COPY_SUFFIX = "-copy"


def do_create_job(
    session: Session, *, actor: Actor, data: TrainingJobCreate, settings: Settings,
    source: Source = "api",
) -> Workload:  # fmt: skip
    """Validate and submit a job: a SUBMITTED workload the scheduler picks up."""
    note_target("training", "", data.name)
    ws = access_workspace_for_create(session, actor, data.workspace_id)
    pool = check_pool(session, actor=actor, ws=ws, quota_ref=data.quota_id, queue_ref=data.queue_id)
    spec = build_spec(data, check_resources(session, pool=pool, res=data.resources))
    if data.image:  # a custom image's layers are shown at /work/image/<i>, on PYTHONPATH
        image = images.resolve(session, actor, data.image)
        spec["image_layers"] = [str(p) for p in images.layer_paths(session, image)]
    if data.mounts:
        requests = [m.model_dump() for m in data.mounts]
        spec["mount_requests"] = requests
        spec["mounts"] = mounts.resolve(
            session, actor, home=settings.home, cache_dir=settings.dataset_cache_dir,
            workload_kind="training", requests=requests,
        )  # fmt: skip
        if confidential_output(spec) is not None and spec["node_count"] > 1:
            raise ValidationFailed.field(
                "mounts", "a job with a confidential dataset runs with no network, so its "
                "nodes could not reach each other: use mode 'single'",
            )  # fmt: skip
    check_admissible(session, pool=pool, ws=ws, spec=spec)
    now = utcnow()
    job = Workload(
        tenant_id=actor.tenant_id, workspace_id=ws.id, created_by=actor.id, kind="training",
        name=data.name, description=data.description, source=source, spec=spec,
        quota_id=pool.row.id if pool.kind == "quota" else None,
        queue_id=pool.row.id if pool.kind == "queue" else None,
        state=State.SUBMITTED.value, state_reason="submitted; waiting for the scheduler",
        priority=0, submitted_at=now, created_at=now,
    )  # fmt: skip
    session.add(job)
    session.flush()
    do_note(
        session, job, "info",
        f"submitted by {actor.user.username} via {source} to {pool.label}: "
        f"{request_of(spec).describe()}",
        now=now,
    )  # fmt: skip
    note_target("training", job.id, job.name, workspace_id=ws.id, pool=pool.label)
    return job


def do_stop(session: Session, *, access: JobAccess) -> Workload:
    """Stop a job: at once while it waits; through the reconciler once it holds resources."""
    job = access.job
    note_target("training", job.id, job.name, state=job.state)
    stop_workload(
        session, job, message=f"stopped by {access.actor.user.username}"
    )  # 409 unless it is waiting or running
    return job


def do_restart(session: Session, *, access: JobAccess) -> Workload:
    """Start a finished job again (spec 04 §3): the scheduler creates its next run.

    Its pool is checked again, since it may have been stopped or changed since.
    """
    job = access.job
    note_target("training", job.id, job.name, state=job.state)
    transition(State(job.state), "restart")  # 409 first, before any other complaint
    pool = pool_of(session, job.quota_id, job.queue_id)
    if pool is None:
        raise Conflict(
            f"the quota or queue job '{job.name}' drew from no longer exists: copy the job "
            "and pick another one",
            fields={"quota_id" if job.quota_id else "queue_id": "no longer exists"},
        )
    check_admissible(session, pool=pool, ws=access.workspace, spec=job.spec)
    job.submitted_at = utcnow()  # back of the queue (FIFO by submission, RQ10)
    do_transition(
        session, job, "restart",
        message=f"restarted by {access.actor.user.username}: run {job.run_count + 1} starts "
        "when admitted",
    )  # fmt: skip
    return job


def copy_name(name: str) -> str:
    """``name-copy``, shortened so that it stays within rule N1's 64 characters."""
    return name[: JOB_NAME_MAX - len(COPY_SUFFIX)] + COPY_SUFFIX


def copy_input(job: Workload) -> TrainingJobCreate:
    """The create request that reproduces ``job`` (spec 04 §3 "Copy"), named ``…-copy``."""
    spec = job.spec
    res = spec["resources"]
    if res.get("spec_id"):
        resources = NodeResources(spec_id=res["spec_id"])
    else:
        resources = NodeResources(
            cpu_cores=int(res["cpu_millicores"]) / 1000, mem_gib=int(res["mem_bytes"]) / 2**30,
            gpus=int(res.get("gpus") or 0), gpu_model=res.get("gpu_model") or None,
        )  # fmt: skip
    return TrainingJobCreate(
        workspace_id=job.workspace_id, name=copy_name(job.name), description=job.description,
        command=spec["command"], mode=spec.get("mode", "ddp"),
        worker_count=max(1, int(spec.get("worker_count") or 1)),
        procs_per_node=int(spec.get("procs_per_node") or 1), resources=resources,
        quota_id=job.quota_id, queue_id=job.queue_id, image=spec.get("image"),
        env=dict(spec.get("env") or {}), restart=spec.get("restart") or {},
        mounts=spec.get("mount_requests") or [],
    )  # fmt: skip


def do_copy(
    session: Session,
    *,
    access: JobAccess,
    data: JobCopy,
    settings: Settings,
    source: Source = "api",
) -> Workload:
    """A new job with the same configuration and inputs; name and description may change."""
    base = copy_input(access.job)
    changes = {k: v for k, v in data.model_dump().items() if v is not None}
    made = TrainingJobCreate.model_validate({**base.model_dump(), **changes})
    return do_create_job(session, actor=access.actor, data=made, settings=settings, source=source)


def run_handles(session: Session, workload: Workload) -> list[RunHandle]:
    """The backend handles of every attempt of every run of ``workload`` (to forget them)."""
    handles: list[RunHandle] = []
    runs = session.scalars(select(Run).where(Run.workload_id == workload.id).order_by(Run.number))
    for run in runs:
        node = session.scalar(
            select(RunNode).where(RunNode.run_id == run.id).order_by(RunNode.rank).limit(1)
        )
        if node is not None and node.handle.get("run_id"):
            handles.extend(attempt_handles(run, RunHandle.from_dict(node.handle)))
    return handles


def do_delete(session: Session, *, access: JobAccess) -> list[RunHandle]:
    """Delete a finished job and its runs, events and usage rows.

    Returns the backend handles of every attempt of every run: the caller forgets them
    (their logs and run directories) once the deletion has committed.
    """
    job = access.job
    note_target("training", job.id, job.name, state=job.state)
    state = State(job.state)
    if not state.terminal:
        raise Conflict(
            f"job '{job.name}' is {state.display.lower()} ({state.value}): stop it first, then "
            "delete it",
            fields={"state": state.value},
        )
    handles = run_handles(session, job)
    session.delete(job)  # runs, nodes, events and usage rows go with it (ON DELETE CASCADE)
    session.flush()
    return handles
