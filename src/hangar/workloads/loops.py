"""The workload loops of a running server: scheduler cycle, then run reconciliation.

Both run in a worker thread every ``scheduler_interval_seconds``. At start the reconciler's
backend is asked for every run it still holds; runs the database no longer tracks (a crash
between launch and commit, a deleted workload) are stopped, so nothing is orphaned.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hangar.api.state import AppState
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.scheduling.loop import CycleReport, run_cycle
from hangar.workloads.lifecycle import ACTIVE
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.reconciler import RunReconciler

log = logging.getLogger("hangar.workloads")


def make_reconciler(state: AppState) -> RunReconciler:
    settings = state.settings
    api_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    return RunReconciler(state.sessions, state.backend, home=settings.home, api_url=api_url)


def scheduler_pass(state: AppState) -> CycleReport:
    with transaction(state.sessions) as session:
        return run_cycle(
            session,
            now=utcnow(),
            backend=state.backend.name,
            placement=state.settings.scheduler_placement,
        )


def stop_strays(state: AppState) -> list[str]:
    """Stop backend runs that no active workload of the database owns; returns their ids."""
    with state.sessions() as session:
        known = {
            str(handle.get("run_id"))
            for handle in session.scalars(
                select(RunNode.handle)
                .join(Run, Run.id == RunNode.run_id)
                .join(Workload, Workload.id == Run.workload_id)
                .where(Workload.state.in_([s.value for s in ACTIVE]))
            )
            if handle
        }
    strays = []
    for handle in state.backend.adopt(None):
        if handle.run_id not in known and not state.backend.poll(handle).finished:
            state.backend.stop(handle, grace_seconds=10)
            strays.append(handle.run_id)
    if strays:
        log.warning("stopped %d backend runs no workload owns: %s", len(strays), strays)
    return strays


async def workloads_forever(state: AppState, reconciler: RunReconciler) -> None:
    await run_in_threadpool(stop_strays, state)
    while True:
        try:
            await run_in_threadpool(scheduler_pass, state)
            await run_in_threadpool(reconciler.step)
        except Exception:
            log.exception("workload loop failed; retrying at the next interval")
        # Sleep until the interval ends or a submission wakes the scheduler.
        woke = await asyncio.to_thread(state.wakeup.wait, state.settings.scheduler_interval_seconds)
        if woke:
            state.wakeup.clear()
