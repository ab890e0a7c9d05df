"""The workload state machine: every rule, and illegal transitions as clear 409s."""

from __future__ import annotations

import pytest

from hangar.workloads.lifecycle import (
    DISPLAY,
    RULES,
    TERMINAL,
    IllegalTransition,
    State,
    transition,
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_applies_from_each_of_its_sources(rule: object) -> None:
    assert hasattr(rule, "sources")
    for source in rule.sources:  # type: ignore[attr-defined]
        assert transition(source, rule.name).target is rule.target  # type: ignore[attr-defined]


def test_documented_happy_path_uses_spec_display_names() -> None:
    path = [State.SUBMITTED]
    for name in ("queue", "admit", "launched", "succeed"):
        path.append(transition(path[-1], name).target)
    assert [s.display for s in path] == [
        "Preparing resources", "Queued", "Preparing environment", "Running", "Completed",
    ]  # fmt: skip


def test_fault_tolerant_restart_cycle() -> None:
    assert transition(State.RUNNING, "fault").target is State.RESTARTING
    assert transition(State.RESTARTING, "resume").target is State.RUNNING
    assert transition(State.RESTARTING, "fail").target is State.FAILED


def test_illegal_transition_names_state_and_allowed_rules() -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(State.SUCCEEDED, "stop_running")
    assert err.value.http_status == 409
    assert "completed (SUCCEEDED)" in err.value.message
    assert "allowed now: restart" in err.value.message


def test_terminal_states_only_restart_and_every_state_has_a_display_name() -> None:
    for state in TERMINAL:
        assert [r.name for r in RULES if state in r.sources] == ["restart"]
    assert set(DISPLAY) == set(State)
    assert not any(s.terminal for s in (State.RUNNING, State.QUEUED))
    assert State.RUNNING.live and not State.QUEUED.live
