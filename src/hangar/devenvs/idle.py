"""Idle shutdown, decided (spec 03 §2, decision C7). Pure: the loop gathers the signals.

Activity is the newest of: proxied traffic, a busy Jupyter kernel (busy counts as *now*,
even when it prints nothing for hours), a Jupyter kernel's or terminal's last message, the
code-server heartbeat, an open SSH session (*now*), GPU utilisation at or above the
threshold (*now*), a start or a "keep alive". An environment idle for ``idle_minutes`` is
stopped; ``warning_minutes`` before that it gets a warning event (once per idle spell).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Action(StrEnum):
    NONE = "none"
    WARN = "warn"
    STOP = "stop"


@dataclass(frozen=True, kw_only=True)
class Signals:
    """What the probes saw. ``None`` / 0 / False: no such activity (or no such probe)."""

    proxy: datetime | None = None
    kernel_busy: bool = False
    kernel_last: datetime | None = None
    terminal_last: datetime | None = None
    heartbeat: datetime | None = None
    ssh_sessions: int = 0
    gpu_percent: float | None = None
    recorded: tuple[datetime | None, str] = (None, "")  # stored: start / keep alive / earlier
    notes: list[str] = field(default_factory=list)


def newest_activity(
    signals: Signals, *, now: datetime, gpu_busy_percent: int
) -> tuple[datetime | None, str]:
    """The newest activity and where it came from."""
    candidates: list[tuple[datetime | None, str]] = [
        signals.recorded,
        (signals.proxy, "proxy traffic"),
        (signals.kernel_last, "kernel activity"),
        (signals.terminal_last, "terminal activity"),
        (signals.heartbeat, "code-server heartbeat"),
    ]
    if signals.kernel_busy:
        candidates.append((now, "busy kernel"))
    if signals.ssh_sessions:
        candidates.append((now, "SSH session"))
    if signals.gpu_percent is not None and signals.gpu_percent >= gpu_busy_percent:
        candidates.append((now, f"GPU {signals.gpu_percent:.0f}% busy"))
    return _newest(candidates)


def _newest(items: Iterable[tuple[datetime | None, str]]) -> tuple[datetime | None, str]:
    best: tuple[datetime | None, str] = (None, "")
    for at, source in items:
        if at is not None and (best[0] is None or at > best[0]):
            best = (at, source)
    return best


@dataclass(frozen=True, kw_only=True)
class Verdict:
    action: Action
    idle_for: timedelta
    stops_at: datetime | None


def decide(
    *,
    idle_minutes: int | None,
    warning_minutes: float,
    last_activity: datetime | None,
    warned: bool,
    now: datetime,
) -> Verdict:
    if not idle_minutes or last_activity is None:
        return Verdict(action=Action.NONE, idle_for=timedelta(0), stops_at=None)
    idle_for = max(timedelta(0), now - last_activity)
    stops_at = last_activity + timedelta(minutes=idle_minutes)
    if now >= stops_at:
        return Verdict(action=Action.STOP, idle_for=idle_for, stops_at=stops_at)
    warn_from = stops_at - timedelta(minutes=min(warning_minutes, idle_minutes))
    if now >= warn_from and not warned:
        return Verdict(action=Action.WARN, idle_for=idle_for, stops_at=stops_at)
    return Verdict(action=Action.NONE, idle_for=idle_for, stops_at=stops_at)
