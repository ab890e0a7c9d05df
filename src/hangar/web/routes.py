"""The console's entry points for the app factory: its error renderer and :func:`mount`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from hangar.errors import HangarError
from hangar.web.assets import STATIC_DIR, warn_if_htmx_missing
from hangar.web.errors import render_console_error
from hangar.web.pages import (
    account,
    audit,
    auth,
    billing,
    billing_policy,
    code_packages,
    costs,
    dataset_annotate,
    datasets,
    devenvs,
    groups,
    images,
    job_queue,
    jobs,
    limits,
    members,
    models,
    quotas,
    resources,
    simulator,
    tokens,
    usage,
    users,
    workspaces,
)

ROUTERS = (
    auth.router,
    workspaces.router,
    resources.router,
    quotas.router,
    devenvs.router,
    jobs.router,
    images.router,
    models.router,
    datasets.router,
    dataset_annotate.router,
    datasets.storage_router,
    code_packages.router,
    job_queue.router,
    members.router,
    users.router,
    groups.router,
    limits.router,
    tokens.router,
    audit.router,
    billing.router,
    billing_policy.router,
    usage.router,
    costs.router,
    simulator.router,
    account.router,
)


def render_error(request: Request, err: HangarError) -> Response | None:
    """Console paths get HTML errors (see :mod:`hangar.web.errors`); API paths get None."""
    return render_console_error(request, err)


def mount(app: FastAPI) -> None:
    """Attach the console's pages and static files to ``app``."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    warn_if_htmx_missing()
