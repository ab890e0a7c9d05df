"""Idle shutdown decided from the probes' signals (spec 03 §2, decision C7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hangar.devenvs.idle import Action, Signals, decide, newest_activity
from hangar.devenvs.states import duration_text

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(hours=3)


def verdict(signals: Signals, *, idle: int = 30, warned: bool = False) -> Action:
    last, _source = newest_activity(signals, now=NOW, gpu_busy_percent=10)
    return decide(
        idle_minutes=idle, warning_minutes=5, last_activity=last, warned=warned, now=NOW
    ).action


def test_a_busy_but_silent_kernel_keeps_the_environment() -> None:
    signals = Signals(kernel_busy=True, kernel_last=LONG_AGO, recorded=(LONG_AGO, "start"))
    assert newest_activity(signals, now=NOW, gpu_busy_percent=10) == (NOW, "busy kernel")
    assert verdict(signals) is Action.NONE


def test_an_idle_environment_is_warned_then_stopped() -> None:
    quiet = Signals(kernel_last=NOW - timedelta(minutes=26), recorded=(LONG_AGO, "start"))
    assert verdict(quiet) is Action.WARN
    assert verdict(quiet, warned=True) is Action.NONE  # one warning per idle spell
    stale = Signals(kernel_last=NOW - timedelta(minutes=31), recorded=(LONG_AGO, "start"))
    assert verdict(stale, warned=True) is Action.STOP


def test_every_signal_counts_as_activity() -> None:
    recent = NOW - timedelta(minutes=1)
    for signals in (
        Signals(proxy=recent),
        Signals(terminal_last=recent),
        Signals(heartbeat=recent),
        Signals(ssh_sessions=1),
        Signals(gpu_percent=55.0),
        Signals(recorded=(recent, "keep alive")),
    ):
        assert verdict(signals) is Action.NONE, signals


def test_a_gpu_below_the_threshold_is_idle_and_no_timeout_never_stops() -> None:
    assert verdict(Signals(gpu_percent=3.0, recorded=(LONG_AGO, "start"))) is Action.STOP
    assert verdict(Signals(recorded=(LONG_AGO, "start")), idle=0) is Action.NONE


def test_run_duration_is_normalised() -> None:
    assert duration_text(2 * 86400 + 20 * 3600 + 34 * 60 + 5) == "2 d 20 h 34 m 5 s"
    assert duration_text(59) == "59 s"
