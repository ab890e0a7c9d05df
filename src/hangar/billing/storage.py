"""Daily file-storage overage fees (spec 10 §2.4: B-E1..B-E5, decisions J1, J2).

The billed capacity of a calendar day is that day's peak usage (B-E2). The fee is
``ceil(max(0, peak − free)) GB × rate`` (J2: every fractional GB rounds up), charged on the
morning of the next day (B-E3). Example: Trial, 30 G free, peak 50 GB → 20 × 0.0015 =
0.03 DCU (J1: the source's "0.003" is an arithmetic error).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_CEILING, Decimal

from hangar.billing.catalog import Plan
from hangar.billing.errors import invalid
from hangar.billing.money import Amount, format_decimal, require_non_negative
from hangar.billing.times import as_utc


@dataclass(frozen=True, slots=True)
class StorageSample:
    """From ``at`` on, ``used_gb`` is in use (a step function: the value holds until the next)."""

    at: datetime
    used_gb: Decimal


@dataclass(frozen=True, slots=True)
class StorageCharge:
    """One day's storage line item, deducted on ``charge_on`` (the next day)."""

    day: date
    peak_gb: Decimal
    free_gb: Decimal
    billable_gb: int
    rate_per_gb_day: Amount
    amount: Amount
    charge_on: date


def _require_gb(value: Decimal, *, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise invalid(field, f"must be a finite Decimal number of GB (got {value!r})")
    if value < 0:
        raise invalid(field, f"must not be negative (got {format_decimal(value)} GB)")
    return value


def billable_overage_gb(peak_gb: Decimal, free_gb: Decimal) -> int:
    """Whole GB billed for a day: ``ceil(max(0, peak − free))`` (B-E4, J2)."""
    _require_gb(peak_gb, field="peak_gb")
    _require_gb(free_gb, field="free_gb")
    overage = max(Decimal(0), peak_gb - free_gb)
    return int(overage.to_integral_value(rounding=ROUND_CEILING))


def daily_storage_charge(
    *, day: date, peak_gb: Decimal, free_gb: Decimal, rate_per_gb_day: Amount
) -> StorageCharge:
    """The fee for ``day`` (B-E3). The amount is exact: whole GB × the rate."""
    require_non_negative(rate_per_gb_day, field="rate_per_gb_day")
    billable = billable_overage_gb(peak_gb, free_gb)
    return StorageCharge(
        day=day,
        peak_gb=peak_gb,
        free_gb=free_gb,
        billable_gb=billable,
        rate_per_gb_day=rate_per_gb_day,
        amount=rate_per_gb_day * billable,
        charge_on=day + timedelta(days=1),
    )


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a calendar day in ``tz`` (23 or 25 hours long across DST changes)."""
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start, end


def daily_peak_gb(samples: Iterable[StorageSample], *, day: date, tz: tzinfo) -> Decimal:
    """The peak usage over calendar ``day`` in ``tz`` (B-E2), the usage being a step function:
    the value in force when the day starts counts, as does every sample during the day."""
    start, end = (as_utc(t, field="day") for t in day_bounds(day, tz))
    ordered = sorted(
        (as_utc(s.at, field="samples.at"), index, s.used_gb) for index, s in enumerate(samples)
    )
    in_force = Decimal(0)
    peak: Decimal | None = None
    for sampled_at, _, used_gb in ordered:
        _require_gb(used_gb, field="samples.used_gb")
        if sampled_at <= start:
            in_force = used_gb
        elif sampled_at < end:
            peak = used_gb if peak is None else max(peak, used_gb)
    return in_force if peak is None else max(in_force, peak)


def check_storage_capacity(*, plan: Plan, requested_gb: Decimal) -> Decimal:
    """Refuse storage beyond the plan's maximum (spec 10 §2.2; larger needs support)."""
    _require_gb(requested_gb, field="requested_gb")
    if requested_gb > plan.max_storage_gb:
        hint = (
            "it is not expandable; subscribe to a plan"
            if not plan.storage_expandable
            else "upgrade the plan or contact support for more"
        )
        raise invalid(
            "requested_gb",
            f"plan '{plan.name}' allows at most {format_decimal(plan.max_storage_gb)} GB of file "
            f"storage, asked for {format_decimal(requested_gb)} GB; {hint}",
        )
    return requested_gb
