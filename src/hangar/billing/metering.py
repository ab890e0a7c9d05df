"""Generic meters (spec 10 §5.1): quantities that are not usage intervals — public addresses
held, tokens served, anything a later feature meters.

A feature records ``quantity`` of ``meter`` used at ``at`` with a key of its own (a retry
records nothing twice). Settlement prices each record once its hour has ended, at the
version of ``meter`` in force at ``at``, **per unit of quantity**: a public address metered
in hours is priced per hour, tokens metered in thousands per thousand. A record becomes one
``metered`` ledger line keyed ``metered:{record id}``, in the same transaction as the prepaid
wallet's deduction, so a crash adds it once.

Records of a meter without any price are not billed (as unpriced compute meters); a record
arriving late for an hour long settled is still billed: settlement looks for records without
a line, not at a time window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hangar.billing.catalog import Catalog
from hangar.billing.errors import invalid
from hangar.billing.money import ARITHMETIC, UNIT_QUANTUM, Amount, format_decimal, parse_decimal
from hangar.billing.orm import LedgerEntry, MeterRecord
from hangar.billing.service import TenantPrices, tenant_prices
from hangar.billing.times import require_aware
from hangar.db.base import new_id, utcnow
from hangar.db.bulk import insert_many

FUTURE_SLACK = timedelta(minutes=5)  # clocks of the recording feature and the server
INTERVAL_METERS = frozenset({"cpu", "memory"})
"""Meters settled from usage intervals (and every card model): not for generic records."""


def do_record(
    session: Session,
    *,
    key: str,
    tenant_id: str,
    meter: str,
    quantity: str,
    at: datetime,
    workspace_id: str | None = None,
    user_id: str | None = None,
    note: str = "",
) -> MeterRecord:
    """Record ``quantity`` of ``meter`` at ``at``; the same ``key`` again returns the first."""
    found = session.scalar(select(MeterRecord).where(MeterRecord.key == key))
    if found is not None:
        return found
    if not meter.strip() or meter.strip() in INTERVAL_METERS:
        raise invalid(
            "meter",
            f"{meter!r} is not a generic meter: name what is metered ('public-ip', "
            "'tokens-1k'); cards, cpu and memory come from usage intervals",
        )
    if require_aware(at, field="at") > utcnow() + FUTURE_SLACK:
        raise invalid("at", f"{at.isoformat()} is in the future: record usage once it happened")
    value = parse_decimal(quantity, field="quantity")
    if value <= 0:
        raise invalid("quantity", f"must be greater than zero (got {quantity})")
    row = MeterRecord(
        key=key, tenant_id=tenant_id, workspace_id=workspace_id, user_id=user_id,
        meter=meter.strip(), quantity=format_decimal(value), at=require_aware(at, field="at"),
        note=note[:256],
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def unsettled(
    session: Session, *, before: datetime, created_after: datetime | None = None
) -> list[MeterRecord]:
    """Records used before ``before`` (and recorded after ``created_after``) that have no
    ledger line yet."""
    line = select(LedgerEntry.key).where(LedgerEntry.key == "metered:" + MeterRecord.id)
    query = select(MeterRecord).where(MeterRecord.at < before, ~exists(line))
    if created_after is not None:
        query = query.where(MeterRecord.created_at >= created_after)
    return list(session.scalars(query.order_by(MeterRecord.at, MeterRecord.id)))


def settle_records(
    session: Session, *, before: datetime, catalog: Catalog, created_after: datetime | None = None
) -> list[tuple[str, Amount, str]]:
    """Price every unsettled record used before ``before``; returns (tenant, amount, key) of
    the lines added, for the caller to deduct from prepaid wallets in the same transaction.
    ``created_after`` skips records an earlier pass already saw (priced, or unpriced for
    good: a price is never backdated)."""
    books: dict[str, TenantPrices] = {}
    rows: list[dict[str, object]] = []
    added: list[tuple[str, Amount, str]] = []
    created = utcnow()
    for record in unsettled(session, before=before, created_after=created_after):
        prices = books.get(record.tenant_id)
        if prices is None:
            prices = books[record.tenant_id] = tenant_prices(session, tenant_id=record.tenant_id)
        if not prices.priced(record.meter):
            continue
        rate = prices.book.rate_at(record.meter, record.at)
        version = _version_at(prices, record.meter, record.at)
        quantity = Decimal(record.quantity)
        exact = ARITHMETIC.multiply(rate.value, quantity)
        amount = Amount(exact.quantize(UNIT_QUANTUM, context=ARITHMETIC), rate.unit)
        key = f"metered:{record.id}"
        rows.append(
            {
                "id": new_id(), "key": key, "tenant_id": record.tenant_id,
                "workspace_id": record.workspace_id, "user_id": record.user_id,
                "kind": "metered", "meter": record.meter, "quantity": record.quantity,
                "seconds": 0, "amount": format_decimal(amount.value), "unit": rate.unit.value,
                "usage_interval_id": None, "workload_id": None, "price_version_id": version,
                "period_start": record.at, "period_end": record.at,
                "note": record.note or f"{record.meter} record {record.key}",
                "created_at": created,
            }
        )  # fmt: skip
        added.append((record.tenant_id, amount, key))
    insert_many(session, LedgerEntry.__table__, rows)  # type: ignore[arg-type]
    return added


def _version_at(prices: TenantPrices, meter: str, at: datetime) -> str:
    for start, end, version in prices.book.spans(meter):
        if start <= at and (end is None or at < end):
            return prices.version_id(meter, version.effective_from)
    raise invalid("at", f"no price for {meter!r} at {at.isoformat()}")
