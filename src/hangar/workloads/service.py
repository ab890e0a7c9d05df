"""Workload state changes, events and usage intervals. The caller owns the transaction.

Every state change goes through :func:`do_transition`: it applies a named rule of
:mod:`hangar.workloads.lifecycle`, writes the event, and opens or closes usage intervals, so
the three can never disagree.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hangar.backends.state import RunHandle
from hangar.db.base import utcnow
from hangar.workloads.lifecycle import BY_NAME, Rule, State, transition
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload, WorkloadEvent


def do_transition(
    session: Session,
    workload: Workload,
    rule_name: str,
    *,
    message: str = "",
    run: Run | None = None,
    now: datetime | None = None,
) -> Rule:
    """Apply ``rule_name`` to the workload (and its current run), and record the event."""
    rule = transition(State(workload.state), rule_name)
    previous = workload.state
    workload.state = rule.target.value
    workload.state_reason = message or rule.description
    if run is not None:
        run.state = rule.target.value
        if rule.target.terminal:
            run.finished_at = now or utcnow()
    session.add(
        WorkloadEvent(
            workload_id=workload.id,
            run_id=run.id if run else None,
            at=now or utcnow(),
            kind="transition",
            rule=rule.name,
            from_state=previous,
            to_state=rule.target.value,
            message=message or rule.description,
        )
    )
    return rule


STOPPABLE = BY_NAME["stop"].sources | BY_NAME["stop_running"].sources


def do_stop(
    session: Session, workload: Workload, *, message: str, now: datetime | None = None
) -> None:
    """Stop a workload: at once while it waits, through the reconciler once it holds
    resources (``stop_running``). A state that cannot stop is a 409 from ``transition``."""
    if State(workload.state) in BY_NAME["stop_running"].sources:
        run = current_run(session, workload)
        do_transition(session, workload, "stop_running", run=run, message=message, now=now)
    else:
        do_transition(session, workload, "stop", message=message, now=now)


def do_note(
    session: Session,
    workload: Workload,
    kind: str,
    message: str,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """An event that is not a transition: ``alert``, ``scheduling`` (waiting reasons), ``info``."""
    session.add(
        WorkloadEvent(
            workload_id=workload.id, run_id=run_id, at=now or utcnow(), kind=kind,
            from_state=workload.state, to_state=workload.state, message=message,
        )
    )  # fmt: skip


def do_start_run(session: Session, workload: Workload, *, backend: str) -> Run:
    """A new run record for this start (spec 04 §3: every start creates a run)."""
    workload.run_count += 1
    run = Run(
        workload_id=workload.id, number=workload.run_count, state=workload.state, backend=backend
    )
    session.add(run)
    session.flush()
    return run


def current_run(session: Session, workload: Workload) -> Run | None:
    return session.scalar(
        select(Run).where(Run.workload_id == workload.id).order_by(Run.number.desc()).limit(1)
    )


def current_handle(session: Session, workload: Workload) -> RunHandle | None:
    """The backend handle of the workload's current run (its first node), if launched."""
    run = current_run(session, workload)
    if run is None:
        return None
    node = session.scalar(
        select(RunNode).where(RunNode.run_id == run.id).order_by(RunNode.rank).limit(1)
    )
    return RunHandle.from_dict(node.handle) if node and node.handle.get("run_id") else None


def usage_key(node: RunNode, segment: int) -> str:
    return f"{node.id}:{segment}"


def do_open_usage(
    session: Session,
    workload: Workload,
    run: Run,
    nodes: Iterable[RunNode],
    *,
    segment: int,
    now: datetime,
) -> None:
    """Open one usage interval per node for ``segment`` (0 at first start, +1 per resume).

    Idempotent by key: re-opening the same segment after a crash changes nothing.
    """
    for node in nodes:
        key = usage_key(node, segment)
        if session.scalar(select(UsageInterval.id).where(UsageInterval.key == key)):
            continue
        res = node.resources
        session.add(
            UsageInterval(
                key=key, run_id=run.id, workload_id=workload.id, tenant_id=workload.tenant_id,
                workspace_id=workload.workspace_id, user_id=workload.created_by,
                quota_id=workload.quota_id, node_name=node.node_name,
                gpus=int(res.get("gpus", 0)), gpu_model=str(res.get("gpu_model") or ""),
                vgpu_vram_gib=int(res.get("vgpu_vram_gib", 0)),
                gpu_milli=int(res.get("gpu_milli", 0)),
                cpu_millicores=int(res.get("cpu_millicores", 0)),
                mem_bytes=int(res.get("mem_bytes", 0)), started_at=now,
            )
        )  # fmt: skip


def do_close_usage(session: Session, run: Run, *, now: datetime) -> int:
    """Close every open interval of the run at ``now``; returns how many were closed."""
    result = session.execute(
        update(UsageInterval)
        .where(UsageInterval.run_id == run.id, UsageInterval.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def do_lease(
    session: Session, workload: Workload, *, ttl: timedelta, now: datetime | None = None
) -> str | None:
    """Take the workload's lease for a reconcile step; None while someone else holds it.

    One guarded UPDATE: of two contenders, only the one whose update matched wins.
    """
    now = now or utcnow()
    token = secrets.token_hex(8)
    result = session.execute(
        update(Workload)
        .where(
            Workload.id == workload.id,
            or_(Workload.lease_expires_at.is_(None), Workload.lease_expires_at <= now),
        )
        .values(lease_token=token, lease_expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(workload)
    return token


def do_release(session: Session, workload: Workload, token: str) -> None:
    """Give the lease back early; a stale token (lease lost) changes nothing."""
    session.execute(
        update(Workload)
        .where(Workload.id == workload.id, Workload.lease_token == token)
        .values(lease_token=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
