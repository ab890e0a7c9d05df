"""Dev environments in the console (spec 03 §1): the list with its IDE tabs and the
workspace's idle policy (spec 03 §2, set by its admins), the create form, the detail page
(open link, SSH, idle settings, exposed ports, cache retention, events, monitoring) and
start / stop / delete / keep alive / schedule / ports.

Same gates, services and route names as ``/api/v1/devenvs`` (and its workspaces'
``idle-policy``). Actions answer the fragment
that sent them: a list row (``HX-Target: env-<id>``) or the detail section. Rows and the
detail section reload themselves while an environment starts or stops; the monitoring card
reloads every 15 s. Charts are inline SVG drawn here: the CSP allows no chart scripts.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, app_state
from hangar.assets.code_routes import devenv_draft
from hangar.config import Settings
from hangar.devenvs import policy, reads, service, training
from hangar.devenvs.cleanup import remove
from hangar.devenvs.orm import DevEnvironment
from hangar.devenvs.schemas import (
    IDE_LABELS,
    IDLE_MINUTES_MAX,
    DevEnvRead,
    DevEnvSummary,
    PortExpose,
)
from hangar.devenvs.states import FAILED, NOT_STARTED, RUNNING, STARTING, STOPPING
from hangar.devenvs.tools import code_server_path
from hangar.errors import NotFound, PermissionDenied
from hangar.images import making
from hangar.images.orm import Image
from hangar.images.schemas import ImageMake
from hangar.images.service import ensure_presets, visible
from hangar.jobs.access import JobAccess, access_job, access_workspace_for_create, visible_jobs
from hangar.jobs.options import caps_of, form_options
from hangar.resources.types import WorkloadType
from hangar.tenancy.access import Actor, access_workspace, check_point, workspace_roles
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Workspace
from hangar.web.chrome import Chrome, PageChrome
from hangar.web.forms import parse
from hangar.web.pages.devenv_charts import MONITOR_MINUTES, monitor_context
from hangar.web.pages.devenv_form import (
    SSH_NOTE,
    DevEnvForm,
    IdlePolicyForm,
    ScheduleForm,
    job_form_of,
    time_box,
)
from hangar.web.pages.mount_picker import mountable
from hangar.web.templating import render
from hangar.workloads.orm import Workload

router = APIRouter(prefix="/devenvs", include_in_schema=False)
Box = Annotated[str, Form()]
KIND = service.KIND
LABEL = "dev environment"
ACTIONS = {"start": "devenv.start", "stop": "devenv.stop", "delete": "devenv.delete",
           "train": "devenv.start_training", "make_image": "devenv.make_image"}  # fmt: skip
ROW_TARGET = "env-"  # list rows are <tr id="env-<id>">


# --- gates and helpers --------------------------------------------------------------------


def _gate(session: Session, actor: Actor, env_id: str, point: str, *, write: bool) -> JobAccess:
    return access_job(
        session, actor, env_id, point, write=write, lock=write, kind=KIND, label=LABEL
    )


def _allowed(actor: Actor, roles: frozenset[Role], owner: str | None) -> frozenset[str]:
    """The actions the matrix allows on an environment created by ``owner`` (to show them)."""
    found = set()
    for action, point in ACTIONS.items():
        try:
            check_point(actor, point, roles, owner_id=owner or "", write=True)
        except PermissionDenied:
            continue
        found.add(action)
    return frozenset(found)


def _poll(env: DevEnvSummary) -> str:
    """How often a row or the detail section reloads: fast while it changes on its own."""
    if env.deleting or env.status in (STARTING, STOPPING):
        return "3s"
    return "15s" if env.status == RUNNING else ""


def _row_context(env: DevEnvSummary, allowed: frozenset[str]) -> dict[str, Any]:
    return {"e": env, "allowed": allowed, "poll": _poll(env) == "3s"}


# --- the list -----------------------------------------------------------------------------


@router.get("")
def list_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    workspace_id: Annotated[str, Query(max_length=64)] = "",
    ide: Annotated[str, Query(max_length=16)] = "",
    name: Annotated[str, Query(max_length=200)] = "",
    mine: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    if not workspace_id and chrome.workspace_or_first is None:
        return render(request, "devenvs/list.html", {"chrome": chrome, "ws": None})
    ws = chrome.chosen_workspace(workspace_id, partial(access_workspace, session, actor))
    where = [visible_jobs(session, actor, point="devenv.list", kind=KIND),
             Workload.workspace_id == ws.id]  # fmt: skip
    ide = ide if ide in IDE_LABELS else ""
    if ide:
        of_ide = select(DevEnvironment.workload_id).where(DevEnvironment.ide == ide)
        where.append(Workload.id.in_(of_ide))
    if name:
        where.append(Workload.name.contains(name, autoescape=True))
    if mine:
        where.append(Workload.created_by == actor.id)
    page = reads.list_page(session, where, limit=200, offset=0)
    roles = workspace_roles(session, actor, ws)
    rows = [_row_context(e, _allowed(actor, roles, e.created_by)) for e in page.items]
    context = {
        "chrome": dataclasses.replace(chrome, current_workspace=ws), "page": page,
        "rows": rows, "ides": IDE_LABELS, "filters": {"ide": ide, "name": name, "mine": mine},
        "running": sum(e.status == RUNNING for e in page.items),
        **_policy_context(session, ws, roles),
    }  # fmt: skip
    return render(request, "devenvs/list.html", context)


# --- the workspace's idle policy (a card of the list) -----------------------------------------


def _policy_context(session: Session, ws: Workspace, roles: frozenset[Role]) -> dict[str, Any]:
    """The card: the policy (or none); its form only for the workspace's admins."""
    return {"ws": ws, "policy": service.policy_of(session, ws.id),
            "policy_admin": Role.ADMIN in roles, "idle_max": IDLE_MINUTES_MAX}  # fmt: skip


def _policy_card(
    request: Request, session: Session, actor: Actor, ws: Workspace, flash: str
) -> Response:
    context = _policy_context(session, ws, workspace_roles(session, actor, ws))
    return render(request, "devenvs/_policy.html", {**context, "flash": flash})


@router.post("/idle-policy", name="devenv.idle_policy.set")
def set_idle_policy(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    workspace_id: Box = "", idle_minutes: Box = "", locked: Box = "", gpu_busy_percent: Box = "",
) -> Response:  # fmt: skip
    ws = policy.workspace_for_policy(session, actor, workspace_id, write=True)
    form = IdlePolicyForm(idle_minutes, locked, gpu_busy_percent)
    saved = policy.do_set_policy(session, actor, ws, form.to_input())
    how = "locked" if saved.locked else "a default users may change"
    flash = f"Idle policy of '{ws.name}': stop after {saved.idle_minutes} idle minutes, {how}."
    return _policy_card(request, session, actor, ws, flash)


@router.post("/idle-policy/clear", name="devenv.idle_policy.clear")
def clear_idle_policy(
    request: Request, session: SessionDep, actor: CurrentActor, workspace_id: Box = ""
) -> Response:
    ws = policy.workspace_for_policy(session, actor, workspace_id, write=True)
    policy.do_clear_policy(session, ws)
    flash = f"Removed the idle policy of '{ws.name}'."
    return _policy_card(request, session, actor, ws, flash)


def _row(request: Request, session: Session, gate: JobAccess, flash: str | None) -> Response:
    [env] = reads.summaries(session, [gate.job])
    context = _row_context(env, _allowed(gate.actor, gate.roles, gate.job.created_by))
    if flash is not None:
        context["flash"] = flash
    return render(request, "devenvs/_row.html", context)


@router.get("/{env_id}/row")
def row(request: Request, session: SessionDep, actor: CurrentActor, env_id: str) -> Response:
    """One list row (it reloads itself while starting or stopping); empty once deleted."""
    try:
        gate = _gate(session, actor, env_id, "devenv.view", write=False)
    except NotFound:
        return Response(headers={"Cache-Control": "no-store"})
    return _row(request, session, gate, None)


# --- the create form ----------------------------------------------------------------------


def _images(session: Session, actor: Actor) -> list[Image]:
    """What ``/api/v1/images`` lists: preset images first, then the tenant's, newest first."""
    ensure_presets(session)
    return list(
        session.scalars(
            select(Image)
            .where(visible(actor))
            .order_by(Image.kind.desc(), Image.name, Image.version.desc())
        )
    )


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    chrome: Chrome,
    ws: Workspace,
    form: DevEnvForm,
    settings: Settings,
) -> Response:
    images = _images(session, actor)
    if not form.image:
        first = next((i for i in images if i.status == "ready"), None)
        form = dataclasses.replace(form, image=first.id if first else "")
    context = {
        "chrome": dataclasses.replace(chrome, current_workspace=ws), "ws": ws, "form": form,
        "options": form_options(
            session, actor=actor, ws=ws, caps=caps_of(settings), workload_type=WorkloadType.IDE
        ),
        "images": images, "ides": IDE_LABELS, "ssh_note": SSH_NOTE,
        "mountable": mountable(session, actor, ws),
        "code_server": code_server_path(settings) is not None,
        "policy": service.policy_of(session, ws.id), "idle_max": IDLE_MINUTES_MAX,
    }  # fmt: skip
    return render(request, "devenvs/new.html", context)


@router.get("/new")
def new_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    settings: SettingsDep,
    workspace_id: Annotated[str, Query(max_length=64)] = "",
    ide: Annotated[str, Query(max_length=16)] = "",
    code: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The create form; ``?code=<package>`` is the code package's "Online coding"."""
    ws = chrome.chosen_workspace(workspace_id, partial(access_workspace, session, actor))
    access_workspace_for_create(session, actor, ws.id, point="devenv.create")
    form = DevEnvForm(workspace_id=ws.id, ide=ide if ide in IDE_LABELS else "jupyterlab")
    if code:
        draft = devenv_draft(session, actor, code)
        form = dataclasses.replace(form, name=draft.name, mounts=[f"code:{code}"])
    return _form_page(request, session, actor, chrome, ws, form, settings)


@router.post("", name="devenv.create")
def create(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    background: BackgroundTasks,
    workspace_id: Box = "", name: Box = "", description: Box = "", ide: Box = "jupyterlab",
    image: Box = "", pool_id: Box = "", resource_kind: Box = "custom", spec_id: Box = "",
    cpu_cores: Box = "", mem_gib: Box = "", gpus: Box = "0", gpu_model: Box = "",
    env: Box = "", ssh_keys: Box = "", idle_minutes: Box = "", stop_at: Box = "",
    start: Box = "", mount: Annotated[list[str] | None, Form()] = None,
) -> Response:  # fmt: skip
    form = DevEnvForm(
        workspace_id=workspace_id, name=name, description=description, ide=ide, image=image,
        pool_id=pool_id, resource_kind=resource_kind, spec_id=spec_id, cpu_cores=cpu_cores,
        mem_gib=mem_gib, gpus=gpus, gpu_model=gpu_model, env=env, ssh_keys=ssh_keys,
        idle_minutes=idle_minutes, stop_at=stop_at, start=start, mounts=mount or [],
    )  # fmt: skip
    ws = access_workspace_for_create(session, actor, workspace_id, point="devenv.create")
    data = form.to_input(default_workspace=ws.is_default)
    made = service.do_create(session, actor=actor, data=data, settings=settings, source="console")
    if data.start:
        gate = _gate(session, actor, made.id, "devenv.start", write=True)
        state = app_state(request)
        service.do_start(
            session, access=gate, settings=settings, sandboxed=state.backend.isolation_enabled
        )
        background.add_task(state.wake_scheduler)
    return Response(headers={"HX-Redirect": f"/devenvs/{made.id}"})


# --- the detail page ----------------------------------------------------------------------


def _detail_context(session: Session, settings: Settings, gate: JobAccess) -> dict[str, Any]:
    env = reads.detail(session, gate.job, settings)
    return {
        "env": env, "poll": _poll(env), "running": env.status == RUNNING,
        "allowed": _allowed(gate.actor, gate.roles, gate.job.created_by),
        "may_start": env.status in (NOT_STARTED, FAILED) and not env.deleting,
        "may_stop": env.status in (STARTING, RUNNING) and not env.deleting,
        "retention_days": f"{settings.devenv_cache_retention_days:g}",
    }  # fmt: skip


def _settings_context(env: DevEnvRead) -> dict[str, Any]:
    form = ScheduleForm(
        idle_minutes=str(env.idle.idle_minutes or ""), stop_at=time_box(env.idle.stop_at)
    )
    return {"env": env, "schedule": form, "idle_max": IDLE_MINUTES_MAX}


@router.get("/{env_id}")
def detail_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    settings: SettingsDep,
    env_id: str,
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.view", write=False)
    context = _detail_context(session, settings, gate)
    chrome = dataclasses.replace(chrome, current_workspace=gate.workspace)
    return render(
        request,
        "devenvs/detail.html",
        {"chrome": chrome, **context, **_settings_context(context["env"]),
         **_monitor_context(session, gate.job)},
    )  # fmt: skip


@router.get("/{env_id}/section")
def env_section(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep, env_id: str
) -> Response:
    """The environment's facts, actions and events (reloaded while it starts or stops)."""
    try:
        gate = _gate(session, actor, env_id, "devenv.view", write=False)
    except NotFound:  # deleted meanwhile (a pending deletion finished)
        return Response(headers={"HX-Redirect": "/devenvs"})
    return render(request, "devenvs/_env.html", _detail_context(session, settings, gate))


@router.get("/{env_id}/monitor-section")
def monitor_section(
    request: Request, session: SessionDep, actor: CurrentActor, env_id: str
) -> Response:
    """The monitoring card: the last hour's samples (spec 03 §1.8), reloaded every 15 s."""
    gate = _gate(session, actor, env_id, "devenv.view", write=False)
    return render(request, "devenvs/_monitor.html", _monitor_context(session, gate.job))


@router.get("/{env_id}/train")
def train_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    settings: SettingsDep,
    env_id: str,
) -> Response:
    """The training-job form pre-filled from the environment ("Start training", spec 03 §1.6:
    the API's ``training-draft``); it submits like any new job."""
    gate = _gate(session, actor, env_id, "devenv.start_training", write=False)
    ws = access_workspace_for_create(session, actor, gate.workspace.id)
    form = job_form_of(training.draft(gate.job))
    context = {
        "chrome": dataclasses.replace(chrome, current_workspace=ws), "ws": ws, "form": form,
        "options": form_options(session, actor=actor, ws=ws, caps=caps_of(settings)),
        "copy_of": None, "mountable": mountable(session, actor, ws),
    }  # fmt: skip
    return render(request, "jobs/new.html", context)


# --- actions ------------------------------------------------------------------------------


def _answer(
    request: Request,
    session: Session,
    settings: Settings,
    gate: JobAccess,
    flash: str,
    *,
    with_settings: bool = False,
) -> Response:
    """The fragment the action came from: its list row, or the detail section."""
    if request.headers.get("hx-target", "").startswith(ROW_TARGET):
        return _row(request, session, gate, flash)
    context = _detail_context(session, settings, gate)
    if with_settings:  # the settings forms are reset to what is now stored
        context["settings_oob"] = _settings_context(context["env"])
    return render(request, "devenvs/_env.html", {**context, "flash": flash})


@router.post("/{env_id}/start", name="devenv.start")
def start(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    background: BackgroundTasks,
    env_id: str,
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.start", write=True)
    state = app_state(request)
    env = service.do_start(
        session, access=gate, settings=settings, sandboxed=state.backend.isolation_enabled
    )
    background.add_task(state.wake_scheduler)
    flash = f"Dev environment '{env.name}' is starting: waiting for resources."
    return _answer(request, session, settings, gate, flash)


@router.post("/{env_id}/stop", name="devenv.stop")
def stop(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep, env_id: str
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.stop", write=True)
    env = service.do_stop(session, workload=gate.job, who=actor.user.username)
    flash = (
        f"Dev environment '{env.name}' is stopping. /work/home stays; /work/cache is kept "
        f"for {settings.devenv_cache_retention_days:g} days."
    )
    return _answer(request, session, settings, gate, flash)


@router.delete("/{env_id}", name="devenv.delete")
def delete(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    background: BackgroundTasks,
    env_id: str,
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.delete", write=True)
    name, ws_id = gate.job.name, gate.workspace.id
    removal = service.do_delete(session, access=gate, home=settings.home)
    if removal is None:
        flash = f"Dev environment '{name}' is stopping; it is deleted once stopped."
        return _answer(request, session, settings, gate, flash)
    background.add_task(remove, app_state(request).backend, removal)
    if request.headers.get("hx-target", "").startswith(ROW_TARGET):
        # An empty row (it disappears) and the message.
        return render(request, "devenvs/_deleted.html", {"flash": f"Deleted '{name}'."})
    return Response(headers={"HX-Redirect": f"/devenvs?workspace_id={ws_id}"})


@router.post("/{env_id}/keep-alive", name="devenv.keep_alive")
def keep_alive(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep, env_id: str
) -> Response:
    """Counts as activity now: a pending idle stop is cancelled."""
    gate = _gate(session, actor, env_id, "devenv.stop", write=True)
    env = service.do_keep_alive(session, access=gate)
    flash = f"Dev environment '{env.name}' was kept alive: the idle clock starts again now."
    return _answer(request, session, settings, gate, flash)


@router.post("/{env_id}/schedule", name="devenv.schedule")
def schedule(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    env_id: str,
    idle_minutes: Box = "",
    stop_at: Box = "",
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.stop", write=True)
    data = ScheduleForm(idle_minutes=idle_minutes, stop_at=stop_at).to_input()
    env = service.do_schedule(session, access=gate, data=data)
    flash = f"Saved the idle and stop settings of '{env.name}'."
    return _answer(request, session, settings, gate, flash, with_settings=True)


@router.post("/{env_id}/ports", name="devenv.expose_port")
def expose_port(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    env_id: str,
    port: Box = "",
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.start", write=True)
    data = parse(PortExpose, port=port.strip())
    service.do_expose_port(session, access=gate, port=data.port)
    flash = f"Port {data.port} is exposed at /dev/{gate.job.id}/ports/{data.port}/."
    return _answer(request, session, settings, gate, flash, with_settings=True)


@router.post("/{env_id}/image", name="devenv.make_image")
def make_image(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    env_id: str,
    name: Box = "",
    description: Box = "",
) -> Response:
    """Queue an image of the environment's installed software (spec 03 §1.7)."""
    gate = _gate(session, actor, env_id, "devenv.make_image", write=True)
    data = parse(ImageMake, name=name, description=description)
    env = service.env_row(session, gate.job)
    image = making.do_request(
        session, actor, home=settings.home, workload=gate.job, image_id=env.runtime_id,
        ide=env.ide, name=data.name, description=data.description,
    )  # fmt: skip
    flash = f"Making image {image.name}:V{image.version}: follow it on the Images page."
    return _answer(request, session, settings, gate, flash, with_settings=True)


@router.delete("/{env_id}/ports/{port}", name="devenv.unexpose_port")
def unexpose_port(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    env_id: str,
    port: int,
) -> Response:
    gate = _gate(session, actor, env_id, "devenv.start", write=True)
    service.do_unexpose_port(session, access=gate, port=port)
    return _answer(request, session, settings, gate, f"Port {port} is no longer exposed.")


def _monitor_context(session: Session, workload: Workload) -> dict[str, Any]:
    return monitor_context(session, workload, minutes=MONITOR_MINUTES)
