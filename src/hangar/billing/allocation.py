"""Allocated and used GPU-hours (spec 09 §3.3; decision I1).

Allocated GPU-hours = Σ over time of cards allocated × hours, following allocation changes:
1 card from 1 Jan and 2 cards from 2 Jan give 1×24 + 2×24 = 72 GPU-hours over 1–2 Jan
(a closed interval of days: both days count in full). Used GPU-hours = Σ over runs of
cards × run time, a vGPU slice counting as its VRAM share of a card (I1). Callers select
what counts (successful start to stop, fault-recovery time excluded, deleted runs included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from hangar.billing.errors import invalid
from hangar.billing.money import ARITHMETIC, SECONDS_PER_HOUR, quantize, ratio
from hangar.billing.storage import day_bounds
from hangar.billing.times import as_utc, elapsed


def _require_cards(value: Decimal, *, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise invalid(field, f"must be a Decimal number of cards ≥ 0 (got {value!r})")
    return value


def _hours(cards: Decimal, start: datetime, end: datetime) -> Decimal:
    seconds = ratio(Decimal(elapsed(start, end) // timedelta(microseconds=1)), Decimal(1_000_000))
    return ratio(ARITHMETIC.multiply(cards, seconds), SECONDS_PER_HOUR)


@dataclass(frozen=True, slots=True)
class AllocationChange:
    """From ``at`` on, ``cards`` are allocated (until the next change)."""

    at: datetime
    cards: Decimal


def allocated_gpu_hours(
    changes: Iterable[AllocationChange], *, start: datetime, end: datetime
) -> Decimal:
    """Σ cards × hours over ``[start, end)``. Before the first change nothing is allocated;
    a change before ``start`` sets the level in force at ``start``. Two changes at the same
    instant: the later one in ``changes`` wins."""
    if as_utc(end, field="end") < as_utc(start, field="start"):
        raise invalid("end", f"{end.isoformat()} is before start {start.isoformat()}")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    ordered = sorted(
        (as_utc(change.at, field="changes.at"), index, change.cards)
        for index, change in enumerate(changes)
    )
    level = Decimal(0)
    cursor = start
    hours = Decimal(0)
    for changed_at, _, cards in ordered:
        _require_cards(cards, field="changes.cards")
        if changed_at >= end:
            break
        if changed_at > cursor:
            hours = ARITHMETIC.add(hours, _hours(level, cursor, changed_at))
            cursor = changed_at
        level = cards
    if end > cursor:
        hours = ARITHMETIC.add(hours, _hours(level, cursor, end))
    return hours


def allocated_gpu_hours_for_days(
    changes: Iterable[AllocationChange], *, first_day: date, last_day: date, tz: tzinfo
) -> Decimal:
    """Allocated GPU-hours over the closed range of calendar days ``first_day..last_day``."""
    if last_day < first_day:
        raise invalid("last_day", f"{last_day} is before first_day {first_day}")
    start, _ = day_bounds(first_day, tz)
    _, end = day_bounds(last_day, tz)
    return allocated_gpu_hours(changes, start=start, end=end)


@dataclass(frozen=True, slots=True)
class RunTime:
    """A run's counted time: ``cards`` (fractional for vGPU slices) over [start, end)."""

    start: datetime
    end: datetime
    cards: Decimal


def used_gpu_hours(runs: Iterable[RunTime], *, start: datetime, end: datetime) -> Decimal:
    """Σ cards × run time, clipped to ``[start, end)``."""
    start, end = as_utc(start, field="start"), as_utc(end, field="end")
    hours = Decimal(0)
    for run in runs:
        _require_cards(run.cards, field="runs.cards")
        run_start, run_end = (
            as_utc(run.start, field="runs.start"),
            as_utc(run.end, field="runs.end"),
        )
        if run_end < run_start:
            raise invalid("runs.end", f"{run.end.isoformat()} is before {run.start.isoformat()}")
        lo, hi = max(run_start, start), min(run_end, end)
        if hi > lo:
            hours = ARITHMETIC.add(hours, _hours(run.cards, lo, hi))
    return hours


def display_hours(hours: Decimal) -> str:
    """GPU-hours as shown in usage statistics: two decimals ("72.00")."""
    return f"{quantize(hours, Decimal('0.01')):f}"
