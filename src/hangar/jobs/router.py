"""Training jobs: ``/api/v1/jobs`` (spec 04 §1-§3; matrix rows 63-69, 79-80).

Thin routes: one gate, one service call, one read. A job route's gate loads the job, makes
sure its workspace is visible (404 otherwise), and applies the matrix with the job's creator
as owner. Backend calls (logs, forgetting a deleted job's runs) happen outside the request's
transaction: logs after the job was read, forgetting after the deletion committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import or_, select

from hangar.api.deps import SAFE_METHODS, CurrentActor, SessionDep, SettingsDep, app_state
from hangar.errors import ValidationFailed
from hangar.jobs import access, logs, queue_routes, reads, service
from hangar.jobs.access import JobAccess, access_job, access_workspace_ref, visible_jobs
from hangar.jobs.options import caps_of, form_options
from hangar.jobs.schemas import (
    EventRead,
    JobCopy,
    JobOptions,
    JobPage,
    JobRead,
    LogChunkRead,
    TrainingJobCreate,
)
from hangar.resources.types import WorkloadType
from hangar.tenancy.orm import User
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Workload

jobs = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def job_gate(point: str) -> Callable[..., JobAccess]:
    """The permission dependency of a job route: matrix ``point`` on the job's workspace."""

    def gate(request: Request, session: SessionDep, actor: CurrentActor, job_id: str) -> JobAccess:
        write = request.method not in SAFE_METHODS
        return access_job(session, actor, job_id, point, write=write, lock=write)

    return gate


Viewer = Annotated[JobAccess, Depends(job_gate("training.view"))]
Stopper = Annotated[JobAccess, Depends(job_gate("training.stop"))]
Starter = Annotated[JobAccess, Depends(job_gate("training.start"))]
Copier = Annotated[JobAccess, Depends(job_gate("training.copy"))]
Deleter = Annotated[JobAccess, Depends(job_gate("training.delete"))]
EventReader = Annotated[JobAccess, Depends(job_gate("common.events"))]
LogReader = Annotated[JobAccess, Depends(job_gate("common.logs"))]
# Where a job was created, shown in the list (spec 04 §2 "creation source"); the CLI says so.
SourceQuery = Annotated[Literal["api", "cli"], Query(description="Creation source label.")]


@jobs.post("", name="training.create", response_model=JobRead, status_code=201)
def create_job(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    body: TrainingJobCreate,
    background: BackgroundTasks,
    source: SourceQuery = "api",
) -> JobRead:
    """Submit a job; it waits as SUBMITTED until the scheduler queues and admits it."""
    settings = app_state(request).settings
    job = service.do_create_job(session, actor=actor, data=body, settings=settings, source=source)
    background.add_task(app_state(request).wake_scheduler)  # after the commit
    return reads.detail(session, job)


@jobs.get("", response_model=JobPage)
def list_jobs(
    session: SessionDep,
    actor: CurrentActor,
    workspace: Annotated[str | None, Query(max_length=200, description="Id or name.")] = None,
    state: Annotated[
        list[str] | None, Query(max_length=20, description="Repeat, or comma-separate.")
    ] = None,
    name: Annotated[str | None, Query(max_length=200, description="Name contains.")] = None,
    created_by: Annotated[
        str | None, Query(max_length=64, description="Username or user id; 'me' for yours.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobPage:
    """Jobs the matrix lets you list (row 68), newest first, with the running count."""
    where = [visible_jobs(session, actor)]
    if workspace:
        where.append(Workload.workspace_id == access_workspace_ref(session, actor, workspace).id)
    if state:
        where.append(Workload.state.in_(_states(state)))
    if name:
        where.append(Workload.name.contains(name, autoescape=True))
    if created_by:
        who = actor.id if created_by == "me" else created_by
        by_name = select(User.id).where(User.tenant_id == actor.tenant_id, User.username == who)
        where.append(or_(Workload.created_by == who, Workload.created_by.in_(by_name)))
    return reads.list_page(session, where, limit=limit, offset=offset)


@jobs.get("/options", response_model=JobOptions)
def job_options(
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    workspace: Annotated[str, Query(max_length=200, description="Id or name.")],
    workload_type: Annotated[
        Literal["training", "ide"],
        Query(description="What the form creates: a training job or a dev environment."),
    ] = "training",
) -> JobOptions:
    """The create form's choices in a workspace: quotas or queues with usage, their specs,
    your usage against your per-user limits, and the RQ18 notice when none can be used.
    ``workload_type=ide``: the pools that take dev environments, virtual-GPU specs included."""
    ws = access.access_workspace_for_create(
        session, actor, access_workspace_ref(session, actor, workspace).id
    )
    kind = WorkloadType(workload_type)
    return form_options(session, actor=actor, ws=ws, caps=caps_of(settings), workload_type=kind)


@jobs.get("/{job_id}", response_model=JobRead)
def get_job(session: SessionDep, gate: Viewer) -> JobRead:
    return reads.detail(session, gate.job)


@jobs.post("/{job_id}/stop", name="training.stop", response_model=JobRead)
def stop_job(session: SessionDep, gate: Stopper) -> JobRead:
    """Waiting jobs stop at once; running ones go to STOPPING until the backend confirms."""
    return reads.detail(session, service.do_stop(session, access=gate))


@jobs.post("/{job_id}/restart", name="training.restart", response_model=JobRead)
def restart_job(
    request: Request, session: SessionDep, gate: Starter, background: BackgroundTasks
) -> JobRead:
    """Start a finished job again; the scheduler gives it a new run when it is admitted."""
    job = service.do_restart(session, access=gate)
    background.add_task(app_state(request).wake_scheduler)
    return reads.detail(session, job)


@jobs.post("/{job_id}/copy", name="training.copy", response_model=JobRead, status_code=201)
def copy_job(
    request: Request,
    session: SessionDep,
    gate: Copier,
    background: BackgroundTasks,
    body: JobCopy | None = None,
    source: SourceQuery = "api",
) -> JobRead:
    """A new job with the same configuration and inputs, named ``<name>-copy`` by default."""
    made = service.do_copy(
        session, access=gate, data=body or JobCopy(), settings=app_state(request).settings,
        source=source,
    )  # fmt: skip
    background.add_task(app_state(request).wake_scheduler)
    return reads.detail(session, made)


@jobs.delete("/{job_id}", name="training.delete", status_code=204)
def delete_job(
    request: Request, session: SessionDep, gate: Deleter, background: BackgroundTasks
) -> None:
    """Only finished jobs; their logs are removed from the backend after the commit."""
    handles = service.do_delete(session, access=gate)
    background.add_task(logs.forget, app_state(request).backend, handles)


@jobs.get("/{job_id}/events", response_model=list[EventRead])
def job_events(
    session: SessionDep,
    gate: EventReader,
    run_id: Annotated[str | None, Query(max_length=16)] = None,
) -> list[EventRead]:
    """Transitions, alerts and scheduling reasons, oldest first (optionally of one run)."""
    return reads.events(session, gate.job, run_id=run_id)


@jobs.get("/{job_id}/runs/{run_id}/logs", response_model=LogChunkRead)
def run_logs(
    request: Request,
    session: SessionDep,
    gate: LogReader,
    run_id: str,
    node: Annotated[int, Query(ge=0, le=1024)] = 0,
    offset: Annotated[int, Query(ge=0)] = 0,
    attempt: Annotated[int | None, Query(ge=0, description="Default: the latest.")] = None,
) -> LogChunkRead:
    """Node ``node``'s log from byte ``offset``; poll with ``next_offset`` until complete."""
    target = logs.log_target(session, job=gate.job, run_id=run_id, node=node, attempt=attempt)
    return logs.read_chunk(app_state(request).backend, target, offset=offset)


@jobs.get("/{job_id}/runs/{run_id}/logs/download")
def download_logs(
    request: Request,
    session: SessionDep,
    gate: LogReader,
    run_id: str,
    node: Annotated[int, Query(ge=0, le=1024)] = 0,
    attempt: Annotated[int | None, Query(ge=0, description="Default: the latest.")] = None,
) -> StreamingResponse:
    """The whole log of one node as a text file."""
    target = logs.log_target(session, job=gate.job, run_id=run_id, node=node, attempt=attempt)
    body = logs.open_stream(app_state(request).backend, target)
    filename = f"job-{gate.job.id}-{run_id}-node{node}-attempt{target.attempt}.log"
    return StreamingResponse(
        body,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _states(values: list[str]) -> list[str]:
    wanted = [v.strip().upper() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in State.__members__]
    if unknown:
        raise ValidationFailed.field(
            "state", f"unknown state(s) {', '.join(unknown)}; use {', '.join(State)}"
        )
    return wanted


# The one router the app factory includes: jobs and the admission queue.
router = APIRouter()
router.include_router(jobs)
router.include_router(queue_routes.router)
