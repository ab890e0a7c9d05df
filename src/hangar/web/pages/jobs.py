"""Training jobs in the console: the list, the create form (and copy), the detail page with
runs, events and live logs, and stop / restart / delete.

Same gates, services and route names as ``/api/v1/jobs``. Logs poll with htmx every 2 s
while the node may still write; each answer appends text and replaces the poller with the
next offset (out of band), and the poller stops once the log is complete.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, app_state
from hangar.assets.code_routes import training_draft
from hangar.config import Settings
from hangar.jobs import logs, reads, service
from hangar.jobs.access import (
    JobAccess,
    access_job,
    access_workspace_for_create,
    can,
    visible_jobs,
)
from hangar.jobs.options import caps_of, form_options
from hangar.jobs.schemas import JobRead, LogChunkRead
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Workspace
from hangar.web.chrome import Chrome, PageChrome
from hangar.web.pages.job_form import JobForm, form_of
from hangar.web.pages.mount_picker import mountable
from hangar.web.templating import render
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Workload
from hangar.workloads.service import STOPPABLE

router = APIRouter(prefix="/jobs", include_in_schema=False)
Box = Annotated[str, Form()]
STATES = list(State)
ACTIONS = {"stop": "training.stop", "restart": "training.start", "copy": "training.copy",
           "delete": "training.delete"}  # fmt: skip


@router.get("")
def list_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    workspace_id: Annotated[str, Query(max_length=64)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    name: Annotated[str, Query(max_length=200)] = "",
    mine: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    if not workspace_id and chrome.workspace_or_first is None:
        return render(request, "jobs/list.html", {"chrome": chrome, "ws": None})
    ws = chrome.chosen_workspace(
        workspace_id, lambda ref: access_workspace_for_create(session, actor, ref)
    )
    where = [visible_jobs(session, actor), Workload.workspace_id == ws.id]
    if state in State.__members__:
        where.append(Workload.state == state)
    if name:
        where.append(Workload.name.contains(name, autoescape=True))
    if mine:
        where.append(Workload.created_by == actor.id)
    page = reads.list_page(session, where, limit=200, offset=0)
    context = {
        "chrome": dataclasses.replace(chrome, current_workspace=ws), "ws": ws, "page": page,
        "states": STATES, "filters": {"state": state, "name": name, "mine": mine},
    }  # fmt: skip
    return render(request, "jobs/list.html", context)


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    chrome: Chrome,
    ws: Workspace,
    form: JobForm,
    settings: Settings,
    copy_of: JobRead | None = None,
) -> Response:
    options = form_options(session, actor=actor, ws=ws, caps=caps_of(settings))
    context = {
        "chrome": dataclasses.replace(chrome, current_workspace=ws), "ws": ws,
        "options": options, "form": form, "copy_of": copy_of,
        "mountable": mountable(session, actor, ws),
    }  # fmt: skip
    return render(request, "jobs/new.html", context)


@router.get("/new")
def new_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    settings: SettingsDep,
    workspace_id: Annotated[str, Query(max_length=64)] = "",
    code: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The create form; ``?code=<package>`` is the code package's "Start training"."""
    ws = chrome.chosen_workspace(
        workspace_id, lambda ref: access_workspace_for_create(session, actor, ref)
    )
    access_workspace_for_create(session, actor, ws.id)
    form = JobForm(workspace_id=ws.id)
    if code:
        draft = training_draft(session, actor, code)
        form = dataclasses.replace(form, name=draft.name, command=draft.command or "",
                                   mounts=[f"code:{code}"])  # fmt: skip
    return _form_page(request, session, actor, chrome, ws, form, settings)


@router.get("/{job_id}/copy")
def copy_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    settings: SettingsDep,
    job_id: str,
) -> Response:
    """Copy (spec 04 §3): the create form with this job's inputs, editable before submit."""
    gate = access_job(session, actor, job_id, "training.copy", write=True)
    form = form_of(service.copy_input(gate.job))
    copy_of = reads.detail(session, gate.job)
    return _form_page(request, session, actor, chrome, gate.workspace, form, settings, copy_of)


@router.post("", name="training.create")
def create(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    background: BackgroundTasks,
    workspace_id: Box = "", name: Box = "", description: Box = "", command: Box = "",
    mode: Box = "ddp", worker_count: Box = "1", procs_per_node: Box = "", pool_id: Box = "",
    resource_kind: Box = "spec", spec_id: Box = "", cpu_cores: Box = "", mem_gib: Box = "",
    gpus: Box = "0", gpu_model: Box = "", image: Box = "", env: Box = "",
    fault_tolerance: Box = "", max_restarts_per_error: Box = "3", restart_scope: Box = "job",
    on_exhausted: Box = "fail", mount: Annotated[list[str] | None, Form()] = None,
) -> Response:  # fmt: skip
    form = JobForm(
        workspace_id=workspace_id, name=name, description=description, command=command,
        mode=mode, worker_count=worker_count, procs_per_node=procs_per_node, pool_id=pool_id,
        resource_kind=resource_kind, spec_id=spec_id, cpu_cores=cpu_cores, mem_gib=mem_gib,
        gpus=gpus, gpu_model=gpu_model, image=image, env=env, fault_tolerance=fault_tolerance,
        max_restarts_per_error=max_restarts_per_error, restart_scope=restart_scope,
        on_exhausted=on_exhausted, mounts=mount or [],
    )  # fmt: skip
    ws = access_workspace_for_create(session, actor, workspace_id)
    data = form.to_input(default_workspace=ws.is_default)
    job = service.do_create_job(
        session, actor=actor, data=data, settings=app_state(request).settings, source="console"
    )
    background.add_task(app_state(request).wake_scheduler)
    return Response(headers={"HX-Redirect": f"/jobs/{job.id}"})


def _detail_context(
    request: Request, session: Session, gate: JobAccess, run_id: str, node: int
) -> dict[str, Any]:
    job = reads.detail(session, gate.job)
    run = next((r for r in job.runs if r.id == run_id), job.runs[0] if job.runs else None)
    chunk: LogChunkRead | None = None
    if run is not None and any(n.rank == node for n in run.nodes):
        target = logs.log_target(session, job=gate.job, run_id=run.id, node=node, attempt=None)
        chunk = logs.read_chunk(app_state(request).backend, target, offset=0)
    return {
        "job": job, "run": run, "node": node, "chunk": chunk,
        "allowed": {a for a, point in ACTIONS.items()
                    if can(gate.actor, point, gate.roles, gate.job)},
        "may_stop": State(job.state) in STOPPABLE,
        "may_restart": State(job.state).terminal,
        "job_terminal": State(job.state).terminal,
    }  # fmt: skip


@router.get("/{job_id}")
def detail_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    chrome: PageChrome,
    job_id: str,
    run: Annotated[str, Query(max_length=16)] = "",
    node: Annotated[int, Query(ge=0, le=1024)] = 0,
) -> Response:
    gate = access_job(session, actor, job_id, "training.view", write=False)
    context = _detail_context(request, session, gate, run, node)
    chrome = dataclasses.replace(chrome, current_workspace=gate.workspace)
    return render(request, "jobs/detail.html", {"chrome": chrome, **context})


def _answer(request: Request, session: Session, gate: JobAccess, flash: str) -> Response:
    context = _detail_context(request, session, gate, "", 0)
    return render(request, "jobs/_job.html", {**context, "flash": flash})


@router.get("/{job_id}/section")
def job_section(
    request: Request, session: SessionDep, actor: CurrentActor, job_id: str
) -> Response:
    """The job's facts, runs and events (the detail page reloads them while it runs)."""
    gate = access_job(session, actor, job_id, "training.view", write=False)
    return render(request, "jobs/_job.html", _detail_context(request, session, gate, "", 0))


@router.get("/{job_id}/logs-section")
def logs_section(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    job_id: str,
    run: Annotated[str, Query(max_length=16)] = "",
    node: Annotated[int, Query(ge=0, le=1024)] = 0,
) -> Response:
    """The logs card: before the first run it reloads itself until there is a log."""
    gate = access_job(session, actor, job_id, "common.logs", write=False)
    return render(request, "jobs/_logs.html", _detail_context(request, session, gate, run, node))


@router.post("/{job_id}/stop", name="training.stop")
def stop(request: Request, session: SessionDep, actor: CurrentActor, job_id: str) -> Response:
    gate = access_job(session, actor, job_id, "training.stop", write=True, lock=True)
    job = service.do_stop(session, access=gate)
    state = State(job.state)
    return _answer(request, session, gate, f"Job '{job.name}' is {state.display.lower()}.")


@router.post("/{job_id}/restart", name="training.restart")
def restart(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    background: BackgroundTasks,
    job_id: str,
) -> Response:
    gate = access_job(session, actor, job_id, "training.start", write=True, lock=True)
    job = service.do_restart(session, access=gate)
    background.add_task(app_state(request).wake_scheduler)
    return _answer(request, session, gate, f"Job '{job.name}' was submitted again.")


@router.delete("/{job_id}", name="training.delete")
def delete(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    background: BackgroundTasks,
    job_id: str,
) -> Response:
    gate = access_job(session, actor, job_id, "training.delete", write=True, lock=True)
    handles = service.do_delete(session, access=gate)
    background.add_task(logs.forget, app_state(request).backend, handles)
    return Response(headers={"HX-Redirect": f"/jobs?workspace_id={gate.workspace.id}"})


@router.get("/{job_id}/log")
def log_chunk(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    job_id: str,
    run: Annotated[str, Query(max_length=16)],
    node: Annotated[int, Query(ge=0, le=1024)] = 0,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The text after ``offset`` and the next poller (the htmx live log)."""
    gate = access_job(session, actor, job_id, "common.logs", write=False)
    target = logs.log_target(session, job=gate.job, run_id=run, node=node, attempt=None)
    chunk = logs.read_chunk(app_state(request).backend, target, offset=offset)
    context = {"job_id": job_id, "run_id": run, "node": node, "chunk": chunk}
    return render(request, "jobs/_log_chunk.html", context)
