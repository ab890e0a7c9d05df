"""Daily storage overage (B-E2..B-E5, J2) and the plan's storage maximum."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.storage import (
    StorageSample,
    billable_overage_gb,
    check_storage_capacity,
    daily_peak_gb,
    daily_storage_charge,
)
from hangar.errors import ValidationFailed
from tests.billing.factories import CST, at, dcu

DAY = date(2025, 4, 3)


@pytest.mark.parametrize(
    ("peak", "free", "billable"),
    [("30", "30", 0), ("12", "30", 0), ("30.0001", "30", 1), ("31", "30", 1), ("41.5", "30", 12)],
)
def test_every_fractional_gb_rounds_up(peak: str, free: str, billable: int) -> None:
    assert billable_overage_gb(Decimal(peak), Decimal(free)) == billable


def test_no_overage_costs_nothing() -> None:
    charge = daily_storage_charge(
        day=DAY, peak_gb=Decimal(29), free_gb=Decimal(30), rate_per_gb_day=dcu("0.0015")
    )
    assert charge.amount == dcu(0)


@pytest.mark.parametrize(
    ("field", "peak", "free"), [("peak_gb", "-1", "30"), ("free_gb", "1", "-30")]
)
def test_negative_sizes_are_refused(field: str, peak: str, free: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        billable_overage_gb(Decimal(peak), Decimal(free))
    assert "must not be negative" in err.value.fields[field]


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="rate_per_gb_day: must not be negative"):
        daily_storage_charge(
            day=DAY, peak_gb=Decimal(50), free_gb=Decimal(30), rate_per_gb_day=dcu("-0.0015")
        )


def test_daily_peak_counts_the_level_carried_into_the_day() -> None:
    samples = [
        StorageSample(at(4, 1, 9), Decimal(70)),
        StorageSample(at(4, 2, 23), Decimal(45)),  # in force when 3 Apr starts
        StorageSample(at(4, 3, 10), Decimal(40)),
        StorageSample(at(4, 3, 23, 59, 59), Decimal(44)),
        StorageSample(at(4, 4, 0), Decimal(99)),  # the next day
    ]
    assert daily_peak_gb(samples, day=DAY, tz=CST) == Decimal(45)
    assert daily_peak_gb(samples[2:], day=DAY, tz=CST) == Decimal(44)
    assert daily_peak_gb([], day=DAY, tz=CST) == Decimal(0)


def test_daily_peak_takes_the_maximum_within_the_day() -> None:
    samples = [StorageSample(at(4, 3, h), Decimal(v)) for h, v in ((1, 10), (12, 52), (20, 31))]
    assert daily_peak_gb(samples, day=DAY, tz=CST) == Decimal(52)


def test_storage_capacity_per_plan() -> None:
    advanced = DEFAULT_CATALOG.plan("advanced")
    assert check_storage_capacity(plan=advanced, requested_gb=Decimal(2048)) == Decimal(2048)
    with pytest.raises(ValidationFailed) as err:
        check_storage_capacity(plan=DEFAULT_CATALOG.plan("trial"), requested_gb=Decimal(600))
    assert err.value.fields == {
        "requested_gb": "plan 'Trial' allows at most 500 GB of file storage, asked for 600 GB; "
        "upgrade the plan or contact support for more"
    }
    with pytest.raises(ValidationFailed, match="it is not expandable"):
        check_storage_capacity(plan=DEFAULT_CATALOG.free_plan, requested_gb=Decimal(31))
