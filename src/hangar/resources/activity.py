"""What workloads do with a quota or queue: the real rows behind "running or queued tasks".

A task is *unfinished* while its workload's state is in ``ACTIVE`` (not terminal); it is
*queued* in SUBMITTED or QUEUED and *running* (holding resources) in the ``LIVE`` states.
Usage sums what live runs hold per node (``RunNode.resources``) and what they borrowed
(``Run.borrowed``: one amount, or one per lending quota id), with the keys ``gpus``,
``cpu_millicores``, ``mem_bytes`` and, for virtual GPUs, ``gpu_milli``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hangar.resources.schemas import Amount, Usage
from hangar.workloads.lifecycle import ACTIVE, LIVE, State
from hangar.workloads.orm import Run, RunNode, Workload

QUEUED = frozenset({State.SUBMITTED, State.QUEUED})


@dataclass(frozen=True)
class Activity:
    """Unfinished tasks of one quota or queue (optionally of one workspace)."""

    running: int
    queued: int
    largest_queued_cards: int

    @property
    def unfinished(self) -> int:
        return self.running + self.queued


def _where(*, quota_id: str | None, queue_id: str | None) -> ColumnElement[bool]:
    if quota_id is not None:
        return Workload.quota_id == quota_id
    assert queue_id is not None
    return Workload.queue_id == queue_id


def activity(
    session: Session,
    *,
    quota_id: str | None = None,
    queue_id: str | None = None,
    workspace_id: str | None = None,
) -> Activity:
    stmt = select(Workload.state, Workload.spec).where(
        _where(quota_id=quota_id, queue_id=queue_id),
        Workload.state.in_([s.value for s in ACTIVE]),
    )
    if workspace_id is not None:
        stmt = stmt.where(Workload.workspace_id == workspace_id)
    running = queued = largest = 0
    for state, spec in session.execute(stmt):
        if State(state) in QUEUED:
            queued += 1
            largest = max(largest, requested_cards(spec))
        else:
            running += 1
    return Activity(running=running, queued=queued, largest_queued_cards=largest)


def requested_cards(spec: Mapping[str, Any]) -> int:
    """Whole cards a workload asks for in total: per-node ``gpus`` × nodes.

    Reads ``spec["request"]`` (totals, as the scheduler stores them) when present, else the
    submitted per-node ``resources`` × ``node_count``.
    """
    request = spec.get("request")
    if isinstance(request, Mapping) and "gpus" in request:
        return int(request.get("gpus") or 0)
    resources = spec.get("resources")
    per_node = int(resources.get("gpus") or 0) if isinstance(resources, Mapping) else 0
    return per_node * int(spec.get("node_count") or 1)


def usage(
    session: Session, *, quota_id: str | None = None, queue_id: str | None = None, total: Amount
) -> Usage:
    """RQ12: used and borrowed per GPU / CPU / MEM, next to the total, with task counts."""
    where = _where(quota_id=quota_id, queue_id=queue_id)
    live = [s.value for s in LIVE]
    used = Amount()
    for resources in session.scalars(
        select(RunNode.resources)
        .join(Run, Run.id == RunNode.run_id)
        .join(Workload, Workload.id == Run.workload_id)
        .where(where, Workload.state.in_(live), Run.finished_at.is_(None))
    ):
        used = _plus(used, resources)
    borrowed = Amount()
    for lent in session.scalars(
        select(Run.borrowed)
        .join(Workload, Workload.id == Run.workload_id)
        .where(where, Workload.state.in_(live), Run.finished_at.is_(None))
    ):
        for amount in loans(lent or {}):
            borrowed = _plus(borrowed, amount)
    counts = dict(
        session.execute(
            select(Workload.state, func.count())
            .where(where, Workload.state.in_([s.value for s in ACTIVE]))
            .group_by(Workload.state)
        ).all()
    )
    return Usage(
        total=total,
        used=used,
        borrowed=borrowed,
        running=sum(n for st, n in counts.items() if State(st) not in QUEUED),
        queued=sum(n for st, n in counts.items() if State(st) in QUEUED),
    )


_KEYS = ("gpus", "cpu_millicores", "mem_bytes")


def loans(borrowed: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``Run.borrowed`` as amounts: one flat amount, or one amount per lending quota id."""
    if any(k in borrowed for k in _KEYS):
        return [borrowed]
    return [v for v in borrowed.values() if isinstance(v, Mapping)]


def _plus(amount: Amount, data: Mapping[str, Any]) -> Amount:
    return Amount(
        gpus=amount.gpus + int(data.get("gpus") or 0),
        gpu_milli=amount.gpu_milli + int(data.get("gpu_milli") or 0),
        cpu_millicores=amount.cpu_millicores + int(data.get("cpu_millicores") or 0),
        mem_bytes=amount.mem_bytes + int(data.get("mem_bytes") or 0),
    )
