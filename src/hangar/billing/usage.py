"""Used GPU-hours per workspace × card model and per user (spec 09 §3.3, decision I1).

Pure arithmetic over usage intervals: no database, no clock. An interval counts
``gpus + gpu_milli/1000`` cards (a vGPU slice is its share of a card) for the hours it
overlaps the range. Intervals exclude queued time and fault recovery by construction and
outlive deleted workloads, so deleted work is counted (spec 09 §3.3 FAQ). An open interval
counts up to ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from hangar.billing.errors import invalid

MAX_RANGE_DAYS = 180
DEFAULT_RANGE_DAYS = 7
CENT = Decimal("0.01")
_SECONDS_PER_HOUR = Decimal(3600)


class Interval(Protocol):
    """What the aggregation reads from a usage interval (``UsageInterval`` fits)."""

    @property
    def workspace_id(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def gpus(self) -> int: ...
    @property
    def gpu_milli(self) -> int: ...
    @property
    def gpu_model(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class DayRange:
    """Whole UTC days ``first``..``last``, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last day: the range is ``[start, end)``."""
        return datetime(self.last.year, self.last.month, self.last.day, tzinfo=UTC) + timedelta(
            days=1
        )


def check_range(*, first: date | None, last: date | None, today: date) -> DayRange:
    """The requested days, defaulting to the last 7 (today included); refuses a range that
    ends in the future, ends before it starts, or starts more than 180 days ago."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if last > today:
        raise invalid("end", f"must not be in the future (got {last}, today is {today} UTC)")
    if first > last:
        raise invalid("start", f"must not be after end (got start {first}, end {last})")
    earliest = today - timedelta(days=MAX_RANGE_DAYS - 1)
    if first < earliest:
        raise invalid(
            "start",
            f"must be within the last {MAX_RANGE_DAYS} days, i.e. on or after {earliest} "
            f"(got {first})",
        )
    return DayRange(first=first, last=last)


def cards(interval: Interval) -> Decimal:
    """Whole cards plus the vGPU share: 455 thousandths is 0.455 of a card."""
    return Decimal(interval.gpus) + Decimal(interval.gpu_milli) / 1000


def gpu_hours(interval: Interval, days: DayRange, *, now: datetime) -> Decimal:
    """Exact GPU-hours of one interval inside the range (open intervals end at ``now``)."""
    lo = max(interval.started_at, days.start)
    hi = min(interval.ended_at or now, days.end, now)
    if hi <= lo:
        return Decimal(0)
    seconds = (hi - lo) // timedelta(microseconds=1)
    return cards(interval) * Decimal(seconds) / 1_000_000 / _SECONDS_PER_HOUR


@dataclass(frozen=True)
class WorkspaceUsage:
    workspace_id: str
    gpu_model: str
    gpu_hours: Decimal


@dataclass(frozen=True)
class UserUsage:
    user_id: str | None
    gpu_hours: Decimal


def by_workspace(
    intervals: Iterable[Interval], days: DayRange, *, now: datetime
) -> list[WorkspaceUsage]:
    """Exact used GPU-hours per (workspace, card model), sorted; zero rows left out."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for i in intervals:
        if cards(i):
            sums[(i.workspace_id, i.gpu_model)] += gpu_hours(i, days, now=now)
    return [WorkspaceUsage(ws, model, h) for (ws, model), h in sorted(sums.items()) if h]


def by_user(intervals: Iterable[Interval], days: DayRange, *, now: datetime) -> list[UserUsage]:
    """Exact used GPU-hours per user (``None``: the user was deleted), zero rows left out."""
    sums: dict[str | None, Decimal] = defaultdict(Decimal)
    for i in intervals:
        if cards(i):
            sums[i.user_id] += gpu_hours(i, days, now=now)
    return [UserUsage(u, h) for u, h in sorted(sums.items(), key=lambda x: x[0] or "") if h]


def rounded(value: Decimal) -> Decimal:
    """For display: half up to 0.01, once, after summing exact values."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
