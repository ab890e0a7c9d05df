"""Turn a node directory into a :class:`NodeState` (read-only; any backend instance can).

Decision order, first match wins:

1. ``exit.json`` exists → terminal: STOPPED if a stop was requested before the end, else
   SUCCEEDED (0) or FAILED.
2. The supervisor holds its lock → RUNNING once ``workload.json`` exists, else PENDING.
3. The supervisor is gone (crashed, or the host rebooted) without an exit record:
   the workload's process group still lives → RUNNING (its exit code will not be recorded);
   the supervisor never started and the launch is recent → PENDING; otherwise STOPPED if a
   stop was requested, else LOST.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hangar.backends.local import procfs, rundir
from hangar.backends.state import AppliedLimits, LimitMechanism, NodeState, Phase


def observe_node(path: Path, *, rank: int, start_timeout_seconds: float) -> NodeState:
    node = rundir.read_json(path / rundir.NODE_RECORD) or {}
    base: dict[str, Any] = {"rank": rank, "node_name": str(node.get("node_name", ""))}
    work = rundir.read_json(path / rundir.WORKLOAD_RECORD)
    if work is not None:
        base.update(
            pid=work.get("pid"),
            pgid=work.get("pgid"),
            started_at=rundir.parse_time(work.get("started_at")),
            sandboxed=bool(work.get("sandboxed")),
            limits=_limits(work.get("limits")),
        )
    if not path.is_dir():
        return NodeState(phase=Phase.LOST, reason="node directory is missing", **base)
    finished = _from_exit(path, base)
    if finished is not None:
        return finished
    if rundir.lock_is_held(path / rundir.SUPERVISOR_LOCK):
        return NodeState(phase=Phase.RUNNING if work else Phase.PENDING, **base)
    finished = _from_exit(path, base)  # the supervisor may have just finished
    if finished is not None:
        return finished
    stopped = (path / rundir.STOP_RECORD).exists()
    supervisor = rundir.read_json(path / rundir.SUPERVISOR_RECORD)
    same_boot = supervisor is not None and supervisor.get("boot_id") == procfs.boot_id()
    if (
        work is not None
        and same_boot
        and procfs.group_alive(work.get("pgid"), work.get("pgid_ticks"))
    ):
        return NodeState(
            phase=Phase.RUNNING,
            reason="supervisor lost; the workload still runs but its exit code cannot be recorded",
            **base,
        )
    if supervisor is None and _recent(node.get("created_at"), start_timeout_seconds):
        return NodeState(phase=Phase.PENDING, **base)
    if stopped:
        return NodeState(phase=Phase.STOPPED, reason="stopped; no exit code was recorded", **base)
    why = "the host rebooted" if supervisor and not same_boot else "the supervisor vanished"
    return NodeState(phase=Phase.LOST, reason=f"{why} without recording an exit code", **base)


def _from_exit(path: Path, base: dict[str, Any]) -> NodeState | None:
    record = rundir.read_json(path / rundir.EXIT_RECORD)
    if record is None:
        return None
    code = record.get("exit_code")
    if record.get("stop_requested"):
        phase = Phase.STOPPED
    elif code == 0:
        phase = Phase.SUCCEEDED
    else:
        phase = Phase.FAILED
    reason = str(record.get("reason") or "")
    if not reason and record.get("signal") and phase is not Phase.STOPPED:
        reason = f"killed by {record['signal']}"
    return NodeState(
        phase=phase,
        exit_code=code,
        finished_at=rundir.parse_time(record.get("finished_at")),
        reason=reason,
        **base,
    )


def _limits(data: Any) -> AppliedLimits | None:
    if not isinstance(data, dict):
        return None
    return AppliedLimits(
        mechanism=LimitMechanism(data.get("mechanism", LimitMechanism.NONE)),
        cpu_millicores=int(data.get("cpu_millicores", 0)),
        memory_bytes=int(data.get("memory_bytes", 0)),
        cpus=tuple(data.get("cpus") or ()),
        cgroup=data.get("cgroup"),
        detail=str(data.get("detail", "")),
    )


def _recent(created_at: object, seconds: float) -> bool:
    created = rundir.parse_time(created_at)
    if created is None:
        return False
    return rundir.utc_now() - created < timedelta(seconds=seconds)


def is_terminal_on_disk(path: Path) -> bool:
    """True once ``exit.json`` exists: the node has no process left."""
    return (path / rundir.EXIT_RECORD).exists()
