"""Dev-environment status as spec 03 §1.3 names it, over the shared workload lifecycle.

=====================================  ===============
workload state                         status
=====================================  ===============
SUBMITTED, QUEUED, PREPARING           Starting
RUNNING, RESTARTING                    Running
STOPPING                               Stopping
STOPPED, SUCCEEDED (never started too) Not started
FAILED                                 Failed
=====================================  ===============

A created environment is a STOPPED workload with no run; "start" is the lifecycle's
``restart`` rule (a new run), so dev environments share the scheduler, the reconciler,
usage metering and crash recovery with every other kind.
"""

from __future__ import annotations

from hangar.workloads.lifecycle import State

NOT_STARTED = "Not started"
STARTING = "Starting"
RUNNING = "Running"
STOPPING = "Stopping"
FAILED = "Failed"

STATUS = {
    State.SUBMITTED: STARTING,
    State.QUEUED: STARTING,
    State.PREPARING: STARTING,
    State.RUNNING: RUNNING,
    State.RESTARTING: RUNNING,
    State.STOPPING: STOPPING,
    State.STOPPED: NOT_STARTED,
    State.SUCCEEDED: NOT_STARTED,
    State.FAILED: FAILED,
}


def status(state: str) -> str:
    return STATUS[State(state)]


def duration_text(seconds: float) -> str:
    """``2 d 20 h 34 m 5 s`` with every unit normalised (spec 03 §1.3 showed 58 h)."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    shown = [f"{n} {u}" for n, u in parts if n] + [f"{secs} s"]
    return " ".join(shown)
