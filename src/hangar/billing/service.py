"""Billing services: price versions, wallet events, balances and statements.

The caller owns the transaction. Nothing here stores a balance: it is summed from ledger
entries and replayed from wallet events every time it is asked for.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from hangar.billing.catalog import Catalog, PriceList
from hangar.billing.errors import invalid
from hangar.billing.money import (
    ARITHMETIC,
    Amount,
    Unit,
    format_decimal,
    parse_amount,
    require_positive,
    round_invoice_total,
)
from hangar.billing.orm import LedgerEntry, PriceVersionRow, WalletEventRow
from hangar.billing.rating import PriceBook, PriceVersion
from hangar.billing.subscriptions import (
    Balance,
    BuyExtension,
    Consume,
    GrantTrial,
    GrantVoucher,
    PayArrears,
    Subscribe,
    Wallet,
    WalletEvent,
    advance,
    apply_event,
    balance,
    replay,
)
from hangar.billing.times import require_aware
from hangar.errors import NotFound

CPU_METER = "cpu"
MEMORY_METER = "memory"


# -- prices ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TenantPrices:
    """The price book in force for one tenant, and the row id behind each version."""

    book: PriceBook
    version_ids: dict[tuple[str, datetime], str]

    def priced(self, meter: str) -> bool:
        return any(v.card_key == meter for v in self.book.versions)

    def version_id(self, meter: str, effective_from: datetime) -> str:
        return self.version_ids[(meter, effective_from)]


def price_rows(session: Session, *, tenant_id: str | None) -> Sequence[PriceVersionRow]:
    """Platform-wide versions, and the tenant's own when ``tenant_id`` is given."""
    query = select(PriceVersionRow)
    if tenant_id is None:
        query = query.where(PriceVersionRow.tenant_id.is_(None))
    else:
        query = query.where(
            or_(PriceVersionRow.tenant_id.is_(None), PriceVersionRow.tenant_id == tenant_id)
        )
    return session.scalars(
        query.order_by(PriceVersionRow.meter, PriceVersionRow.effective_from)
    ).all()


def tenant_prices(session: Session, *, tenant_id: str) -> TenantPrices:
    """A tenant's own versions of a meter replace the platform-wide ones of that meter."""
    rows = price_rows(session, tenant_id=tenant_id)
    own = {r.meter for r in rows if r.tenant_id == tenant_id}
    chosen = [r for r in rows if r.tenant_id == tenant_id or r.meter not in own]
    versions = tuple(
        PriceVersion(r.meter, Amount(Decimal(r.rate_per_hour), Unit(r.unit)), r.effective_from)
        for r in chosen
    )
    return TenantPrices(PriceBook(versions), {(r.meter, r.effective_from): r.id for r in chosen})


def do_add_price(
    session: Session,
    *,
    tenant_id: str | None,
    meter: str,
    rate_per_hour: str,
    unit: Unit,
    effective_from: datetime,
    now: datetime,
    created_by: str | None,
) -> PriceVersionRow:
    """Add a price version. Prices are never edited: a change supersedes from its time on,
    which must not be before ``now`` (no backdating)."""
    require_aware(effective_from, field="effective_from")
    if not meter.strip():
        raise invalid("meter", "must name a card model, 'cpu' or 'memory'")
    rate = parse_amount(rate_per_hour, unit, field="rate_per_hour")
    if effective_from < now:
        raise invalid(
            "effective_from",
            f"{effective_from.isoformat()} is before now ({now.isoformat()}); a price change "
            "applies from its effective time on and is never backdated",
        )
    row = PriceVersionRow(
        tenant_id=tenant_id,
        meter=meter.strip(),
        rate_per_hour=format_decimal(rate.value),
        unit=unit.value,
        effective_from=effective_from,
        created_by=created_by,
    )
    existing = [r for r in price_rows(session, tenant_id=tenant_id) if r.tenant_id == tenant_id]
    book = PriceBook(
        tuple(
            PriceVersion(r.meter, Amount(Decimal(r.rate_per_hour), Unit(r.unit)), r.effective_from)
            for r in existing
        )
    )
    # Validates: one unit per meter, no two versions starting at one instant.
    book.with_version(PriceVersion(row.meter, rate, effective_from), now=now)
    session.add(row)
    session.flush()
    return row


# -- wallet events ---------------------------------------------------------------------------


def event_to_json(event: WalletEvent) -> tuple[str, dict[str, Any]]:
    """``(kind, payload)`` of a wallet event, as stored."""
    match event:
        case Subscribe(plan_key=key):
            return "subscribe", {"plan_key": key}
        case BuyExtension(pack_key=key):
            return "buy_extension", {"pack_key": key}
        case GrantTrial(grant_key=key):
            return "grant_trial", {"grant_key": key}
        case GrantVoucher(amount=amount) | Consume(amount=amount) | PayArrears(amount=amount):
            kind = {GrantVoucher: "credit", Consume: "consume", PayArrears: "pay_arrears"}
            return kind[type(event)], {
                "amount": format_decimal(amount.value),
                "unit": amount.unit.value,
            }
    raise invalid("kind", f"wallet events of type {type(event).__name__} are not stored")


def event_from_row(row: WalletEventRow) -> WalletEvent:
    p = row.payload
    match row.kind:
        case "subscribe":
            return Subscribe(row.at, str(p["plan_key"]))
        case "buy_extension":
            return BuyExtension(row.at, str(p["pack_key"]))
        case "grant_trial":
            return GrantTrial(row.at, str(p["grant_key"]))
        case "credit":
            return GrantVoucher(row.at, Amount(Decimal(p["amount"]), Unit(p["unit"])))
        case "consume":
            return Consume(row.at, Amount(Decimal(p["amount"]), Unit(p["unit"])))
        case "pay_arrears":
            return PayArrears(row.at, Amount(Decimal(p["amount"]), Unit(p["unit"])))
    raise ValueError(f"unknown wallet event kind {row.kind!r} (seq {row.seq})")


def wallet_rows(session: Session, *, tenant_id: str) -> Sequence[WalletEventRow]:
    return session.scalars(
        select(WalletEventRow)
        .where(WalletEventRow.tenant_id == tenant_id)
        .order_by(WalletEventRow.seq)
    ).all()


def load_wallet(session: Session, *, tenant_id: str, catalog: Catalog) -> Wallet | None:
    """The tenant's wallet replayed from its events; None for a postpaid tenant (no events)."""
    rows = wallet_rows(session, tenant_id=tenant_id)
    if not rows:
        return None
    wallet, _ = replay((event_from_row(r) for r in rows), opened_at=rows[0].at, catalog=catalog)
    return wallet


def do_append_event(
    session: Session,
    *,
    tenant_id: str,
    event: WalletEvent,
    key: str,
    catalog: Catalog,
    created_by: str | None,
) -> WalletEventRow | None:
    """Apply ``event`` to the replayed wallet (so an impossible one is refused with the
    domain's error) and append it. Returns None if ``key`` is already recorded."""
    if session.scalar(select(WalletEventRow.seq).where(WalletEventRow.key == key)) is not None:
        return None
    wallet = load_wallet(session, tenant_id=tenant_id, catalog=catalog)
    apply_event(wallet or Wallet.open(at=event.at), event, catalog=catalog)
    kind, payload = event_to_json(event)
    row = WalletEventRow(
        key=key, tenant_id=tenant_id, kind=kind, at=event.at, payload=payload, created_by=created_by
    )
    session.add(row)
    session.flush()
    return row


def wallet_event_at(session: Session, *, tenant_id: str, now: datetime) -> datetime:
    """``now``, or the last event's time if that is later: a wallet only moves forward."""
    rows = wallet_rows(session, tenant_id=tenant_id)
    return max(now, rows[-1].at) if rows else now


def make_event(
    *, kind: str, at: datetime, key: str | None, amount: str | None, unit: Unit | None
) -> WalletEvent:
    """A wallet event from API input, with errors naming the missing field."""
    if kind in ("subscribe", "buy_extension", "grant_trial") and not key:
        raise invalid("key", f"a '{kind}' event needs the key of the plan, pack or grant")
    match kind:
        case "subscribe":
            return Subscribe(at, str(key))
        case "buy_extension":
            return BuyExtension(at, str(key))
        case "grant_trial":
            return GrantTrial(at, str(key))
        case "credit" | "pay_arrears":
            if amount is None or unit is None:
                raise invalid("amount", f"a '{kind}' event needs an amount and a unit")
            value = require_positive(parse_amount(amount, unit, field="amount"), field="amount")
            return GrantVoucher(at, value) if kind == "credit" else PayArrears(at, value)
    raise invalid(
        "kind",
        f"unknown wallet event {kind!r}; one of: credit, subscribe, buy_extension, grant_trial, "
        "pay_arrears",
    )


# -- balances and statements -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerTotal:
    unit: Unit
    charged: Amount
    credited: Amount


def ledger_totals(session: Session, *, tenant_id: str) -> tuple[LedgerTotal, ...]:
    """Charges (positive lines) and credits (negative lines) per unit, summed exactly."""
    charged: dict[Unit, Amount] = {}
    credited: dict[Unit, Amount] = {}
    for amount, unit in session.execute(
        select(LedgerEntry.amount, LedgerEntry.unit).where(LedgerEntry.tenant_id == tenant_id)
    ):
        value = Amount(Decimal(amount), Unit(unit))
        side = charged if value.value >= 0 else credited
        side[value.unit] = side.get(value.unit, Amount.zero(value.unit)) + value
    units = sorted(set(charged) | set(credited))
    return tuple(
        LedgerTotal(u, charged.get(u, Amount.zero(u)), -credited.get(u, Amount.zero(u)))
        for u in units
    )


def wallet_balances(
    session: Session, *, tenant_id: str, at: datetime, catalog: Catalog
) -> tuple[Balance, ...]:
    """The wallet's balance per compute unit as of ``at`` (empty for postpaid tenants)."""
    wallet = load_wallet(session, tenant_id=tenant_id, catalog=catalog)
    if wallet is None:
        return ()
    if at > wallet.as_of:
        wallet = advance(wallet, to=at, catalog=catalog).wallet
    return tuple(balance(wallet, unit=u, catalog=catalog) for u in (Unit.DCU, Unit.CU))


STATEMENT_COLUMNS = (
    LedgerEntry.id, LedgerEntry.key, LedgerEntry.kind, LedgerEntry.meter, LedgerEntry.quantity,
    LedgerEntry.seconds, LedgerEntry.amount, LedgerEntry.unit, LedgerEntry.workspace_id,
    LedgerEntry.user_id, LedgerEntry.usage_interval_id, LedgerEntry.workload_id,
    LedgerEntry.price_version_id, LedgerEntry.period_start, LedgerEntry.period_end,
)  # fmt: skip


def statement(
    session: Session, *, tenant_id: str, start: datetime, end: datetime
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Ledger lines whose period starts in ``[start, end)``, oldest first: rows carrying the
    :data:`STATEMENT_COLUMNS` as attributes (a month can hold 100,000 lines; ORM objects
    would cost several times the query)."""
    if end <= start:
        raise invalid("end", f"{end.isoformat()} must be after start {start.isoformat()}")
    # Through the Core connection: the ORM's result layer would double the cost of a row.
    return (
        session.connection()
        .execute(
            select(*STATEMENT_COLUMNS)
            .where(
                LedgerEntry.tenant_id == tenant_id,
                LedgerEntry.period_start >= start,
                LedgerEntry.period_start < end,
            )
            .order_by(LedgerEntry.period_start, LedgerEntry.key)
        )
        .all()
    )


def statement_totals(lines: Iterable[Row[*tuple[Any, ...]]]) -> dict[Unit, tuple[Amount, Amount]]:
    """Per unit: the exact sum of the lines and the invoice total (rounded once to 0.01)."""
    by_unit: dict[str, list[str]] = {}
    for line in lines:
        by_unit.setdefault(line.unit, []).append(line.amount)
    result = {}
    with localcontext(ARITHMETIC):
        for unit_name in sorted(by_unit):
            exact = Amount(sum(map(Decimal, by_unit[unit_name]), Decimal(0)), Unit(unit_name))
            result[exact.unit] = (exact, round_invoice_total(exact))
    return result


def access_tenant_id(*, actor_tenant_id: str, requested: str | None, platform_admin: bool) -> str:
    """The tenant a billing call acts on: one's own, or any for the platform admin."""
    if requested is None or requested == actor_tenant_id:
        return actor_tenant_id
    if not platform_admin:
        raise NotFound(f"tenant '{requested}' not found", kind="tenant", id=requested)
    return requested


def new_event_key() -> str:
    return secrets.token_hex(8)


def wallet_event_by_key(session: Session, *, key: str) -> WalletEventRow:
    row = session.scalar(select(WalletEventRow).where(WalletEventRow.key == key))
    if row is None:
        raise NotFound(f"wallet event '{key}' not found", kind="wallet_event", id=key)
    return row


def purchase_line(event: WalletEvent, *, catalog: Catalog) -> tuple[str, Amount, str]:
    """``(ledger kind, amount, meter)`` a wallet event leaves on the ledger: a purchase is a
    charge in currency (standard price list); a credit, trial or arrears payment is a
    negative line in compute units."""
    match event:
        case Subscribe(plan_key=key):
            return "plan_purchase", catalog.plan(key).price_for(PriceList.STANDARD), key
        case BuyExtension(pack_key=key):
            return "plan_purchase", catalog.extension_pack(key).price_for(PriceList.STANDARD), key
        case GrantTrial(grant_key=key):
            return "voucher", -catalog.trial_grant(key).total, key
        case GrantVoucher(amount=amount):
            return "credit", -amount, ""
        case PayArrears(amount=amount):
            return "adjustment", -amount, "arrears"
    raise invalid("kind", f"wallet events of type {type(event).__name__} are not recorded here")


def api_event_key(tenant_id: str, idempotency_key: str | None) -> str:
    """The key of a wallet event recorded through the API: the caller's idempotency key, or
    a fresh one."""
    return f"api:{tenant_id}:{idempotency_key or new_event_key()}"


def do_wallet_event(
    session: Session,
    *,
    tenant_id: str,
    kind: str,
    item_key: str | None,
    amount: str | None,
    unit: Unit | None,
    idempotency_key: str | None,
    now: datetime,
    catalog: Catalog,
    created_by: str | None,
) -> WalletEventRow:
    """Record a wallet event effective now, and its purchase or credit line on the ledger.
    With an ``idempotency_key`` a retry returns the first event and records nothing."""
    key = api_event_key(tenant_id, idempotency_key)
    at = wallet_event_at(session, tenant_id=tenant_id, now=now)
    event = make_event(kind=kind, at=at, key=item_key, amount=amount, unit=unit)
    row = do_append_event(
        session, tenant_id=tenant_id, event=event, key=key, catalog=catalog, created_by=created_by
    )
    if row is None:
        return wallet_event_by_key(session, key=key)
    line_kind, value, meter = purchase_line(event, catalog=catalog)
    session.add(
        LedgerEntry(
            key=f"wallet:{key}", tenant_id=tenant_id, user_id=created_by, kind=line_kind,
            meter=meter, amount=format_decimal(value.value), unit=value.unit.value,
            period_start=at, period_end=at, note=f"wallet event {row.seq} ({kind})",
        )
    )  # fmt: skip
    session.flush()
    return row
