"""What the billing pages show, built from the billing services' answers: the wallet as of now,
a month's statement summarised per meter and workspace, and the price book with each
version's end. Nothing here decides a charge or a balance: those come from the services."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.billing import service
from hangar.billing.buckets import Bucket
from hangar.billing.catalog import DEFAULT_CATALOG, Plan
from hangar.billing.errors import invalid
from hangar.billing.money import ARITHMETIC, Amount, format_decimal
from hangar.billing.orm import PriceVersionRow
from hangar.billing.subscriptions import Balance, Period, QueuedPlan, advance, current_plan
from hangar.tenancy.orm import Workspace

# A month of hourly lines can run to 100,000 rows: the page shows totals per meter and
# workspace for all of them, the lines themselves only up to this many (the CSV has all).
LINE_CAP = 200


@dataclass(frozen=True)
class WalletView:
    """The prepaid wallet as of ``at`` (``prepaid`` False: a postpaid tenant, no events)."""

    at: datetime
    prepaid: bool
    plan: Plan
    period: Period | None
    queued: tuple[QueuedPlan, ...]
    buckets: tuple[Bucket, ...]
    balances: tuple[Balance, ...]
    arrears: tuple[Amount, ...]


def wallet_view(session: Session, *, tenant_id: str, at: datetime) -> WalletView:
    """The tenant's wallet replayed from its events and advanced to ``at``, as the API's
    balance derives it."""
    wallet = service.load_wallet(session, tenant_id=tenant_id, catalog=DEFAULT_CATALOG)
    balances = service.wallet_balances(session, tenant_id=tenant_id, at=at, catalog=DEFAULT_CATALOG)
    if wallet is None:
        return WalletView(at, False, DEFAULT_CATALOG.free_plan, None, (), (), balances, ())
    if at > wallet.as_of:
        wallet = advance(wallet, to=at, catalog=DEFAULT_CATALOG).wallet
    return WalletView(
        at=at, prepaid=True, plan=current_plan(wallet, catalog=DEFAULT_CATALOG),
        period=wallet.period, queued=wallet.queued,
        buckets=tuple(sorted(wallet.buckets, key=lambda b: (b.unit, b.valid_from, b.id))),
        balances=balances, arrears=tuple(a for a in wallet.arrears if a.value),
    )  # fmt: skip


# -- statements ------------------------------------------------------------------------------


def month_range(month: str, *, now: datetime) -> tuple[str, datetime, datetime]:
    """``YYYY-MM`` (blank: the current UTC month) as ``(month, first instant, next month)``."""
    text = month.strip() or now.astimezone(UTC).strftime("%Y-%m")
    try:
        start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise invalid("month", f"must be a month written YYYY-MM (got {month!r})") from None
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return text, start, end


@dataclass(frozen=True)
class StatementGroup:
    """The lines of one kind, meter, workspace and unit, summed exactly."""

    kind: str
    meter: str
    workspace_id: str | None
    workspace_name: str | None
    unit: str
    lines: int
    seconds: int
    amount: str


@dataclass(frozen=True)
class StatementTotalView:
    unit: str
    exact: str
    total: str


@dataclass(frozen=True)
class StatementView:
    month: str
    start: datetime
    end: datetime
    count: int
    lines: Sequence[Any]  # rows of service.STATEMENT_COLUMNS: the first LINE_CAP, oldest first
    totals: list[StatementTotalView]
    groups: list[StatementGroup]
    price_labels: dict[str, str]


def statement_view(
    session: Session, *, tenant_id: str, month: str, start: datetime, end: datetime
) -> StatementView:
    """The month's statement (``service.statement``, its totals ``service.statement_totals``)
    summed per kind, meter, workspace and unit, with the first LINE_CAP lines."""
    lines = service.statement(session, tenant_id=tenant_id, start=start, end=end)
    # Exact sums in the billing package's fixed decimal context (never the thread's).
    sums: dict[tuple[str, str, str | None, str], tuple[int, int, Decimal]] = {}
    for line in lines:
        key = (line.kind, line.meter, line.workspace_id, line.unit)
        n, secs, value = sums.get(key, (0, 0, Decimal(0)))
        sums[key] = (n + 1, secs + line.seconds, ARITHMETIC.add(value, Decimal(line.amount)))
    names = workspace_names(session, {k[2] for k in sums if k[2]})

    def order(key: tuple[str, str, str | None, str]) -> tuple[str, str, str, str]:
        kind, meter, ws, unit = key
        return unit, kind, meter, names.get(ws or "", "")

    groups = [
        StatementGroup(kind, meter, ws, names.get(ws) if ws else None, unit, n, secs,
                       format_decimal(value))
        for (kind, meter, ws, unit), (n, secs, value) in sorted(
            sums.items(), key=lambda kv: order(kv[0])
        )
    ]  # fmt: skip
    totals = [
        StatementTotalView(unit.value, format_decimal(exact.value), format_decimal(rounded.value))
        for unit, (exact, rounded) in service.statement_totals(lines).items()
    ]
    return StatementView(
        month=month, start=start, end=end, count=len(lines), lines=lines[:LINE_CAP],
        totals=totals, groups=groups, price_labels=price_labels(session, tenant_id=tenant_id),
    )  # fmt: skip


def statement_csv_text(lines: Sequence[Any]) -> str:
    """Every statement line as CSV, in the API's columns; amounts stay the ledger's exact
    decimal strings."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([column.key for column in service.STATEMENT_COLUMNS])
    writer.writerows(
        [v.isoformat() if isinstance(v, datetime) else v for v in line] for line in lines
    )
    return buf.getvalue()


def workspace_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    found = session.execute(select(Workspace.id, Workspace.name).where(Workspace.id.in_(ids)))
    return {ws_id: name for ws_id, name in found}


# -- prices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceRowView:
    row: PriceVersionRow
    until: datetime | None  # the next version of the same meter and scope
    in_force: bool


def price_table(session: Session, *, tenant_id: str, now: datetime) -> list[PriceRowView]:
    """Every version the tenant sees (``service.price_rows``), each with where it ends."""
    rows = service.price_rows(session, tenant_id=tenant_id)
    result = []
    for row in rows:
        later = [
            r.effective_from
            for r in rows
            if r.meter == row.meter and r.tenant_id == row.tenant_id
            and r.effective_from > row.effective_from
        ]  # fmt: skip
        until = min(later) if later else None
        live = row.effective_from <= now and (until is None or now < until)
        result.append(PriceRowView(row, until, live))
    return result


def price_labels(session: Session, *, tenant_id: str) -> dict[str, str]:
    """Price version id → "1.28 DCU/h from 2026-03-01 00:00 UTC", for statement lines."""
    return {
        r.id: f"{r.rate_per_hour} {r.unit}/h from {r.effective_from:%Y-%m-%d %H:%M} UTC"
        for r in service.price_rows(session, tenant_id=tenant_id)
    }


def parse_effective_from(raw: str) -> str | None:
    """A ``datetime-local`` box read as UTC (the form says so); blank: now."""
    text = raw.strip()
    if not text:
        return None
    if len(text) in (16, 19) and "T" in text and "+" not in text and not text.endswith("Z"):
        return text + "+00:00"
    return text
