"""Allocated and used GPU-hours (spec 09 §3.3; I1) beyond the worked example."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hangar.billing.allocation import (
    AllocationChange,
    RunTime,
    allocated_gpu_hours,
    allocated_gpu_hours_for_days,
    display_hours,
    used_gpu_hours,
)
from hangar.errors import ValidationFailed
from tests.billing.factories import CST, at


def test_the_level_before_the_window_carries_in_and_later_changes_are_ignored() -> None:
    changes = [
        AllocationChange(at(1, 2, 12), Decimal(4)),  # after the window
        AllocationChange(at(12, 30, year=2024), Decimal(3)),
    ]
    assert allocated_gpu_hours(changes, start=at(1, 1), end=at(1, 2)) == Decimal(72)


def test_no_changes_means_nothing_allocated() -> None:
    assert allocated_gpu_hours([], start=at(1, 1), end=at(1, 2)) == Decimal(0)


def test_changes_at_the_same_instant_last_one_wins() -> None:
    changes = [AllocationChange(at(1, 1), Decimal(5)), AllocationChange(at(1, 1), Decimal(1))]
    assert allocated_gpu_hours(changes, start=at(1, 1), end=at(1, 2)) == Decimal(24)


def test_changes_in_any_order() -> None:
    changes = [
        AllocationChange(at(1, 1, 12), Decimal(0)),
        AllocationChange(at(1, 1), Decimal(2)),
    ]
    assert allocated_gpu_hours(changes, start=at(1, 1), end=at(1, 2)) == Decimal(24)


def test_days_follow_the_zone_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    changes = [AllocationChange(datetime(2025, 3, 1, tzinfo=berlin), Decimal(1))]
    hours = allocated_gpu_hours_for_days(
        changes, first_day=date(2025, 3, 30), last_day=date(2025, 3, 30), tz=berlin
    )
    assert hours == Decimal(23)  # the day clocks go forward


def test_bad_input() -> None:
    with pytest.raises(ValidationFailed) as err:
        allocated_gpu_hours([AllocationChange(at(1, 1), Decimal(-1))], start=at(1, 1), end=at(1, 2))
    assert err.value.fields == {
        "changes.cards": "must be a Decimal number of cards ≥ 0 (got Decimal('-1'))"
    }
    with pytest.raises(ValidationFailed, match=r"end: .* is before start"):
        allocated_gpu_hours([], start=at(1, 2), end=at(1, 1))
    with pytest.raises(
        ValidationFailed, match="last_day: 2025-01-01 is before first_day 2025-01-02"
    ):
        allocated_gpu_hours_for_days(
            [], first_day=date(2025, 1, 2), last_day=date(2025, 1, 1), tz=CST
        )
    with pytest.raises(ValidationFailed, match="start: must be a timezone-aware"):
        allocated_gpu_hours([], start=datetime(2025, 1, 1), end=at(1, 2))


def test_used_gpu_hours_counts_vgpu_shares_and_clips_to_the_window() -> None:
    runs = [
        RunTime(at(1, 1, 8), at(1, 1, 12), Decimal("0.25")),  # a 10G slice of a 40G card
        RunTime(at(1, 1, 22), at(1, 2, 2), Decimal(2)),  # only 2 of its 4 hours fall in 1 Jan
    ]
    assert used_gpu_hours(runs, start=at(1, 1), end=at(1, 2)) == Decimal(5)
    with pytest.raises(ValidationFailed, match=r"runs\.end"):
        used_gpu_hours([RunTime(at(1, 2), at(1, 1), Decimal(1))], start=at(1, 1), end=at(1, 2))


def test_display_hours() -> None:
    assert display_hours(Decimal(72)) == "72.00"
    assert display_hours(Decimal("0.004")) == "0.00"
    assert display_hours(Decimal("0.005")) == "0.01"
