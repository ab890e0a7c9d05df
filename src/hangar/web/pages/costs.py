"""What is costing me now: everything accruing charges, its rate per hour, a stop button.

The same service and scopes as ``/api/v1/costs``: ``me`` for everyone, a workspace for its
admins, the tenant for tenant admins. Stop goes through the job or dev-environment gate and
stop service (the same matrix points as their own pages), then answers the section again;
the section reloads itself every 15 s, and every 3 s while something is stopping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep
from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.costing import what_costs
from hangar.billing.costing_model import KINDS
from hangar.billing.costing_router import costs_read
from hangar.config import Settings
from hangar.devenvs import service as devenvs
from hangar.errors import NotFound
from hangar.jobs import service as jobs
from hangar.jobs.access import access_job
from hangar.tenancy.access import Actor
from hangar.tenancy.matrix import Role
from hangar.tenancy.workspaces import list_workspaces, roles_by_workspace
from hangar.web.chrome import PageChrome
from hangar.web.templating import render

router = APIRouter(prefix="/costs", include_in_schema=False)
Box = Annotated[str, Form()]
ScopeQuery = Annotated[str, Query(max_length=16)]
WorkspaceQuery = Annotated[str, Query(max_length=200)]
LABELS = {"job": "job", "devenv": "dev environment"}


def _scopes(session: Session, actor: Actor) -> dict[str, Any]:
    """What the scope switch offers: the workspaces the caller administers, the tenant."""
    held = roles_by_workspace(session, actor=actor)
    admin_of = [
        ws
        for ws in list_workspaces(session, actor=actor)
        if actor.is_tenant_admin or Role.ADMIN in held.get(ws.id, set())
    ]
    return {"admin_of": admin_of, "tenant_admin": actor.is_tenant_admin}


def _section(
    session: Session,
    actor: Actor,
    settings: Settings,
    *,
    scope: str,
    workspace: str,
    flash: str = "",
) -> dict[str, Any]:
    view = what_costs(
        session, actor, scope=scope or "me", workspace_id=workspace or None,
        now=datetime.now(UTC), catalog=DEFAULT_CATALOG,
        cache_retention_days=settings.devenv_cache_retention_days,
        postpaid_free_gb=settings.billing_storage_postpaid_free_gb,
    )  # fmt: skip
    costs = costs_read(view)
    stopping = any(i.state == "STOPPING" for i in costs.items)
    return {
        "costs": costs, "scope": costs.scope, "workspace": workspace, "flash": flash,
        "poll": "3s" if stopping else "15s",
    }  # fmt: skip


@router.get("")
def list_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    chrome: PageChrome,
    scope: ScopeQuery = "me",
    workspace: WorkspaceQuery = "",
) -> Response:
    context = _section(session, actor, settings, scope=scope, workspace=workspace)
    return render(
        request,
        "costs/list.html",
        {"chrome": chrome, **context, **_scopes(session, actor)},
    )


@router.get("/section")
def section(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    scope: ScopeQuery = "me",
    workspace: WorkspaceQuery = "",
) -> Response:
    """The table and totals again (it reloads itself)."""
    context = _section(session, actor, settings, scope=scope, workspace=workspace)
    return render(request, "costs/_section.html", context)


@router.post("/{kind}/{item_id}/stop", name="costs.stop")
def stop(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    kind: str,
    item_id: str,
    scope: Box = "me",
    workspace: Box = "",
) -> Response:
    """Stop a job or a dev environment through its own gate and stop service."""
    found = next(((k, v) for k, v in KINDS.items() if v.name == kind), None)
    if found is None:
        raise NotFound(f"nothing called a '{kind}' can be stopped here", kind="item", id=item_id)
    workload_kind, spec = found
    label = LABELS[spec.name]
    gate = access_job(
        session, actor, item_id, spec.stop_point, write=True, lock=True, kind=workload_kind,
        label=label,
    )  # fmt: skip
    if spec.name == "job":
        jobs.do_stop(session, access=gate)
    else:
        devenvs.do_stop(session, workload=gate.job, who=actor.user.username)
    session.flush()
    flash = f"Stopping {label} {gate.job.name}: it is billed until its backend confirms."
    context = _section(session, actor, settings, scope=scope, workspace=workspace, flash=flash)
    return render(request, "costs/_section.html", context)
