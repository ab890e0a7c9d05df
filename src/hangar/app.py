"""Composition root: settings → engine → migrations → first start → the ASGI app.

Everything process-wide is built here and handed to the app as :class:`AppState`; nothing
else in the code base opens engines or reads settings on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hangar import __version__
from hangar.api import errors
from hangar.api.health import router as health_router
from hangar.api.middleware import AuditTrail, BodyLimit, SecurityHeaders
from hangar.api.state import AppState
from hangar.assets import code_packages, resumable
from hangar.assets.annotated import do_recover_imports, sweep_staging
from hangar.assets.code_routes import router as code_routes
from hangar.assets.confidential_audit import ConfidentialAudit
from hangar.assets.dataset_routes import router as dataset_routes
from hangar.assets.dataset_routes import storage_router
from hangar.assets.model_aliases import router as model_alias_routes
from hangar.assets.model_routes import router as model_routes
from hangar.assets.model_transfer_routes import router as model_transfer_routes
from hangar.assets.model_upload_routes import router as model_upload_routes
from hangar.audit.routes import router as audit_router
from hangar.audit.service import do_prune
from hangar.backends.local.backend import LocalBackend
from hangar.backends.local.config import LocalBackendConfig
from hangar.billing.allocation_history import record_allocations
from hangar.billing.costing_router import router as costing_routes
from hangar.billing.router import router as billing_routes
from hangar.billing.settlement import Settler
from hangar.billing.storage_settlement import StorageBilling
from hangar.billing.usage_router import router as usage_routes
from hangar.billing.watch import WalletWatch
from hangar.config import Settings
from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.db.migrate import upgrade
from hangar.devenvs.gateway import gateway as devenv_gateway
from hangar.devenvs.loop import DevEnvLoop
from hangar.devenvs.router import devenvs as devenv_routes
from hangar.devenvs.router import idle_policies
from hangar.devenvs.tools import code_server_path
from hangar.images.making import ImageBuilder
from hangar.images.routes import images as image_routes
from hangar.images.service import ensure_presets
from hangar.jobs import router as job_routes
from hangar.proxy import ProxyPool
from hangar.resources.inventory import sync_inventory
from hangar.resources.routes import clusters as cluster_routes
from hangar.resources.routes import queues as queue_routes
from hangar.resources.routes import quotas as quota_routes
from hangar.scheduling.simulate.router import router as simulation_routes
from hangar.tenancy import auth
from hangar.tenancy.orm import Tenant
from hangar.tenancy.routes import auth as auth_routes
from hangar.tenancy.routes import groups, tenants, tokens, users, workspaces
from hangar.tenancy.routes import settings as tenant_settings
from hangar.tenancy.tenants import FirstStart, ensure_first_start
from hangar.web import routes as web
from hangar.workloads.loops import make_reconciler, workloads_forever

log = logging.getLogger("hangar")


def build_state(settings: Settings) -> tuple[AppState, FirstStart | None]:
    """Open the database, migrate it to head and run the first start if it is empty."""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    backend = make_backend(settings)
    state = AppState(
        settings=settings, engine=engine, sessions=make_session_factory(engine), backend=backend
    )
    with transaction(state.sessions) as session:
        first = ensure_first_start(
            session,
            admin_username=settings.admin_username,
            admin_password=settings.admin_password,
            tenant_name=settings.first_tenant_name,
        )
        ensure_presets(session)
        # Allocations made before the history existed (or while it could not be written)
        # are recorded now; a level already recorded adds nothing.
        for tenant_id in session.scalars(select(Tenant.id)):
            record_allocations(session, tenant_id=tenant_id, reason="startup")
        # Dataset imports a killed server left half-way can be imported again.
        do_recover_imports(session)
        code_packages.do_recover_imports(session)
    sweep_staging(settings.home)
    resumable.sweep(settings.home)
    sync_local_inventory(state)
    return state, first


def make_backend(settings: Settings) -> LocalBackend:
    """The embedded local backend; its run directories live under ``HANGAR_HOME/backend``."""
    code_server = code_server_path(settings)
    backend = LocalBackend(
        LocalBackendConfig(
            state_dir=settings.home / "backend",
            sandbox=settings.sandbox,
            declared_gpus=settings.declared_gpus,
            hidden_paths=[settings.home],
            # code-server's install (node_modules) is shown read-only to dev environments.
            runtime_paths=[code_server.parents[2]] if code_server else [],
        )
    )
    if not backend.isolation_enabled:
        log.warning("workload isolation is OFF: %s", backend.isolation_reason)
    return backend


def sync_local_inventory(state: AppState) -> None:
    """Record this host as the local backend sees it: its CPUs, memory, discovered GPUs and
    the GPUs declared in the settings (labelled DECLARED)."""
    with transaction(state.sessions) as session:
        sync_inventory(session, state.backend.inventory(), backend="local")


def first_start_banner(settings: Settings, first: FirstStart) -> str:
    url = settings.public_url or f"http://{settings.host}:{settings.port}"
    password = first.password or "(the one in HANGAR_ADMIN_PASSWORD)"
    return (
        "\n  Hangar first start: created the platform admin and tenant "
        f"'{first.tenant.name}'.\n"
        f"    console:   {url}/\n"
        f"    username:  {first.admin.username}\n"
        f"    password:  {password}\n"
        f"    CLI:       hangar login --server {url} --username {first.admin.username}\n"
        "  The password is shown once and stored only as a hash. Change it on the console's\n"
        "  Account page or with `hangar passwd`.\n"
    )


def housekeeping(state: AppState) -> None:
    """One pass: audit records past retention, expired sessions, stale login failures, and a
    fresh look at this host's inventory (GPUs that vanished are marked unhealthy)."""
    settings = state.settings
    sync_local_inventory(state)
    retention = timedelta(days=settings.audit_retention_days)
    with transaction(state.sessions) as session:
        records = do_prune(session, retention=retention)
        sessions, failures = auth.do_prune_stale(
            session, failure_window=timedelta(minutes=settings.login_lockout_minutes)
        )
    if records or sessions or failures:
        log.info(
            "housekeeping: deleted %d audit records older than %s, %d expired sessions, "
            "%d stale login failures", records, retention, sessions, failures,
        )  # fmt: skip


async def every(seconds: Callable[[], float], step: Callable[[], object], what: str) -> None:
    """Run ``step`` in a worker thread now and then every ``seconds()``; a failure is logged
    and retried at the next interval (the loops converge state, so a retry is safe)."""
    while True:
        try:
            await run_in_threadpool(step)
        except Exception:
            log.exception("%s failed; retrying at the next interval", what)
        await asyncio.sleep(seconds())


def background_loops(state: AppState) -> dict[str, Coroutine[Any, Any, None]]:
    """The server's loops by name (besides the workload loops): housekeeping (audit
    retention, sessions, inventory), the dev-environment loop (idle and scheduled stops,
    monitoring, cache retention), the image builder ("make image"), billing settlement with
    the wallet watch (alerts, exhausted policy) and storage billing (samples, daily lines)."""
    settings = state.settings
    devenvs = DevEnvLoop(state.sessions, state.backend, settings, proxy_activity=state.activity.get)
    builder = ImageBuilder(state.sessions, settings.home)
    settler = Settler(state.sessions)
    confidential = ConfidentialAudit(state.sessions, state.backend)
    watch = WalletWatch(state.sessions)
    storage = StorageBilling(
        state.sessions, settings.home, postpaid_free_gb=settings.billing_storage_postpaid_free_gb
    )

    def settle_and_watch() -> None:
        settler.step()
        watch.step()

    return {
        "housekeeping": every(
            lambda: settings.audit_prune_interval_seconds, lambda: housekeeping(state),
            "housekeeping",
        ),
        "devenvs": every(
            lambda: settings.devenv_loop_seconds, devenvs.step, "dev-environment loop"
        ),
        "images": every(lambda: settings.devenv_loop_seconds, builder.step, "image builder"),
        "billing": every(
            lambda: settings.billing_settle_seconds, settle_and_watch, "billing settlement"
        ),
        "storage": every(
            lambda: settings.billing_storage_sample_seconds, storage.step, "storage billing"
        ),
        "confidential-audit": every(
            lambda: settings.devenv_loop_seconds, confidential.step, "confidential audit"
        ),
    }  # fmt: skip


def create_app(settings: Settings, state: AppState | None = None) -> FastAPI:
    if state is None:
        state, first = build_state(settings)
        if first is not None:
            print(first_start_banner(settings, first), flush=True)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.proxy = ProxyPool()
        tasks = [
            asyncio.create_task(workloads_forever(state, make_reconciler(state)), name="workloads"),
            *(
                asyncio.create_task(loop, name=name)
                for name, loop in background_loops(state).items()
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.proxy.aclose()
            state.engine.dispose()

    app = FastAPI(
        title="Hangar",
        version=__version__,
        summary="Self-hosted AI compute platform API",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the console links /openapi.json instead
        redoc_url=None,
    )
    app.state.hangar = state
    errors.install(app, html=web.render_error)
    for router in (
        health_router, auth_routes.router, users.router, groups.router, tenant_settings.router,
        workspaces.router, tokens.router, tenants.router, audit_router, cluster_routes.router,
        quota_routes.router, queue_routes.router, job_routes.router, devenv_routes,
        idle_policies, image_routes, devenv_gateway, billing_routes, usage_routes, costing_routes,
        simulation_routes, model_upload_routes, model_routes, model_transfer_routes,
        model_alias_routes, code_routes, dataset_routes, storage_router,
    ):  # fmt: skip
        app.include_router(router)
    web.mount(app)
    # Added innermost first: the body limit is outermost, the audit sees final statuses.
    app.add_middleware(AuditTrail, state=state)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=state.settings.max_body_bytes)
    return app
