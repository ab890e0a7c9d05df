"""The workload state machine: states, their spec display names, and the named transition
rules (ARCHITECTURE.md "The workload lifecycle", spec 04 §2). Pure: no I/O.

Every change of state goes through :func:`transition`, which returns the rule applied or
raises :class:`IllegalTransition` (a 409 for the API). Rules are data, so the docs and the
tests read the same table the code enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hangar.errors import Conflict


class State(StrEnum):
    SUBMITTED = "SUBMITTED"
    QUEUED = "QUEUED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    RESTARTING = "RESTARTING"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def display(self) -> str:
        """The spec's vocabulary (spec 04 §2, decision D1)."""
        return DISPLAY[self]

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def live(self) -> bool:
        """Holds or may soon hold resources: counts against per-user limits (spec 02 §7)."""
        return self in LIVE


DISPLAY = {
    State.SUBMITTED: "Preparing resources",
    State.QUEUED: "Queued",
    State.PREPARING: "Preparing environment",
    State.RUNNING: "Running",
    State.RESTARTING: "Resuming from checkpoint",
    State.STOPPING: "Stopping",
    State.SUCCEEDED: "Completed",
    State.FAILED: "Failed",
    State.STOPPED: "Stopped",
}
TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.STOPPED})
LIVE = frozenset({State.PREPARING, State.RUNNING, State.RESTARTING, State.STOPPING})
ACTIVE = frozenset(State) - TERMINAL


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    sources: frozenset[State]
    target: State
    description: str


def _rule(name: str, sources: set[State] | frozenset[State], target: State, text: str) -> Rule:
    return Rule(name, frozenset(sources), target, text)


RULES: tuple[Rule, ...] = (
    _rule("queue", {State.SUBMITTED}, State.QUEUED, "validated and waiting for admission"),
    _rule("admit", {State.QUEUED}, State.PREPARING, "admitted by the scheduler and placed"),
    _rule("launched", {State.PREPARING}, State.RUNNING, "the backend reports it running"),
    _rule("succeed", {State.RUNNING}, State.SUCCEEDED, "every node exited with status 0"),
    _rule(
        "fail",
        {State.PREPARING, State.RUNNING, State.RESTARTING},
        State.FAILED,
        "a node failed and no restart is left",
    ),
    _rule("fault", {State.RUNNING}, State.RESTARTING, "a node failed; restarting (D2)"),
    _rule("resume", {State.RESTARTING}, State.RUNNING, "restarted from the last checkpoint"),
    _rule("reject", {State.SUBMITTED, State.QUEUED}, State.FAILED, "cannot ever be admitted"),
    _rule(
        "stop",
        {State.SUBMITTED, State.QUEUED},
        State.STOPPED,
        "stopped by a user before it held resources",
    ),
    _rule(
        "stop_running",
        {State.PREPARING, State.RUNNING, State.RESTARTING},
        State.STOPPING,
        "stop requested; the backend is terminating it",
    ),
    _rule("stopped", {State.STOPPING}, State.STOPPED, "the backend confirmed it stopped"),
    _rule(
        "restart",
        TERMINAL,
        State.SUBMITTED,
        "started again: a new run (spec 04 §3)",
    ),
)
BY_NAME = {r.name: r for r in RULES}


class IllegalTransition(Conflict):
    """A transition the state machine does not allow; the message says what is allowed."""


def transition(current: State, rule_name: str) -> Rule:
    """The rule ``rule_name`` if it applies from ``current``; else :class:`IllegalTransition`."""
    rule = BY_NAME[rule_name]
    if current not in rule.sources:
        allowed = sorted(r.name for r in RULES if current in r.sources)
        raise IllegalTransition(
            f"cannot {rule_name.replace('_', ' ')} a workload that is {current.display.lower()} "
            f"({current.value}); allowed now: {', '.join(allowed) or 'nothing'}",
            fields={"state": current.value},
        )
    return rule
