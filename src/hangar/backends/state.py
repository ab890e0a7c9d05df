"""What a backend reports back: handles, observed states, log chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """Observed phase of one node, or of a whole run.

    PENDING: accepted, processes not started yet. RUNNING: the workload process exists.
    SUCCEEDED: exited 0. FAILED: exited non-zero (or could not start). STOPPED: ended after a
    stop() request, whatever the exit code. LOST: the backend can no longer tell what happened
    (processes gone without a recorded exit, host rebooted, run directory missing).
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    LOST = "LOST"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.STOPPED, Phase.LOST})


class LimitMechanism(StrEnum):
    """How CPU and memory limits were enforced for a node."""

    CGROUP_V2 = "cgroup-v2"
    AFFINITY_RLIMIT = "affinity+rlimit"
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class AppliedLimits:
    """The limits a node actually runs under, as recorded when it started.

    With cgroup v2, ``cpu_millicores`` is a CFS quota and ``memory_bytes`` caps the whole
    node. With affinity+rlimit, the node is pinned to ``cpus`` (whole cores) and each process
    gets ``RLIMIT_DATA = memory_bytes``. ``detail`` says why a weaker mechanism was used.
    """

    mechanism: LimitMechanism
    cpu_millicores: int
    memory_bytes: int
    cpus: tuple[int, ...] = ()
    cgroup: str | None = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class NodeState:
    """Observed state of one node (rank) of a run."""

    rank: int
    node_name: str
    phase: Phase
    exit_code: int | None = None
    pid: int | None = None
    pgid: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    sandboxed: bool | None = None
    limits: AppliedLimits | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ObservedState:
    """Observed state of a run: per node, plus the overall phase from :func:`overall_phase`.

    ``exit_code`` is 0 when every node succeeded, else the first non-zero code by rank, else
    None. ``finished`` is true only when every node is terminal (no process left).
    """

    run_id: str
    phase: Phase
    nodes: tuple[NodeState, ...]
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reason: str = ""

    @property
    def finished(self) -> bool:
        return all(n.phase.is_terminal for n in self.nodes)

    @classmethod
    def from_nodes(cls, run_id: str, nodes: Sequence[NodeState]) -> ObservedState:
        phase = overall_phase([n.phase for n in nodes])
        codes = [n.exit_code for n in nodes]
        exit_code: int | None = None
        if codes and all(c == 0 for c in codes):
            exit_code = 0
        else:
            exit_code = next((c for c in codes if c not in (None, 0)), None)
        starts = [n.started_at for n in nodes if n.started_at is not None]
        ends = [n.finished_at for n in nodes if n.finished_at is not None]
        done = all(n.phase.is_terminal for n in nodes)
        reasons = [f"node {n.rank}: {n.reason}" for n in nodes if n.reason]
        return cls(
            run_id=run_id,
            phase=phase,
            nodes=tuple(nodes),
            exit_code=exit_code,
            started_at=min(starts) if starts else None,
            finished_at=max(ends) if done and ends else None,
            reason="; ".join(reasons),
        )


def overall_phase(phases: Sequence[Phase]) -> Phase:
    """Gang semantics: one broken node breaks the run.

    Any FAILED → FAILED; else any LOST → LOST (both even while other nodes still run: the
    caller should stop() the rest); else any RUNNING → RUNNING; else any PENDING → PENDING;
    else (all terminal) any STOPPED → STOPPED; else SUCCEEDED.
    """
    for candidate in (Phase.FAILED, Phase.LOST, Phase.RUNNING, Phase.PENDING, Phase.STOPPED):
        if candidate in phases:
            return candidate
    return Phase.SUCCEEDED if phases else Phase.LOST


@dataclass(frozen=True, kw_only=True)
class LogChunk:
    """Bytes ``[offset, next_offset)`` of a node's combined stdout+stderr.

    Pass ``next_offset`` back to continue. ``complete`` is true when the node is terminal and
    nothing follows ``next_offset``: the log is whole and will not grow.
    """

    data: bytes
    offset: int
    next_offset: int
    complete: bool


@dataclass(frozen=True, kw_only=True)
class RunHandle:
    """A backend's reference to a launched run; store :meth:`to_dict` to find it again."""

    backend: str
    run_id: str
    node_count: int

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "run_id": self.run_id, "node_count": self.node_count}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunHandle:
        return cls(
            backend=str(data["backend"]),
            run_id=str(data["run_id"]),
            node_count=int(data["node_count"]),
        )
