"""The wallet watch: alerts at 80 % and 100 % of a wallet's units, and the exhausted-wallet
policy for running work (spec 10 §4 "surprise charges" row 3, §6 item 5).

Runs after each settlement pass. For each prepaid tenant, per compute unit, the share used
is ``1 − Σ amount / Σ granted`` over the buckets active now. Crossing 80 % and 100 % raises
one :class:`BillingAlert` each, keyed by the newest bucket (so a new plan period, extension
pack or tranche alerts afresh, and a restart never alerts twice). Alerts are also written to
the audit log, where admins already look.

Arrears above the cleanup threshold (10 DCU, B-E6) raise a daily ``arrears_over_threshold``
alert: the tenant's data may be cleaned, or the part above is compensated.

When every unit's active balance is ≤ 0 and the tenant's policy says ``stop``, every live or
waiting workload of the tenant is stopped with the reason, once per exhaustion (an alert of
kind ``stopped``); data is kept (B-E6). Under ``arrears`` (the default) work goes on and the
shortfall is recorded as arrears by settlement.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hangar.audit.service import do_record
from hangar.billing.arrears import assess_arrears
from hangar.billing.catalog import DEFAULT_CATALOG, Catalog
from hangar.billing.money import Unit, format_decimal
from hangar.billing.orm import BillingAlert, BillingPolicy, WalletEventRow
from hangar.billing.service import load_wallet
from hangar.billing.subscriptions import Wallet, advance, balance
from hangar.db.engine import transaction
from hangar.workloads.lifecycle import TERMINAL, State
from hangar.workloads.orm import Workload
from hangar.workloads.service import STOPPABLE, do_stop

log = logging.getLogger("hangar.billing")

LEVELS = (80, 100)


def used_percent(wallet: Wallet, unit: Unit) -> tuple[Decimal, int] | None:
    """(share used in %, newest bucket id) of ``unit`` over the buckets active now."""
    mine = [
        b
        for b in wallet.buckets
        if b.unit is unit and b.active and b.valid_from <= wallet.as_of and b.granted.value > 0
    ]
    if not mine:
        return None
    left = sum((b.amount.value for b in mine), Decimal(0))
    granted = sum((b.granted.value for b in mine), Decimal(0))
    return (1 - left / granted) * 100, max(b.id for b in mine)


def _alert(
    session: Session, *, key: str, tenant_id: str, kind: str, message: str, now: datetime
) -> bool:
    """Raise the alert ``key`` once; False when it was raised before."""
    if session.get(BillingAlert, key) is not None:
        return False
    session.add(BillingAlert(key=key, tenant_id=tenant_id, kind=kind, message=message, at=now))
    do_record(
        session, tenant_id=tenant_id, user_id=None, username="system", workspace_id=None,
        action=f"billing.alert.{kind}", method="SYSTEM", path="/api/v1/billing/alerts",
        target_type="tenant", target_id=tenant_id, result="success", status_code=200,
        level="warning", details={"message": message},
    )  # fmt: skip
    log.warning("tenant %s: %s", tenant_id, message)
    return True


def _stop_all(session: Session, *, tenant_id: str, reason: str, now: datetime) -> int:
    stopped = 0
    for workload in session.scalars(
        select(Workload).where(
            Workload.tenant_id == tenant_id,
            Workload.state.not_in([s.value for s in TERMINAL | {State.STOPPING}]),
        )
    ):
        if State(workload.state) not in STOPPABLE:
            continue
        do_stop(session, workload, message=f"stopped by billing: {reason}", now=now)
        stopped += 1
    return stopped


def watch_tenant(session: Session, *, tenant_id: str, now: datetime, catalog: Catalog) -> None:
    wallet = load_wallet(session, tenant_id=tenant_id, catalog=catalog)
    if wallet is None:
        return
    if now > wallet.as_of:
        wallet = advance(wallet, to=now, catalog=catalog).wallet
    exhausted = True
    newest = 0
    for unit in (Unit.DCU, Unit.CU):
        found = used_percent(wallet, unit)
        if found is None:
            continue
        used, bucket = found
        newest = max(newest, bucket)
        left = sum(
            (b.amount.value for b in wallet.buckets if b.unit is unit and b.active), Decimal(0)
        )
        if left > 0:
            exhausted = False
        for level in LEVELS:
            if used >= level:
                _alert(
                    session, key=f"wallet:{tenant_id}:{unit.value}:{level}:{bucket}",
                    tenant_id=tenant_id, kind=f"wallet_{level}",
                    message=f"the wallet has used {level} % of its {unit.value} "
                    f"({format_decimal(left)} {unit.value} left)",
                    now=now,
                )  # fmt: skip
    owed = balance(wallet, unit=catalog.plan_unit, catalog=catalog).arrears
    assessed = assess_arrears(owed=owed, threshold=catalog.arrears_cleanup_threshold)
    if assessed.cleanup_allowed:
        _alert(
            session, key=f"wallet:{tenant_id}:arrears:{now.date().isoformat()}",
            tenant_id=tenant_id, kind="arrears_over_threshold",
            message=f"arrears of {assessed.owed} exceed {assessed.threshold}: the tenant's data "
            f"may be cleaned (B-E6); if it is not, {assessed.voucher} is compensated "
            "(POST /api/v1/billing/arrears/compensation)",
            now=now,
        )  # fmt: skip
    policy = session.get(BillingPolicy, tenant_id)
    if not exhausted or newest == 0 or policy is None or policy.exhausted_action != "stop":
        return
    reason = "the wallet is exhausted and the billing policy stops compute (data is kept)"
    if _alert(
        session, key=f"wallet:{tenant_id}:stopped:{newest}", tenant_id=tenant_id,
        kind="wallet_stopped", message=reason, now=now,
    ):  # fmt: skip
        count = _stop_all(session, tenant_id=tenant_id, reason=reason, now=now)
        log.warning("tenant %s: wallet exhausted, stopped %d workload(s)", tenant_id, count)


class WalletWatch:
    """The loop body: watch every prepaid tenant, one transaction each."""

    def __init__(self, sessions: sessionmaker[Session], catalog: Catalog = DEFAULT_CATALOG):
        self.sessions, self.catalog = sessions, catalog

    def step(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        with self.sessions() as session:
            tenants = list(session.scalars(select(WalletEventRow.tenant_id).distinct()))
        for tenant_id in tenants:
            with transaction(self.sessions) as session:
                watch_tenant(session, tenant_id=tenant_id, now=now, catalog=self.catalog)
