"""Billing gates at submission: what a tenant's money allows before work is queued.

Checked when a job is submitted or restarted and when a dev environment starts (through
``jobs.submission.check_admissible``), so a refusal is immediate and names the figures:

1. **Minimum balance** (spec 10 B-M3, §6 item 4a): with a ``min_balance`` in the tenant's
   :class:`BillingPolicy`, work that uses compute starts only while the currency balance
   (credits − charges on the ledger, in ``min_balance_unit``) is *more* than it, e.g.
   "> 100 CNY".
2. **Exhausted wallet** (§6 item 5): a prepaid tenant whose wallet has no active units left
   (of any unit) under the ``stop`` policy starts nothing new, and the wallet watch stops
   its running work (``billing.watch``); under ``arrears`` it goes on and accrues arrears
   (B-E6).
3. **Plan parallelism** (§2.3): one workload larger than the plan's cap on its own could never
   run; it is refused here. One that fits the cap but not next to running work waits in the
   queue (the scheduler's ``ParallelismCap``), with the same figures.

CPU-only work is gated like GPU work: it is billed too (cpu and memory meters).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from hangar.billing.caps import plan_caps
from hangar.billing.catalog import DEFAULT_CATALOG, Catalog
from hangar.billing.money import Unit, format_decimal
from hangar.billing.orm import BillingPolicy
from hangar.billing.service import ledger_totals, wallet_balances
from hangar.errors import Conflict
from hangar.scheduling.model import Request

EXHAUSTED_ACTIONS = ("stop", "arrears")


def currency_balance(session: Session, *, tenant_id: str, unit: Unit) -> Decimal:
    """Credits minus charges on the ledger in ``unit`` (``service.ledger_totals``)."""
    for line in ledger_totals(session, tenant_id=tenant_id):
        if line.unit is unit:
            return line.credited.value - line.charged.value
    return Decimal(0)


def check_can_start(
    session: Session,
    *,
    tenant_id: str,
    request: Request,
    now: datetime,
    catalog: Catalog = DEFAULT_CATALOG,
) -> None:
    """Raise ``Conflict`` (409) naming the rule, the figures and the fix, or return."""
    policy = session.get(BillingPolicy, tenant_id)
    if policy is not None and policy.min_balance is not None:
        unit = Unit(policy.min_balance_unit)
        minimum = Decimal(policy.min_balance)
        balance = currency_balance(session, tenant_id=tenant_id, unit=unit)
        if balance <= minimum:
            raise Conflict(
                f"the tenant's balance is {format_decimal(balance)} {unit.value}; starting work "
                f"needs more than {format_decimal(minimum)} {unit.value} (billing policy "
                "min_balance, spec 10 B-M3): ask the platform admin to credit the wallet",
                fields={"balance": format_decimal(balance), "min_balance": policy.min_balance},
            )
    if policy is not None and policy.exhausted_action == "stop":
        held = wallet_balances(session, tenant_id=tenant_id, at=now, catalog=catalog)
        if held and all(b.active.value <= 0 for b in held):
            left = ", ".join(
                f"{format_decimal(b.active.value)} {b.unit.value}"
                + (f" (arrears {format_decimal(b.arrears.value)})" if b.arrears.value else "")
                for b in held
            )
            raise Conflict(
                f"the tenant's wallet is exhausted ({left}) and the billing policy stops "
                "compute then (exhausted_action 'stop'): renew or upgrade the plan, or buy an "
                "extension pack",
                fields={"wallet": "exhausted"},
            )
    cap = plan_caps(session, [tenant_id], now=now, catalog=catalog).get(tenant_id)
    if cap is not None:
        asks = cap.units(request.total)
        if asks > cap.cap:
            raise Conflict(
                f"this asks {asks} (cards × card-model weight) and plan '{cap.plan}' allows "
                f"{cap.cap} at once (spec 10 §2.3): it could never start; ask for fewer or "
                "smaller cards, or upgrade the plan",
                fields={"resources": f"parallelism {asks} > {cap.cap}"},
            )
