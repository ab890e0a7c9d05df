"""Hourly compute settlement: usage intervals × price book → ledger entries (spec 10 §5).

For every completed UTC hour ``[h, h+1h)`` and every usage interval overlapping it (closed or
still open), each meter the interval uses (its GPU model, ``cpu`` in cores, ``memory`` in GiB)
is rated per second with the price book in force for the interval's tenant, split at every
price change. Each part becomes one ledger line whose key is
``compute:{interval}:{meter}:{hour}:{price version}``.

Exactly once: a line is inserted only if its key is absent, and one hour is settled in one
transaction (lines, the prepaid wallet's ``Consume`` events and the settlement mark together).
A server killed at any instant either committed an hour or did not; on restart the hour is
settled again and only missing keys are added.

Late and retroactive usage: every pass also settles the :data:`LOOKBACK` hours before the mark
again. An interval recorded after its hour was settled gets its missing lines there; one
closed at an earlier time than it was billed as open through (the reconciler records the end
its backend observed) gets one ``adjustment`` line per billed line (``adjust:{line key}``).

Prepaid tenants (those with wallet events) also get one ``Consume`` event per unit for the
compute-unit lines added in an hour, committed with them (key ``consume:{unit}:{first line
key}``): the wallet deducts it in the spec's order (B-E14) and keeps any shortfall as arrears.
Adjustments are not refunded to the wallet yet.

Meters without any price version are not billed (a platform that prices only GPUs bills only
GPUs). A gap in a priced meter's versions stops settlement at that hour (logged), and it is
retried on the next pass, so nothing is skipped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.catalog import DEFAULT_CATALOG, Catalog
from hangar.billing.money import (
    ARITHMETIC,
    SECONDS_PER_HOUR,
    Amount,
    Unit,
    format_decimal,
    quantize,
    ratio,
    total,
)
from hangar.billing.orm import LedgerEntry, SettlementMark, WalletEventRow
from hangar.billing.rating import Usage, rate_usage
from hangar.billing.service import (
    CPU_METER,
    MEMORY_METER,
    TenantPrices,
    do_append_event,
    tenant_prices,
    wallet_event_at,
)
from hangar.billing.subscriptions import Consume
from hangar.db.engine import transaction
from hangar.errors import HangarError
from hangar.workloads.orm import UsageInterval

log = logging.getLogger("hangar.billing")

HOUR = timedelta(hours=1)
GIB = Decimal(1024**3)
MARK = "compute"
LOOKBACK = timedelta(hours=6)
"""Hours before the mark settled again on every pass (idempotent: they add only what is new)."""


def hour_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H")


def meters(interval: UsageInterval) -> list[tuple[str, Decimal]]:
    """``(meter, quantity)`` the interval uses: cards (a vGPU as its share), cores, GiB."""
    result: list[tuple[str, Decimal]] = []
    if interval.gpu_model:
        if interval.gpus > 0:
            result.append((interval.gpu_model, Decimal(interval.gpus)))
        elif interval.gpu_milli > 0:
            result.append((interval.gpu_model, ratio(Decimal(interval.gpu_milli), Decimal(1000))))
    if interval.cpu_millicores > 0:
        result.append((CPU_METER, ratio(Decimal(interval.cpu_millicores), Decimal(1000))))
    if interval.mem_bytes > 0:
        result.append((MEMORY_METER, ratio(Decimal(interval.mem_bytes), GIB)))
    return result


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    meter: str
    quantity: Decimal
    seconds: int
    start: datetime
    end: datetime
    amount: Amount
    price_version_id: str


def rate_overlap(
    prices: TenantPrices, *, interval_id: str, meter: str, quantity: Decimal,
    start: datetime, end: datetime, hour: datetime,
) -> list[Line]:  # fmt: skip
    """The lines of ``quantity`` of ``meter`` used over ``[start, end)`` inside one hour:
    ``rate/h × quantity × seconds / 3600`` per price version, kept to the unit's quantum."""
    rating = rate_usage(prices.book, Usage(meter, 1, start, end))
    lines = []
    for part in rating.parts:
        if part.seconds == 0:
            continue
        exact = ratio(
            ARITHMETIC.multiply(
                ARITHMETIC.multiply(part.rate_per_hour.value, quantity), Decimal(part.seconds)
            ),
            SECONDS_PER_HOUR,
        )
        unit = part.rate_per_hour.unit
        version_id = prices.version_id(meter, _version_start(prices, meter, part.start))
        lines.append(
            Line(
                key=f"compute:{interval_id}:{meter}:{hour_key(hour)}:{version_id}",
                meter=meter,
                quantity=quantity,
                seconds=part.seconds,
                start=part.start,
                end=part.end,
                amount=Amount(quantize(exact, unit.quantum), unit),
                price_version_id=version_id,
            )
        )
    return lines


def _version_start(prices: TenantPrices, meter: str, at: datetime) -> datetime:
    for start, end, version in prices.book.spans(meter):
        if start <= at and (end is None or at < end):
            return version.effective_from
    raise KeyError((meter, at))


def overlapping(session: Session, *, start: datetime, end: datetime) -> list[UsageInterval]:
    return list(
        session.scalars(
            select(UsageInterval)
            .where(
                UsageInterval.started_at < end,
                or_(UsageInterval.ended_at.is_(None), UsageInterval.ended_at > start),
            )
            .order_by(UsageInterval.tenant_id, UsageInterval.started_at, UsageInterval.id)
        )
    )


def settle_hour(session: Session, *, hour: datetime, catalog: Catalog) -> int:
    """Settle ``[hour, hour+1h)`` inside the caller's transaction; returns lines added.

    Lines already on the ledger are kept. A line whose usage changed after it was settled
    (an interval closed at a time its backend observed, before the hour it was billed as open
    in) gets one ``adjustment`` line for the difference, keyed ``adjust:{line key}``.
    """
    end = hour + HOUR
    expected: dict[str, tuple[UsageInterval, Line]] = {}
    prices_of: dict[str, TenantPrices] = {}
    for interval in overlapping(session, start=hour, end=end):
        tid = interval.tenant_id
        prices = prices_of.get(tid) or prices_of.setdefault(
            tid, tenant_prices(session, tenant_id=tid)
        )
        start = max(interval.started_at, hour)
        stop = end if interval.ended_at is None else min(interval.ended_at, end)
        if stop <= start:
            continue
        for meter, quantity in meters(interval):
            if not prices.priced(meter):
                continue
            for line in rate_overlap(
                prices, interval_id=interval.id, meter=meter, quantity=quantity,
                start=start, end=stop, hour=hour,
            ):  # fmt: skip
                expected[line.key] = (interval, line)
    existing = {
        row.key: row
        for row in session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.kind.in_(("compute", "adjustment")),
                LedgerEntry.period_start >= hour,
                LedgerEntry.period_start < end,
            )
        )
    }
    added: dict[str, list[Line]] = defaultdict(list)
    for key, (interval, line) in expected.items():
        row = existing.get(key)
        if row is None:
            session.add(_compute_entry(interval, line))
            added[interval.tenant_id].append(line)
        elif Decimal(row.amount) != line.amount.value and f"adjust:{key}" not in existing:
            diff = Amount(line.amount.value - Decimal(row.amount), line.amount.unit)
            session.add(_adjustment(row, diff))
    for key, row in existing.items():
        if row.kind == "compute" and key not in expected and f"adjust:{key}" not in existing:
            session.add(_adjustment(row, -Amount(Decimal(row.amount), Unit(row.unit))))
    for tenant_id, lines in added.items():
        _consume(session, tenant_id=tenant_id, hour=hour, lines=lines, catalog=catalog)
    return sum(len(lines) for lines in added.values())


def _compute_entry(interval: UsageInterval, line: Line) -> LedgerEntry:
    return LedgerEntry(
        key=line.key, tenant_id=interval.tenant_id, workspace_id=interval.workspace_id,
        user_id=interval.user_id, kind="compute", meter=line.meter,
        quantity=format_decimal(line.quantity), seconds=line.seconds,
        amount=format_decimal(line.amount.value), unit=line.amount.unit.value,
        usage_interval_id=interval.id, workload_id=interval.workload_id,
        price_version_id=line.price_version_id, period_start=line.start, period_end=line.end,
    )  # fmt: skip


def _adjustment(row: LedgerEntry, diff: Amount) -> LedgerEntry:
    return LedgerEntry(
        key=f"adjust:{row.key}", tenant_id=row.tenant_id, workspace_id=row.workspace_id,
        user_id=row.user_id, kind="adjustment", meter=row.meter, quantity=row.quantity,
        seconds=0, amount=format_decimal(diff.value), unit=diff.unit.value,
        usage_interval_id=row.usage_interval_id, workload_id=row.workload_id,
        price_version_id=row.price_version_id, period_start=row.period_start,
        period_end=row.period_end,
        note="usage changed after settlement (interval closed at its observed end)",
    )  # fmt: skip


def _consume(
    session: Session, *, tenant_id: str, hour: datetime, lines: list[Line], catalog: Catalog
) -> None:
    """Prepaid tenants: deduct the lines just added from the wallet, once per unit, at the
    hour's end (or at the wallet's last event, if later: a wallet only moves forward).

    Exactly once because the event commits with the lines it deducts, and lines are only
    added when absent; the key names the first of them, so it is unique as well."""
    has_wallet = session.scalar(
        select(func.count())
        .select_from(WalletEventRow)
        .where(WalletEventRow.tenant_id == tenant_id)
    )
    if not has_wallet:
        return
    for unit in (Unit.DCU, Unit.CU):
        mine = [line for line in lines if line.amount.unit is unit]
        amount = total((line.amount for line in mine), unit=unit)
        if not amount.is_positive:
            continue
        at = wallet_event_at(session, tenant_id=tenant_id, now=hour + HOUR)
        do_append_event(
            session, tenant_id=tenant_id, event=Consume(at, amount),
            key=f"consume:{unit.value}:{mine[0].key}", catalog=catalog, created_by=None,
        )  # fmt: skip


def first_unsettled_hour(session: Session) -> datetime | None:
    mark = session.get(SettlementMark, MARK)
    if mark is not None:
        return mark.settled_until
    first = session.scalar(select(func.min(UsageInterval.started_at)))
    return None if first is None else hour_start(first)


def settle(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    catalog: Catalog = DEFAULT_CATALOG,
    lookback: timedelta = LOOKBACK,
) -> int:
    """Settle every completed hour not settled yet, and the ``lookback`` hours before them
    again (usage recorded late, or closed retroactively, is caught there), one transaction
    per hour. Returns the number of compute lines added."""
    with sessions() as session:
        first = first_unsettled_hour(session)
        marked = session.get(SettlementMark, MARK) is not None
    if first is None:
        return 0
    cursor = first - lookback if marked else first
    added = 0
    last_complete = hour_start(now)
    while cursor + HOUR <= last_complete:
        with transaction(sessions) as session:
            added += settle_hour(session, hour=cursor, catalog=catalog)
            mark = session.get(SettlementMark, MARK)
            if mark is None:
                session.add(SettlementMark(name=MARK, settled_until=cursor + HOUR))
            elif mark.settled_until < cursor + HOUR:
                mark.settled_until = cursor + HOUR
        cursor += HOUR
    return added


class Settler:
    """The loop body: settle what is due, log (never raise) a tenant's pricing error."""

    def __init__(self, sessions: sessionmaker[Session], catalog: Catalog = DEFAULT_CATALOG):
        self.sessions, self.catalog = sessions, catalog

    def step(self, now: datetime | None = None) -> int:
        try:
            return settle(self.sessions, now=now or datetime.now(UTC), catalog=self.catalog)
        except HangarError as exc:
            log.error("billing settlement stopped: %s; retrying at the next interval", exc)
            return 0
