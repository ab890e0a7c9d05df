"""Hourly compute settlement: usage intervals × price book → ledger entries (spec 10 §5).

For every completed UTC hour ``[h, h+1h)`` and every usage interval overlapping it (closed or
still open), each meter the interval uses (its GPU model, ``cpu`` in cores, ``memory`` in GiB)
is rated per second with the price book in force for the interval's tenant, split at every
price change. Each part becomes one ledger line whose key is
``compute:{hour}:{interval}:{meter}:{price version}`` (hour first: the keys of an hour are
inserted side by side in the unique index).

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

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol, cast

from sqlalchemy import Executable, Table, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.catalog import DEFAULT_CATALOG, Catalog
from hangar.billing.errors import invalid
from hangar.billing.metering import settle_records
from hangar.billing.money import (
    ARITHMETIC,
    SECONDS_PER_HOUR,
    UNIT_QUANTUM,
    Amount,
    Unit,
    format_decimal,
    quantize,
    ratio,
    total,
)
from hangar.billing.orm import LedgerEntry, SettlementMark, WalletEventRow
from hangar.billing.service import (
    CPU_METER,
    MEMORY_METER,
    TenantPrices,
    do_append_event,
    tenant_prices,
    wallet_event_at,
)
from hangar.billing.subscriptions import Consume
from hangar.billing.times import whole_second
from hangar.db.base import ordered_id, utcnow
from hangar.db.bulk import insert_many
from hangar.db.engine import transaction
from hangar.errors import HangarError
from hangar.workloads.orm import UsageInterval

log = logging.getLogger("hangar.billing")

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
LEDGER = cast(Table, LedgerEntry.__table__)
LINE_QUANTUM = UNIT_QUANTUM
"""Every compute line keeps 0.000001 of its unit, currency included: metering is per second
and only an invoice total is rounded to 0.01 (spec 10 §5.7, J4), so a tenant's cents are the
exact sum of its seconds, not a sum of per-line roundings."""
GIB = Decimal(1024**3)
MARK = "compute"
BATCH_LINES = 20_000
"""While catching up, hours are settled together until a transaction holds this many lines."""
WINDOW = timedelta(hours=24)
"""At most this many hours share a transaction, and one read of the intervals they overlap."""
METERED_MARK = "metered"
METERED_MARGIN = timedelta(hours=1)
"""Records created up to this long before the last pass are looked at again (a record's
transaction may commit after the pass that started later than its ``created_at``)."""
LOOKBACK = timedelta(hours=6)
"""Hours before the mark settled again on every pass (idempotent: they add only what is new)."""


def hour_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@functools.lru_cache(maxsize=64)
def hour_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H")


def meters(interval: IntervalRow) -> list[tuple[str, Decimal]]:
    """``(meter, quantity)`` the interval uses: cards (a vGPU as its share), cores, GiB."""
    return list(
        _meters(
            interval.gpu_model, interval.gpus, interval.gpu_milli, interval.cpu_millicores,
            interval.mem_bytes,
        )
    )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _meters(
    gpu_model: str, gpus: int, gpu_milli: int, cpu_millicores: int, mem_bytes: int
) -> tuple[tuple[str, Decimal], ...]:
    result: list[tuple[str, Decimal]] = []
    if gpu_model:
        if gpus > 0:
            result.append((gpu_model, Decimal(gpus)))
        elif gpu_milli > 0:
            result.append((gpu_model, ratio(Decimal(gpu_milli), Decimal(1000))))
    if cpu_millicores > 0:
        result.append((CPU_METER, ratio(Decimal(cpu_millicores), Decimal(1000))))
    if mem_bytes > 0:
        result.append((MEMORY_METER, ratio(Decimal(mem_bytes), GIB)))
    return tuple(result)


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


@dataclass(frozen=True, slots=True)
class Segment:
    """One price version's stretch of an hour: ``rate`` per hour over ``[start, end)``."""

    start: datetime
    end: datetime
    rate: Decimal
    unit: Unit
    version_id: str


def hour_segments(prices: TenantPrices, meter: str, hour: datetime) -> tuple[Segment, ...]:
    """The price versions of ``meter`` in force during ``[hour, hour+1h)``, clipped to it and
    to whole seconds (metering is per second, J4). A gap in the versions raises, naming it."""
    end = hour + HOUR
    segments: list[Segment] = []
    cursor = hour
    for raw_start, raw_end, version in prices.book.spans(meter):
        span_start = whole_second(raw_start.astimezone(UTC))
        span_end = end if raw_end is None else min(end, whole_second(raw_end.astimezone(UTC)))
        if span_end <= cursor:
            continue
        if cursor >= end:
            break
        if span_start > cursor:
            raise invalid(
                "start",
                f"no price for card model {meter!r} from {cursor.isoformat()} "
                f"(the next version starts {span_start.isoformat()})",
            )
        version_id = prices.version_id(meter, version.effective_from)
        rate = version.rate_per_hour
        segments.append(Segment(cursor, span_end, rate.value, rate.unit, version_id))
        cursor = span_end
    if cursor < end:
        raise invalid("end", f"no price for card model {meter!r} after {cursor.isoformat()}")
    return tuple(segments)


def rate_overlap(
    segments: tuple[Segment, ...], *, interval_id: str, meter: str, quantity: Decimal,
    start: datetime, end: datetime, hour: datetime,
    amounts: dict[tuple[str, Decimal, int], Amount] | None = None,
) -> list[Line]:  # fmt: skip
    """The lines of ``quantity`` of ``meter`` used over ``[start, end)`` inside one hour:
    ``rate/h × quantity × seconds / 3600`` per price version, kept to the unit's quantum.

    ``amounts`` caches each (version, quantity, seconds)'s amount across the lines of an hour,
    where most intervals use whole hours of the same few shapes."""
    if start.microsecond:
        start = whole_second(start)
    if end.microsecond:
        end = whole_second(end)
    tag = hour_key(hour)
    lines = []
    for segment in segments:
        lo = start if start > segment.start else segment.start
        hi = end if end < segment.end else segment.end
        if hi <= lo:
            continue
        seconds = (hi - lo) // SECOND
        shape = (segment.version_id, quantity, seconds)
        amount = None if amounts is None else amounts.get(shape)
        if amount is None:
            exact = ratio(
                ARITHMETIC.multiply(ARITHMETIC.multiply(segment.rate, quantity), Decimal(seconds)),
                SECONDS_PER_HOUR,
            )
            amount = Amount(quantize(exact, LINE_QUANTUM), segment.unit)
            if amounts is not None:
                amounts[shape] = amount
        lines.append(
            Line(
                key=f"compute:{tag}:{interval_id}:{meter}:{segment.version_id}",
                meter=meter,
                quantity=quantity,
                seconds=seconds,
                start=lo,
                end=hi,
                amount=amount,
                price_version_id=segment.version_id,
            )
        )
    return lines


class _HourPrices:
    """Each tenant's price segments for one hour, looked up once per (tenant, meter)."""

    def __init__(self, session: Session, hour: datetime) -> None:
        self.session, self.hour = session, hour
        self.books: dict[str, TenantPrices] = {}
        self.segments: dict[tuple[str, str], tuple[Segment, ...] | None] = {}

    def of(self, tenant_id: str, meter: str) -> tuple[Segment, ...] | None:
        """None: the meter has no price for this tenant (it is not billed)."""
        key = (tenant_id, meter)
        if key not in self.segments:
            prices = self.books.get(tenant_id)
            if prices is None:
                prices = self.books[tenant_id] = tenant_prices(self.session, tenant_id=tenant_id)
            self.segments[key] = (
                hour_segments(prices, meter, self.hour) if prices.priced(meter) else None
            )
        return self.segments[key]


def rate_hour(
    session: Session,
    *,
    hour: datetime,
    end: datetime,
    intervals: Iterable[IntervalRow],
    tenant_id: str | None = None,
) -> dict[str, tuple[IntervalRow, Line]]:
    """Line key → (interval, line) of the usage in ``[hour, end)`` (``end`` at most the hour's
    end: a partial hour for the figure between settlements), of every tenant or one."""
    prices = _HourPrices(session, hour)
    amounts: dict[tuple[str, Decimal, int], Amount] = {}
    expected: dict[str, tuple[IntervalRow, Line]] = {}
    for interval in intervals:
        if tenant_id is not None and interval.tenant_id != tenant_id:
            continue
        start = max(interval.started_at, hour)
        stop = end if interval.ended_at is None else min(interval.ended_at, end)
        if stop <= start:
            continue
        for meter, quantity in meters(interval):
            segments = prices.of(interval.tenant_id, meter)
            if segments is None:
                continue
            for line in rate_overlap(
                segments, interval_id=interval.id, meter=meter, quantity=quantity,
                start=start, end=stop, hour=hour, amounts=amounts,
            ):  # fmt: skip
                expected[line.key] = (interval, line)
    return expected


def settle_hour(
    session: Session,
    *,
    hour: datetime,
    catalog: Catalog,
    intervals: Sequence[IntervalRow] | None = None,
) -> int:
    """Settle ``[hour, hour+1h)`` inside the caller's transaction; returns lines added.
    ``intervals``: every usage interval overlapping the hour (and perhaps more), when the
    caller has read them for several hours at once; else they are read here.

    Lines already on the ledger are kept. A line whose usage changed after it was settled
    (an interval closed at a time its backend observed, before the hour it was billed as open
    in) gets one ``adjustment`` line for the difference, keyed ``adjust:{line key}``.

    Reads and writes go through Core (rows as tuples, one multi-row INSERT): an hour of a
    busy cluster holds thousands of lines, and ORM objects would cost more than the rating.
    """
    end = hour + HOUR
    created = utcnow()
    if intervals is None:
        intervals = overlapping(session, start=hour, end=end)
    expected = rate_hour(session, hour=hour, end=end, intervals=intervals)
    existing = {
        key: (kind, Decimal(amount))
        for key, kind, amount in session.execute(
            select(LedgerEntry.key, LedgerEntry.kind, LedgerEntry.amount).where(
                LedgerEntry.kind.in_(("compute", "adjustment")),
                LedgerEntry.period_start >= hour,
                LedgerEntry.period_start < end,
            )
        )
    }
    new_rows: list[dict[str, object]] = []
    added: dict[str, list[Line]] = defaultdict(list)
    for key, (interval, line) in expected.items():
        found = existing.get(key)
        if found is None:
            new_rows.append(_compute_entry(interval, line, created))
            added[interval.tenant_id].append(line)
        elif found[1] != line.amount.value and f"adjust:{key}" not in existing:
            _adjust(session, key, line.amount.value - found[1])
    for key, (kind, amount) in existing.items():
        if kind == "compute" and key not in expected and f"adjust:{key}" not in existing:
            _adjust(session, key, -amount)
    insert_many(session, LEDGER, new_rows)
    for tenant_id, lines in added.items():
        charges = [(line.amount, line.key) for line in lines]
        _consume(session, tenant_id=tenant_id, at=end, charges=charges, catalog=catalog)
    return len(new_rows)


class IntervalRow(Protocol):
    """The columns of a usage interval settlement reads (a Core row or the ORM object)."""

    id: str
    tenant_id: str
    workspace_id: str
    user_id: str | None
    workload_id: str
    gpu_model: str
    gpus: int
    gpu_milli: int
    cpu_millicores: int
    mem_bytes: int
    started_at: datetime
    ended_at: datetime | None


def overlapping(
    session: Session, *, start: datetime, end: datetime, tenant_id: str | None = None
) -> list[IntervalRow]:
    """The usage intervals overlapping ``[start, end)`` (of one tenant, or all), as rows of
    the columns settled."""
    return [
        cast(IntervalRow, row) for row in session.execute(_overlapping_rows(start, end, tenant_id))
    ]


def _overlapping_rows(start: datetime, end: datetime, tenant_id: str | None) -> Executable:
    u = UsageInterval
    query = (
        select(
            u.id,
            u.tenant_id,
            u.workspace_id,
            u.user_id,
            u.workload_id,
            u.gpu_model,
            u.gpus,
            u.gpu_milli,
            u.cpu_millicores,
            u.mem_bytes,
            u.started_at,
            u.ended_at,
        )
        .where(u.started_at < end, or_(u.ended_at.is_(None), u.ended_at > start))
        .order_by(u.tenant_id, u.started_at, u.id)
    )
    return query if tenant_id is None else query.where(u.tenant_id == tenant_id)


def _compute_entry(interval: IntervalRow, line: Line, created: datetime) -> dict[str, object]:
    return {
        "id": ordered_id(), "key": line.key, "tenant_id": interval.tenant_id,
        "workspace_id": interval.workspace_id, "user_id": interval.user_id, "kind": "compute",
        "meter": line.meter, "quantity": _text(line.quantity), "seconds": line.seconds,
        "amount": _text(line.amount.value), "unit": line.amount.unit.value,
        "usage_interval_id": interval.id, "workload_id": interval.workload_id,
        "price_version_id": line.price_version_id, "period_start": line.start,
        "period_end": line.end, "note": "", "created_at": created,
    }  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _text(value: Decimal) -> str:
    """``format_decimal``, remembered: an hour's lines repeat a few quantities and amounts."""
    return format_decimal(value)


def _adjust(session: Session, key: str, diff: Decimal) -> None:
    """Add the ``adjustment`` line correcting the compute line ``key`` by ``diff``."""
    row = session.scalars(select(LedgerEntry).where(LedgerEntry.key == key)).one()
    session.add(
        LedgerEntry(
            key=f"adjust:{row.key}",
            tenant_id=row.tenant_id,
            workspace_id=row.workspace_id,
            user_id=row.user_id,
            kind="adjustment",
            meter=row.meter,
            quantity=row.quantity,
            seconds=0,
            amount=format_decimal(diff),
            unit=row.unit,
            usage_interval_id=row.usage_interval_id,
            workload_id=row.workload_id,
            price_version_id=row.price_version_id,
            period_start=row.period_start,
            period_end=row.period_end,
            note="usage changed after settlement (interval closed at its observed end)",
        )
    )


def _consume(
    session: Session,
    *,
    tenant_id: str,
    at: datetime,
    charges: list[tuple[Amount, str]],
    catalog: Catalog,
) -> None:
    """Prepaid tenants: deduct the ``(amount, line key)`` charges just added from the wallet,
    once per unit, at ``at`` (or at the wallet's last event, if later: a wallet only moves
    forward).

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
        mine = [(amount, key) for amount, key in charges if amount.unit is unit]
        amount = total((a for a, _ in mine), unit=unit)
        if not amount.is_positive:
            continue
        when = wallet_event_at(session, tenant_id=tenant_id, now=at)
        do_append_event(
            session, tenant_id=tenant_id, event=Consume(when, amount),
            key=f"consume:{unit.value}:{mine[0][1]}", catalog=catalog, created_by=None,
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
    again (usage recorded late, or closed retroactively, is caught there); then the generic
    meter records (:func:`settle_metered`). Returns the number of lines added.

    Each transaction holds whole hours, their lines, deductions and the mark: one hour in
    steady state; while catching up, hours until :data:`BATCH_LINES` lines are written (a
    commit costs a write of the touched pages, so fewer, larger ones settle a backlog
    several times faster; a crash still loses only uncommitted whole hours)."""
    with sessions() as session:
        first = first_unsettled_hour(session)
        marked = session.get(SettlementMark, MARK) is not None
    if first is None:
        return settle_metered(sessions, now=now, catalog=catalog)
    cursor = first - lookback if marked else first
    added = 0
    last_complete = hour_start(now)
    while cursor + HOUR <= last_complete:
        with transaction(sessions) as session:
            batch = 0
            window = min(cursor + WINDOW, last_complete)
            intervals = overlapping(session, start=cursor, end=window)
            while cursor + HOUR <= window and batch < BATCH_LINES:
                batch += settle_hour(session, hour=cursor, catalog=catalog, intervals=intervals)
                cursor += HOUR
            mark = session.get(SettlementMark, MARK)
            if mark is None:
                session.add(SettlementMark(name=MARK, settled_until=cursor))
            elif mark.settled_until < cursor:
                mark.settled_until = cursor
        added += batch
    return added + settle_metered(sessions, now=now, catalog=catalog)


def settle_metered(
    sessions: sessionmaker[Session], *, now: datetime, catalog: Catalog = DEFAULT_CATALOG
) -> int:
    """Price the generic meter records of completed hours (``billing.metering``), and deduct
    them from prepaid wallets, in one transaction. Returns the lines added."""
    before = hour_start(now)
    with transaction(sessions) as session:
        mark = session.get(SettlementMark, METERED_MARK)
        passed = utcnow()
        since = None if mark is None else mark.settled_until - METERED_MARGIN
        metered = settle_records(session, before=before, catalog=catalog, created_after=since)
        if mark is None:
            session.add(SettlementMark(name=METERED_MARK, settled_until=passed))
        else:
            mark.settled_until = passed
        by_tenant: dict[str, list[tuple[Amount, str]]] = defaultdict(list)
        for tenant_id, amount, key in metered:
            by_tenant[tenant_id].append((amount, key))
        for tenant_id, charges in by_tenant.items():
            _consume(session, tenant_id=tenant_id, at=before, charges=charges, catalog=catalog)
    return len(metered)


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
