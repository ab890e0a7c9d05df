"""Billing API: ``/api/v1/billing`` — balance, statements, prices, wallet events.

Who may do what: tenant admins (owner, admin group) read their tenant's balance, statements
and prices, and subscribe to plans or buy extension packs; only the platform admin adds
prices and grants credits, trials or arrears payments, and may act on any tenant
(``tenant_id``). Everything else is a 403 from the one permission gate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic_core import to_json
from sqlalchemy.orm import Session

from hangar.api.deps import SAFE_METHODS, CurrentActor, PlatformAdmin, SessionDep
from hangar.billing import accrual, metering, policy, service
from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.errors import invalid
from hangar.billing.money import Unit
from hangar.billing.schemas import (
    AlertRead,
    BalanceRead,
    CompensationCreate,
    DepositCreate,
    LedgerTotalRead,
    LineRead,
    MeterRecordCreate,
    MeterRecordRead,
    PolicyRead,
    PolicyUpdate,
    PriceCreate,
    PriceRead,
    StatementRead,
    WalletBalanceRead,
    WalletEventCreate,
    WalletEventRead,
)
from hangar.billing.subscriptions import current_plan
from hangar.errors import PermissionDenied
from hangar.tenancy.access import Actor, check_capability

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])

PLATFORM_ONLY_EVENTS = frozenset({"credit", "grant_trial", "pay_arrears"})


def billing_admin(request: Request, actor: CurrentActor) -> Actor:
    """Tenant admins (or the platform admin) only; token scopes as for tenant settings."""
    write = request.method not in SAFE_METHODS
    if not actor.user.is_platform_admin:
        check_capability(actor, "settings.edit" if write else "settings.view", write=write)
    elif not actor.scope_allows("settings", write=write):
        scope = f"settings:{'write' if write else 'read'}"
        raise PermissionDenied(f"this API token lacks the scope '{scope}'", required_scope=scope)
    return actor


BillingAdmin = Annotated[Actor, Depends(billing_admin)]


def _tenant(actor: Actor, requested: str | None) -> str:
    return service.access_tenant_id(
        actor_tenant_id=actor.tenant_id,
        requested=requested,
        platform_admin=actor.user.is_platform_admin,
    )


@router.get("/balance", response_model=BalanceRead)
def get_balance(
    session: SessionDep, actor: BillingAdmin, tenant_id: str | None = None
) -> BalanceRead:
    """Charges and credits per unit from the ledger; the wallet replayed from its events."""
    tid = _tenant(actor, tenant_id)
    now = datetime.now(UTC)
    wallet = service.load_wallet(session, tenant_id=tid, catalog=DEFAULT_CATALOG)
    balances = service.wallet_balances(session, tenant_id=tid, at=now, catalog=DEFAULT_CATALOG)
    assessed = policy.arrears_assessment(session, tenant_id=tid, now=now, catalog=DEFAULT_CATALOG)
    accrued = accrual.unsettled(session, tenant_id=tid, now=now)
    return BalanceRead(
        tenant_id=tid,
        as_of=now,
        prepaid=wallet is not None,
        ledger=[
            LedgerTotalRead(
                unit=t.unit.value, charged=str(t.charged.value), credited=str(t.credited.value)
            )
            for t in service.ledger_totals(session, tenant_id=tid)
        ],
        wallet=[
            WalletBalanceRead(
                unit=b.unit.value,
                active=str(b.active.value),
                inactive=str(b.inactive.value),
                scheduled=str(b.scheduled.value),
                arrears=str(b.arrears.value),
                arrears_cleanup_allowed=bool(
                    assessed and b.unit is assessed.owed.unit and assessed.cleanup_allowed
                ),
                arrears_voucher_due=str(
                    assessed.voucher.value if assessed and b.unit is assessed.owed.unit else 0
                ),
                active_now=str(b.active.value - accrued[b.unit].value)
                if b.unit in accrued
                else str(b.active.value),
            )
            for b in balances
        ],
        plan=None if wallet is None else current_plan(wallet, catalog=DEFAULT_CATALOG).key,
        unsettled=[
            LedgerTotalRead(unit=unit.value, charged=str(amount.value), credited="0")
            for unit, amount in sorted(accrued.items())
        ],
    )


def _period(
    period: str | None, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    if period is not None:
        try:
            hour = datetime.strptime(period, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        except ValueError:
            raise invalid(
                "period", f"must be an hour written YYYY-MM-DDTHH in UTC (got {period!r})"
            ) from None
        return hour, hour + timedelta(hours=1)
    if start is None or end is None:
        raise invalid("period", "give period=YYYY-MM-DDTHH, or both start and end")
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise invalid(name, f"must carry a time zone (got {value.isoformat()})")
    return start, end


@router.get("/statements", response_model=StatementRead)
def get_statement(
    session: SessionDep,
    actor: BillingAdmin,
    period: Annotated[str | None, Query(description="One UTC hour: 2026-11-23T14.")] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    tenant_id: str | None = None,
) -> Response:
    """Ledger lines of an hour or a range, each traceable to its usage interval and price
    version; totals are the exact sum, rounded once to 0.01 (spec 10 §5.7).

    A month can hold 100,000 lines: rows are serialised straight to JSON (the shape of
    :class:`StatementRead`) instead of through a model per line."""
    tid = _tenant(actor, tenant_id)
    lo, hi = _period(period, start, end)
    lines = service.statement(session, tenant_id=tid, start=lo, end=hi)
    totals = [
        {"unit": unit.value, "exact": str(exact.value), "total": str(rounded.value)}
        for unit, (exact, rounded) in service.statement_totals(lines).items()
    ]
    names = [column.key for column in service.STATEMENT_COLUMNS]
    body = {
        "tenant_id": tid, "start": lo, "end": hi,
        "lines": [dict(zip(names, line, strict=True)) for line in lines], "totals": totals,
    }  # fmt: skip
    return Response(to_json(body), media_type="application/json")


@router.get("/prices", response_model=list[PriceRead])
def list_prices(
    session: SessionDep, actor: BillingAdmin, tenant_id: str | None = None
) -> list[PriceRead]:
    """Every price version (platform-wide and the tenant's own), oldest first per meter."""
    tid = _tenant(actor, tenant_id)
    return [PriceRead.model_validate(r) for r in service.price_rows(session, tenant_id=tid)]


@router.post("/prices", response_model=PriceRead, status_code=201)
def add_price(session: SessionDep, actor: PlatformAdmin, body: PriceCreate) -> PriceRead:
    """Add a price version from ``effective_from`` (default now); backdating is refused."""
    now = datetime.now(UTC)
    row = service.do_add_price(
        session,
        tenant_id=body.tenant_id,
        meter=body.meter,
        rate_per_hour=body.rate_per_hour,
        unit=body.unit,
        effective_from=body.effective_from or now,
        now=now,
        created_by=actor.id,
    )
    return PriceRead.model_validate(row)


@router.post("/wallet/events", response_model=WalletEventRead, status_code=201)
def add_wallet_event(
    session: SessionDep, actor: BillingAdmin, body: WalletEventCreate
) -> WalletEventRead:
    """Subscribe, buy an extension pack (tenant admins); credit, trial grant, arrears paid
    (platform admin). Effective now; an ``idempotency_key`` makes a retry harmless."""
    if body.kind in PLATFORM_ONLY_EVENTS and not actor.user.is_platform_admin:
        raise PermissionDenied(f"only the platform admin may record a '{body.kind}' event")
    row = service.do_wallet_event(
        session,
        tenant_id=_tenant(actor, body.tenant_id),
        kind=body.kind,
        item_key=body.key,
        amount=body.amount,
        unit=body.unit,
        idempotency_key=body.idempotency_key,
        now=datetime.now(UTC),
        catalog=DEFAULT_CATALOG,
        created_by=actor.id,
    )
    return WalletEventRead.model_validate(row)


@router.get("/policy", response_model=PolicyRead)
def get_policy(
    session: SessionDep, actor: BillingAdmin, tenant_id: str | None = None
) -> PolicyRead:
    """The minimum balance that starting work needs and the exhausted-wallet policy."""
    tid = _tenant(actor, tenant_id)
    return _policy_read(session, tid)


@router.put("/policy", response_model=PolicyRead)
def set_policy(session: SessionDep, actor: PlatformAdmin, body: PolicyUpdate) -> PolicyRead:
    """Platform admin only: the gate applies to the tenant's submissions from now on."""
    tid = _tenant(actor, body.tenant_id)
    policy.do_set_policy(
        session, tenant_id=tid, min_balance=body.min_balance,
        min_balance_unit=body.min_balance_unit, exhausted_action=body.exhausted_action,
        updated_by=actor.id,
    )  # fmt: skip
    return _policy_read(session, tid)


def _policy_read(session: Session, tenant_id: str) -> PolicyRead:
    row = policy.policy_of(session, tenant_id=tenant_id)
    balance = policy.balance_of(session, tenant_id=tenant_id, unit=Unit(row.min_balance_unit))
    return PolicyRead(
        tenant_id=tenant_id, min_balance=row.min_balance, min_balance_unit=row.min_balance_unit,
        exhausted_action=row.exhausted_action, balance=str(balance.value),
    )  # fmt: skip


@router.post("/deposits", response_model=LineRead, status_code=201)
def add_deposit(session: SessionDep, actor: PlatformAdmin, body: DepositCreate) -> LineRead:
    """Platform admin (or a payment webhook with its token): money received for a tenant,
    one ``deposit`` credit line; an ``idempotency_key`` makes a retry harmless."""
    line = policy.do_deposit(
        session, tenant_id=_tenant(actor, body.tenant_id), amount=body.amount, unit=body.unit,
        idempotency_key=body.idempotency_key, note=body.note, now=datetime.now(UTC),
        created_by=actor.id,
    )  # fmt: skip
    return LineRead.model_validate(line)


@router.get("/alerts", response_model=list[AlertRead])
def list_alerts(
    session: SessionDep, actor: BillingAdmin, tenant_id: str | None = None
) -> list[AlertRead]:
    """Wallet alerts (80 %, 100 %, stopped by the exhausted policy), newest first."""
    rows = policy.alerts(session, tenant_id=_tenant(actor, tenant_id))
    return [AlertRead.model_validate(r) for r in rows]


@router.post("/meter-records", response_model=MeterRecordRead, status_code=201)
def add_meter_record(
    session: SessionDep, actor: PlatformAdmin, body: MeterRecordCreate
) -> MeterRecordRead:
    """Platform admin (or a metering service with its token): ``quantity`` of a generic meter
    used at ``at``, billed at the price of ``meter`` in force then, per unit of quantity, once
    its hour has ended. The same ``key`` again returns the first record."""
    tid = _tenant(actor, body.tenant_id)
    row = metering.do_record(
        session, key=f"api:{tid}:{body.key}", tenant_id=tid,
        meter=body.meter, quantity=body.quantity, at=body.at or datetime.now(UTC),
        workspace_id=body.workspace_id, user_id=body.user_id, note=body.note,
    )  # fmt: skip
    return MeterRecordRead.model_validate(row)


@router.post("/arrears/compensation", response_model=WalletEventRead, status_code=201)
def compensate_arrears(
    session: SessionDep, actor: PlatformAdmin, body: CompensationCreate
) -> WalletEventRead:
    """Platform admin: grant the voucher due for arrears above the threshold (10 DCU) that
    accrued because the platform did not clean in time (B-E6: 20 owed → a 10 DCU voucher)."""
    row = policy.do_compensate(
        session, tenant_id=_tenant(actor, body.tenant_id), idempotency_key=body.idempotency_key,
        now=datetime.now(UTC), catalog=DEFAULT_CATALOG, created_by=actor.id,
    )  # fmt: skip
    return WalletEventRead.model_validate(row)
