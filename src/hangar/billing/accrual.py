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
from hangar.billing.settlement import (
    HOUR,
    first_unsettled_hour,
    hour_start,
    overlapping,
    rate_hour,
)
from hangar.errors import HangarError


def unsettled(session: Session, *, tenant_id: str, now: datetime) -> dict[Unit, Amount]:
    """Per unit, the charges the tenant's usage has accrued up to ``now`` that are not on
    the ledger yet (empty: nothing accrued, or no prices)."""
    current = hour_start(now)
    first = first_unsettled_hour(session)
    start = current if first is None else min(first, current)
    totals: dict[Unit, Decimal] = defaultdict(Decimal)
    hour = start
    while hour <= current:
        end = min(hour + HOUR, now)
        if end <= hour:
            break
        try:
            intervals = overlapping(session, start=hour, end=end, tenant_id=tenant_id)
            expected = rate_hour(
                session, hour=hour, end=end, intervals=intervals, tenant_id=tenant_id
            )
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
        for key, (_, line) in expected.items():
            if key not in charged:
                unit = line.amount.unit
                totals[unit] = ARITHMETIC.add(totals[unit], line.amount.value)
        hour += HOUR
    return {unit: Amount(value, unit) for unit, value in totals.items() if value}
