"""What a tenant's usage has accrued but settlement has not charged yet: the real-time figure
between hourly settlements (spec 10 §5 "real-time decrement of prepaid units with hourly
reconciliation").

For every hour from the settlement mark to now — completed hours the loop has not reached yet
and the hour in progress, up to now — the tenant's usage intervals are rated exactly as
settlement will rate them (the same meters, price segments and per-second arithmetic), minus
what the ledger already holds for those hours. The hourly pass stays the reconciliation: it
writes the lines, and the figure drops to what accrued since.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.billing.money import ARITHMETIC, Amount, Unit
from hangar.billing.orm import LedgerEntry
from hangar.billing.service import TenantPrices, tenant_prices
from hangar.billing.settlement import (
    HOUR,
    Segment,
    first_unsettled_hour,
    hour_segments,
    hour_start,
    meters,
    overlapping,
    rate_overlap,
)
from hangar.errors import HangarError


def unsettled(session: Session, *, tenant_id: str, now: datetime) -> dict[Unit, Amount]:
    """Per unit, the charges the tenant's usage has accrued up to ``now`` that are not on
    the ledger yet (empty: nothing accrued, or no prices)."""
    current = hour_start(now)
    first = first_unsettled_hour(session)
    start = current if first is None else min(first, current)
    prices = tenant_prices(session, tenant_id=tenant_id)
    totals: dict[Unit, Decimal] = defaultdict(Decimal)
    hour = start
    while hour <= current:
        end = min(hour + HOUR, now)
        if end <= hour:
            break
        try:
            expected = _rated(session, tenant_id, prices, hour, end)
        except HangarError:  # a gap in the prices: settlement stops there too
            break
        charged = {
            key
            for key in session.scalars(
                select(LedgerEntry.key).where(
                    LedgerEntry.tenant_id == tenant_id,
                    LedgerEntry.kind == "compute",
                    LedgerEntry.period_start >= hour,
                    LedgerEntry.period_start < hour + HOUR,
                )
            )
        }
        for key, amount in expected.items():
            if key not in charged:
                totals[amount.unit] = ARITHMETIC.add(totals[amount.unit], amount.value)
        hour += HOUR
    return {unit: Amount(value, unit) for unit, value in totals.items() if value}


def _rated(
    session: Session, tenant_id: str, prices: TenantPrices, hour: datetime, end: datetime
) -> dict[str, Amount]:
    """Line key → amount of the tenant's usage in ``[hour, end)``, as settlement rates it."""
    lines: dict[str, Amount] = {}
    segments_of: dict[str, tuple[Segment, ...]] = {}
    for interval in overlapping(session, start=hour, end=end):
        if interval.tenant_id != tenant_id:
            continue
        lo = max(interval.started_at, hour)
        hi = end if interval.ended_at is None else min(interval.ended_at, end)
        if hi <= lo:
            continue
        for meter, quantity in meters(interval):
            if not prices.priced(meter):
                continue
            if meter not in segments_of:
                segments_of[meter] = hour_segments(prices, meter, hour)
            for line in rate_overlap(
                segments_of[meter], interval_id=interval.id, meter=meter,
                quantity=quantity, start=lo, end=hi, hour=hour,
            ):  # fmt: skip
                lines[line.key] = line.amount
    return lines
