"""Dev environments: ``/api/v1/devenvs`` (spec 03; matrix rows 70-78).

Thin routes like the job routes: one gate (the matrix point on the environment's workspace,
the creator as owner), one service call, one read. Filesystem and backend clean-up of a
deletion runs after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request

from hangar.api.deps import SAFE_METHODS, CurrentActor, SessionDep, SettingsDep, app_state
from hangar.devenvs import policy, reads, service, training
from hangar.devenvs.cleanup import remove
from hangar.devenvs.monitor import series
from hangar.devenvs.schemas import (
    DevEnvCreate,
    DevEnvPage,
    DevEnvRead,
    IdlePolicyRead,
    IdlePolicyWrite,
    MonitorSeries,
    PortExpose,
    ScheduleUpdate,
    TrainingDraft,
)
from hangar.images import making
from hangar.images.schemas import ImageMake, ImageRead
from hangar.jobs.access import JobAccess, access_job, access_workspace_ref, visible_jobs
from hangar.workloads.orm import Workload

devenvs = APIRouter(prefix="/api/v1/devenvs", tags=["devenvs"])
idle_policies = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/idle-policy", tags=["devenvs"])
KIND = service.KIND


def env_gate(point: str) -> Callable[..., JobAccess]:
    def gate(request: Request, session: SessionDep, actor: CurrentActor, env_id: str) -> JobAccess:
        write = request.method not in SAFE_METHODS
        return access_job(
            session, actor, env_id, point, write=write, lock=write, kind=KIND,
            label="dev environment",
        )  # fmt: skip

    return gate


Viewer = Annotated[JobAccess, Depends(env_gate("devenv.view"))]
Starter = Annotated[JobAccess, Depends(env_gate("devenv.start"))]
Stopper = Annotated[JobAccess, Depends(env_gate("devenv.stop"))]
Deleter = Annotated[JobAccess, Depends(env_gate("devenv.delete"))]
Trainer = Annotated[JobAccess, Depends(env_gate("devenv.start_training"))]
ImageMaker = Annotated[JobAccess, Depends(env_gate("devenv.make_image"))]
SourceQuery = Annotated[Literal["api", "cli", "console"], Query(description="Creation source.")]


@devenvs.post("", name="devenv.create", response_model=DevEnvRead, status_code=201)
def create_env(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    body: DevEnvCreate,
    background: BackgroundTasks,
    source: SourceQuery = "api",
) -> DevEnvRead:
    """Create an environment (*Not started*); ``start: true`` starts it at once."""
    env = service.do_create(session, actor=actor, data=body, settings=settings, source=source)
    if body.start:
        gate = access_job(session, actor, env.id, "devenv.start", write=True, kind=KIND)
        state = app_state(request)
        service.do_start(
            session, access=gate, settings=settings, sandboxed=state.backend.isolation_enabled
        )
        background.add_task(state.wake_scheduler)
    return reads.detail(session, env, settings)


@devenvs.get("", response_model=DevEnvPage)
def list_envs(
    session: SessionDep,
    actor: CurrentActor,
    workspace: Annotated[str | None, Query(max_length=200, description="Id or name.")] = None,
    name: Annotated[str | None, Query(max_length=200, description="Name contains.")] = None,
    mine: Annotated[bool, Query(description="Only the ones you created.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DevEnvPage:
    """Environments the matrix lets you list (row 74), newest first."""
    where = [visible_jobs(session, actor, point="devenv.list", kind=KIND)]
    if workspace:
        where.append(Workload.workspace_id == access_workspace_ref(session, actor, workspace).id)
    if name:
        where.append(Workload.name.contains(name, autoescape=True))
    if mine:
        where.append(Workload.created_by == actor.id)
    return reads.list_page(session, where, limit=limit, offset=offset)


@devenvs.get("/{env_id}", response_model=DevEnvRead)
def get_env(session: SessionDep, settings: SettingsDep, gate: Viewer) -> DevEnvRead:
    return reads.detail(session, gate.job, settings)


@devenvs.post("/{env_id}/start", name="devenv.start", response_model=DevEnvRead)
def start_env(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gate: Starter,
    background: BackgroundTasks,
) -> DevEnvRead:
    state = app_state(request)
    env = service.do_start(
        session, access=gate, settings=settings, sandboxed=state.backend.isolation_enabled
    )
    background.add_task(state.wake_scheduler)
    return reads.detail(session, env, settings)


@devenvs.post("/{env_id}/stop", name="devenv.stop", response_model=DevEnvRead)
def stop_env(session: SessionDep, settings: SettingsDep, gate: Stopper) -> DevEnvRead:
    """Releases the compute; /work/home stays, /work/cache is kept for the retention period."""
    env = service.do_stop(session, workload=gate.job, who=gate.actor.user.username)
    return reads.detail(session, env, settings)


@devenvs.delete("/{env_id}", name="devenv.delete", status_code=202)
def delete_env(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gate: Deleter,
    background: BackgroundTasks,
) -> dict[str, str]:
    """Deleted at once when not running; a running one is stopped first, then deleted."""
    removal = service.do_delete(session, access=gate, home=settings.home)
    if removal is None:
        return {"status": "deleting", "message": "stopping it first; deleted once stopped"}
    background.add_task(remove, app_state(request).backend, removal)
    return {"status": "deleted", "message": f"dev environment '{gate.job.name}' deleted"}


@devenvs.put("/{env_id}/schedule", name="devenv.schedule", response_model=DevEnvRead)
def schedule_env(
    session: SessionDep, settings: SettingsDep, gate: Stopper, body: ScheduleUpdate
) -> DevEnvRead:
    """Idle timeout (minutes) and scheduled stop time; ``null`` clears one."""
    return reads.detail(session, service.do_schedule(session, access=gate, data=body), settings)


@devenvs.post("/{env_id}/keep-alive", name="devenv.keep_alive", response_model=DevEnvRead)
def keep_alive(session: SessionDep, settings: SettingsDep, gate: Stopper) -> DevEnvRead:
    """Counts as activity now: cancels a pending idle stop (not under a locked policy)."""
    return reads.detail(session, service.do_keep_alive(session, access=gate), settings)


@devenvs.post("/{env_id}/ports", name="devenv.expose_port", response_model=DevEnvRead)
def expose_port(
    session: SessionDep, settings: SettingsDep, gate: Starter, body: PortExpose
) -> DevEnvRead:
    """Expose an HTTP server of the environment at ``/dev/<id>/ports/<port>/``."""
    env = service.do_expose_port(session, access=gate, port=body.port)
    return reads.detail(session, env, settings)


@devenvs.delete("/{env_id}/ports/{port}", name="devenv.unexpose_port", response_model=DevEnvRead)
def unexpose_port(
    session: SessionDep, settings: SettingsDep, gate: Starter, port: int
) -> DevEnvRead:
    env = service.do_unexpose_port(session, access=gate, port=port)
    return reads.detail(session, env, settings)


@devenvs.get("/{env_id}/training-draft", response_model=TrainingDraft)
def training_draft(session: SessionDep, gate: Trainer) -> TrainingDraft:
    """ "Start training" (spec 03 §1.6): a job form pre-filled with image, env, resources."""
    return training.draft(gate.job)


@devenvs.get("/{env_id}/monitor", response_model=MonitorSeries)
def monitor(
    session: SessionDep,
    gate: Viewer,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 60,
) -> MonitorSeries:
    """CPU, memory and GPU samples of the last ``minutes`` (spec 03 §1.8)."""
    return series(session, gate.job.id, minutes=minutes)


@devenvs.post(
    "/{env_id}/image", name="devenv.make_image", response_model=ImageRead, status_code=202
)
def make_image(
    session: SessionDep, settings: SettingsDep, gate: ImageMaker, body: ImageMake
) -> ImageRead:
    """Queue an image of the software installed in the environment (spec 03 §1.7): not
    /work/home, /work/cache or mounts. ``GET /api/v1/images/<id>`` follows its status."""
    env = service.env_row(session, gate.job)
    image = making.do_request(
        session, gate.actor, home=settings.home, workload=gate.job, image_id=env.runtime_id,
        ide=env.ide, name=body.name, description=body.description,
    )  # fmt: skip
    return ImageRead.model_validate(image)


@idle_policies.get("", response_model=IdlePolicyRead)
def get_idle_policy(session: SessionDep, actor: CurrentActor, workspace_id: str) -> IdlePolicyRead:
    """The workspace's idle-shutdown policy; 404 when it has none."""
    ws = policy.workspace_for_policy(session, actor, workspace_id, write=False)
    return IdlePolicyRead.model_validate(policy.get_policy(session, ws))


@idle_policies.put("", name="devenv.idle_policy.set", response_model=IdlePolicyRead)
def set_idle_policy(
    session: SessionDep, actor: CurrentActor, workspace_id: str, body: IdlePolicyWrite
) -> IdlePolicyRead:
    """Set it (workspace admins). ``locked``: users can neither lengthen nor turn off the
    timeout, nor postpone a stop with "keep alive"; it applies at the loop's next pass."""
    ws = policy.workspace_for_policy(session, actor, workspace_id, write=True)
    return IdlePolicyRead.model_validate(policy.do_set_policy(session, actor, ws, body))


@idle_policies.delete("", name="devenv.idle_policy.clear", status_code=204)
def clear_idle_policy(session: SessionDep, actor: CurrentActor, workspace_id: str) -> None:
    ws = policy.workspace_for_policy(session, actor, workspace_id, write=True)
    policy.do_clear_policy(session, ws)
