"""The run reconciler: converges admitted workloads with what the backend observes.

One :meth:`RunReconciler.step` visits every workload that holds or is about to hold
resources (PREPARING, RUNNING, RESTARTING, STOPPING). For each it (1) takes the workload's
lease in a short transaction, (2) talks to the backend OUTSIDE any transaction (launch,
poll, stop: all idempotent), (3) applies what it saw in a second transaction guarded by the
lease token. A server killed between any two of these steps re-runs them on restart and
reaches the same result: launches are idempotent by attempt id, usage intervals by key.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hangar.assets import staging
from hangar.backends.base import Backend
from hangar.backends.spec import NodePlacement, RunSpec
from hangar.backends.state import ObservedState, Phase, RunHandle
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.tenancy import tokens
from hangar.tenancy.orm import ApiToken, User
from hangar.workloads import runspec
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.service import (
    current_run,
    do_close_usage,
    do_lease,
    do_note,
    do_open_usage,
    do_release,
    do_transition,
)

log = logging.getLogger("hangar.reconciler")

WORKING = (State.PREPARING, State.RUNNING, State.RESTARTING, State.STOPPING)
LEASE = timedelta(seconds=60)
STOP_GRACE_SECONDS = 10.0
START_WAIT_SECONDS = 2.0
RUN_TOKEN_SCOPES = ["training:read", "training:write"]


@dataclass(frozen=True)
class Work:
    """What the I/O phase needs, read in the lease transaction."""

    workload_id: str
    state: State
    token: str
    run_id: str
    attempt: str
    handle: RunHandle | None
    launch: tuple[RunSpec, list[NodePlacement]] | None  # set when a launch is due
    stages: tuple[staging.Stage, ...] = ()  # object-storage mounts to stage first
    stage_error: str = ""  # why they cannot be (the run fails with it)


class RunReconciler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        backend: Backend,
        *,
        home: Path,
        api_url: str,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.sessions, self.backend, self.home, self.api_url = sessions, backend, home, api_url
        self.stop_grace_seconds = stop_grace_seconds
        self.stager = staging.Stager()

    def step(self) -> int:
        """One pass over the working workloads; returns how many were visited."""
        with self.sessions() as session:
            ids = list(
                session.scalars(
                    select(Workload.id).where(Workload.state.in_([s.value for s in WORKING]))
                )
            )
        for workload_id in ids:
            try:
                self.reconcile(workload_id)
            except Exception:
                log.exception("reconciling workload %s failed; retrying next pass", workload_id)
        return len(ids)

    def reconcile(self, workload_id: str) -> None:
        work = self._lease(workload_id)
        if work is None:
            return
        observed: ObservedState | None = None
        handle = work.handle
        try:
            ready, failure = self._staging(work) if work.launch else (False, "")
            if work.launch is not None and ready:
                spec, places = work.launch
                runspec.make_host_dirs(spec)
                handle = self.backend.launch(spec, places)
                self._await_start(handle)
            elif failure:
                observed = ObservedState(
                    run_id=work.attempt, phase=Phase.FAILED, nodes=(), reason=failure
                )
            if handle is not None:
                if work.state is State.STOPPING:
                    self.backend.stop(handle, grace_seconds=self.stop_grace_seconds)
                observed = self.backend.poll(handle)
                if observed.phase in (Phase.FAILED, Phase.LOST) and not observed.finished:
                    self.backend.stop(handle, grace_seconds=0)  # gang: one broken node ends all
        finally:
            self._apply(work, handle, observed)

    def _staging(self, work: Work) -> tuple[bool, str]:
        """(ready to launch, why not ever): the run's object-storage mounts are staged
        first. While they are copied the workload stays PREPARING; a failed copy fails the
        run with the store's answer."""
        if work.stage_error:
            return False, work.stage_error
        try:
            return self.stager.poll(work.attempt, work.stages) is None, ""
        except staging.StagingFailed as error:
            return False, error.message

    def _await_start(self, handle: RunHandle) -> None:
        """Give a fresh launch a moment to leave PENDING, so RUNNING is recorded in this
        pass rather than the next one (submit-to-RUNNING latency)."""
        deadline = time.monotonic() + START_WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.backend.poll(handle).phase is not Phase.PENDING:
                return
            time.sleep(0.01)

    # --- phase 1: lease and read ------------------------------------------------------------
    def _lease(self, workload_id: str) -> Work | None:
        with transaction(self.sessions) as session:
            workload = session.get(Workload, workload_id)
            if workload is None or State(workload.state) not in WORKING:
                return None
            token = do_lease(session, workload, ttl=LEASE)
            run = current_run(session, workload) if token else None
            if token is None or run is None:
                return None
            nodes = _nodes(session, run)
            attempt = runspec.attempt_id(run)
            stored = nodes[0].handle if nodes else {}
            handle = RunHandle.from_dict(stored) if stored.get("run_id") == attempt else None
            launch = None
            stages: tuple[staging.Stage, ...] = ()
            stage_error = ""
            state = State(workload.state)
            if handle is None and state in (State.PREPARING, State.RESTARTING):
                secret = _issue_run_token(session, workload, run)
                spec = runspec.build_run_spec(
                    home=self.home, workload=workload, run=run, api_url=self.api_url,
                    run_token=secret,
                )  # fmt: skip
                launch = (spec, runspec.placements(nodes))
                try:
                    stages = tuple(
                        staging.plan(session, self.home, workload.spec.get("mounts") or [])
                    )
                except staging.StagingFailed as error:
                    stages, stage_error = (), error.message
            return Work(workload.id, state, token, run.id, attempt, handle, launch, stages,
                        stage_error)  # fmt: skip

    # --- phase 3: apply what was observed ---------------------------------------------------
    def _apply(self, work: Work, handle: RunHandle | None, observed: ObservedState | None) -> None:
        with transaction(self.sessions) as session:
            workload = session.get(Workload, work.workload_id)
            run = session.get(Run, work.run_id)
            if workload is None or run is None or workload.lease_token != work.token:
                return  # lease lost: someone else owns this workload now
            nodes = _nodes(session, run)
            if handle is not None:
                for node in nodes:
                    node.handle = handle.to_dict()
            if observed is not None:
                _record_nodes(nodes, observed)
                _advance(session, workload, run, nodes, observed)
            elif handle is None and State(workload.state) is State.STOPPING:
                # Stopped before this attempt was launched: nothing runs, nothing to wait for.
                now = utcnow()
                do_close_usage(session, run, now=now)
                do_transition(session, workload, "stopped", run=run, now=now)
                _revoke_run_tokens(session, run)
            do_release(session, workload, work.token)


def _nodes(session: Session, run: Run) -> list[RunNode]:
    return list(
        session.scalars(select(RunNode).where(RunNode.run_id == run.id).order_by(RunNode.rank))
    )


def _record_nodes(nodes: list[RunNode], observed: ObservedState) -> None:
    by_rank = {n.rank: n for n in observed.nodes}
    for node in nodes:
        seen = by_rank.get(node.rank)
        if seen is not None:
            node.state, node.exit_code = seen.phase.value, seen.exit_code
            node.started_at = node.started_at or seen.started_at
            node.finished_at = seen.finished_at


def _advance(
    session: Session, workload: Workload, run: Run, nodes: list[RunNode], seen: ObservedState
) -> None:
    """Move the workload along the lifecycle according to what the backend saw."""
    now = utcnow()
    state = State(workload.state)
    phase = seen.phase
    started_ever = phase in (Phase.RUNNING, Phase.SUCCEEDED) or seen.started_at is not None
    if state in (State.PREPARING, State.RESTARTING) and phase is not Phase.PENDING and started_ever:
        # It ran, however briefly: record the start (and its usage) before any outcome.
        rule = "launched" if state is State.PREPARING else "resume"
        started = seen.started_at or now
        run.started_at = run.started_at or started
        do_transition(session, workload, rule, run=run, now=now)
        if rule == "resume":
            do_note(session, workload, "alert", f"resumed after fault (restart {run.restarts})",
                    run_id=run.id)  # fmt: skip
        do_open_usage(session, workload, run, nodes, segment=run.restarts, now=started)
        state = State.RUNNING
    if state is State.RUNNING and phase is Phase.SUCCEEDED and seen.finished:
        do_close_usage(session, run, now=seen.finished_at or now)
        run.exit_code = 0
        do_transition(session, workload, "succeed", run=run, now=now)
        do_note(session, workload, "alert", "completed", run_id=run.id)
        _revoke_run_tokens(session, run)
    elif state is State.STOPPING and seen.finished:
        do_close_usage(session, run, now=seen.finished_at or now)
        run.exit_code = seen.exit_code
        do_transition(session, workload, "stopped", run=run, now=now)
        _revoke_run_tokens(session, run)
    elif (
        phase in (Phase.FAILED, Phase.LOST, Phase.STOPPED)
        and state is not State.STOPPING
        and seen.finished
    ):
        _on_failure(session, workload, run, seen, now)


def _on_failure(
    session: Session, workload: Workload, run: Run, seen: ObservedState, now: datetime
) -> None:
    """A node failed: restart within the policy (decision D2), else the workload fails.

    Usage stops at the failure and restarts at the resume: recovery time is not metered
    (spec 04 §5.6).
    """
    do_close_usage(session, run, now=seen.finished_at or now)
    run.exit_code = seen.exit_code
    policy = workload.spec.get("restart", {})
    reason = seen.reason or f"exit code {seen.exit_code}"
    state = State(workload.state)
    can_restart = (
        policy.get("fault_tolerance", False)
        and run.restarts < int(policy.get("max_restarts_per_error", 3))
        and state is State.RUNNING
    )
    if can_restart:
        do_note(session, workload, "alert", f"task abnormal: {reason}; resuming from the last "
                "checkpoint", run_id=run.id)  # fmt: skip
        do_transition(session, workload, "fault", run=run, now=now, message=reason)
        run.restarts += 1
        workload.restart_count += 1
        return
    do_note(session, workload, "alert", f"task abnormal: {reason}", run_id=run.id)
    do_transition(session, workload, "fail", run=run, now=now, message=reason)
    _revoke_run_tokens(session, run)


def _issue_run_token(session: Session, workload: Workload, run: Run) -> str:
    """A token for the workload to call the API as its owner, narrowed to training scopes."""
    owner = session.get(User, workload.created_by) if workload.created_by else None
    if owner is None:
        return ""
    _token, secret = tokens.do_create_token(
        session, user=owner, name=f"run:{run.id}"[:64], scopes=RUN_TOKEN_SCOPES,
        expires_in_days=30,
    )  # fmt: skip
    return secret


def _revoke_run_tokens(session: Session, run: Run) -> None:
    now = utcnow()
    for token in session.scalars(
        select(ApiToken).where(ApiToken.name == f"run:{run.id}"[:64], ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now
