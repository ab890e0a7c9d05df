"""A tenant's billing policy, currency deposits and billing alerts (spec 10 B-M3, §6 4a, 5).

- The policy (platform admin only) sets the minimum currency balance that starting work
  needs (None: no gate) and what an exhausted prepaid wallet does to running work.
- A deposit is money received for a tenant (a payment webhook or an admin): one negative
  ``deposit`` line in a currency on the ledger, so the currency balance (credits − charges)
  rises. Idempotent by its key, like every ledger line.
- Alerts are raised by the wallet watch (``billing.watch``) and only read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.billing.arrears import ArrearsAssessment, assess_arrears
from hangar.billing.catalog import Catalog
from hangar.billing.errors import invalid
from hangar.billing.gates import EXHAUSTED_ACTIONS, currency_balance
from hangar.billing.money import Amount, Unit, format_decimal, parse_amount, require_positive
from hangar.billing.orm import BillingAlert, BillingPolicy, LedgerEntry, WalletEventRow
from hangar.billing.service import (
    api_event_key,
    do_wallet_event,
    new_event_key,
    wallet_balances,
)
from hangar.errors import Conflict


def policy_of(session: Session, *, tenant_id: str) -> BillingPolicy:
    """The tenant's policy, or the defaults (no minimum balance, arrears allowed) unsaved."""
    found = session.get(BillingPolicy, tenant_id)
    return found or BillingPolicy(
        tenant_id=tenant_id, min_balance=None, min_balance_unit=Unit.CNY.value,
        exhausted_action="arrears",
    )  # fmt: skip


def do_set_policy(
    session: Session,
    *,
    tenant_id: str,
    min_balance: str | None,
    min_balance_unit: Unit,
    exhausted_action: str,
    updated_by: str | None,
) -> BillingPolicy:
    if not min_balance_unit.is_currency:
        raise invalid(
            "min_balance_unit",
            f"must be a currency (CNY), not the compute unit {min_balance_unit.value}: the "
            "minimum balance gates money on the ledger; prepaid units have the exhausted policy",
        )
    minimum = None
    if min_balance is not None:
        # parse_amount refuses negative, non-numeric and non-finite values, naming the field.
        minimum = format_decimal(
            parse_amount(min_balance, min_balance_unit, field="min_balance").value
        )
    if exhausted_action not in EXHAUSTED_ACTIONS:
        raise invalid(
            "exhausted_action",
            f"must be one of {', '.join(EXHAUSTED_ACTIONS)} (got {exhausted_action!r})",
        )
    row = session.get(BillingPolicy, tenant_id)
    if row is None:
        row = BillingPolicy(tenant_id=tenant_id)
        session.add(row)
    row.min_balance, row.min_balance_unit = minimum, min_balance_unit.value
    row.exhausted_action, row.updated_by = exhausted_action, updated_by
    session.flush()
    return row


def do_deposit(
    session: Session,
    *,
    tenant_id: str,
    amount: str,
    unit: Unit,
    idempotency_key: str | None,
    note: str,
    now: datetime,
    created_by: str | None,
) -> LedgerEntry:
    """Credit ``amount`` of a currency to the tenant; a retry with the same key records
    nothing and returns the first line."""
    if not unit.is_currency:
        raise invalid(
            "unit",
            f"a deposit is money (CNY); compute units ({unit.value}) are granted to the wallet "
            "with a 'credit' wallet event",
        )
    value = require_positive(parse_amount(amount, unit, field="amount"), field="amount")
    key = f"deposit:{tenant_id}:{idempotency_key or new_event_key()}"
    found = session.scalar(select(LedgerEntry).where(LedgerEntry.key == key))
    if found is not None:
        return found
    line = LedgerEntry(
        key=key, tenant_id=tenant_id, user_id=created_by, kind="deposit", meter="",
        amount=format_decimal((-value).value), unit=unit.value, period_start=now,
        period_end=now, note=note[:256] or "deposit",
    )  # fmt: skip
    session.add(line)
    session.flush()
    return line


def balance_of(session: Session, *, tenant_id: str, unit: Unit) -> Amount:
    return Amount(currency_balance(session, tenant_id=tenant_id, unit=unit), unit)


def alerts(session: Session, *, tenant_id: str, limit: int = 100) -> Sequence[BillingAlert]:
    return session.scalars(
        select(BillingAlert)
        .where(BillingAlert.tenant_id == tenant_id)
        .order_by(BillingAlert.at.desc(), BillingAlert.key)
        .limit(limit)
    ).all()


def arrears_assessment(
    session: Session, *, tenant_id: str, now: datetime, catalog: Catalog
) -> ArrearsAssessment | None:
    """B-E6 applied to the wallet's arrears in the plan unit (None: no wallet)."""
    for held in wallet_balances(session, tenant_id=tenant_id, at=now, catalog=catalog):
        if held.unit is catalog.plan_unit:
            return assess_arrears(owed=held.arrears, threshold=catalog.arrears_cleanup_threshold)
    return None


def do_compensate(
    session: Session,
    *,
    tenant_id: str,
    idempotency_key: str | None,
    now: datetime,
    catalog: Catalog,
    created_by: str | None,
) -> WalletEventRow:
    """Grant the voucher due for arrears above the threshold (the platform did not clean in
    time): a ``credit`` event, which repays the arrears first. Nothing due is a 409; a retry
    with the same ``idempotency_key`` returns the first event."""
    if idempotency_key is not None:
        key = api_event_key(tenant_id, idempotency_key)
        found = session.scalar(select(WalletEventRow).where(WalletEventRow.key == key))
        if found is not None:
            return found
    assessed = arrears_assessment(session, tenant_id=tenant_id, now=now, catalog=catalog)
    if assessed is None or not assessed.voucher.is_positive:
        owed = "no wallet" if assessed is None else f"arrears {assessed.owed}"
        raise Conflict(
            f"no compensation is due ({owed}; a voucher covers only arrears above "
            f"{catalog.arrears_cleanup_threshold}, B-E6)",
            fields={"arrears": owed},
        )
    return do_wallet_event(
        session, tenant_id=tenant_id, kind="credit", item_key=None,
        amount=format_decimal(assessed.voucher.value), unit=assessed.voucher.unit,
        idempotency_key=idempotency_key, now=now, catalog=catalog, created_by=created_by,
    )  # fmt: skip
