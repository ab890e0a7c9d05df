"""Billing console pages: balance and buckets, plans, statements, the price book.

Same gate and services as ``/api/v1/billing``: tenant admins read (``settings.view``) and
subscribe or buy extension packs (``settings.edit``); only the platform admin adds prices,
grants credits, trials and arrears payments, and may look at any tenant (``tenant_id``).
Payment is out of scope: a purchase here is recorded as the API records it, and an admin or
a payment webhook credits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import PlatformAdmin, SessionDep
from hangar.billing import service
from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Unit, format_decimal
from hangar.billing.orm import WalletEventRow
from hangar.billing.router import PLATFORM_ONLY_EVENTS, BillingAdmin
from hangar.billing.schemas import PriceCreate, WalletEventCreate
from hangar.errors import PermissionDenied, ValidationFailed
from hangar.tenancy.access import Actor
from hangar.tenancy.tenants import list_tenants
from hangar.web.chrome import PageChrome
from hangar.web.forms import blank_to_none, parse
from hangar.web.pages.billing_forms import (
    LINE_CAP,
    WalletView,
    month_range,
    parse_effective_from,
    price_table,
    statement_csv_text,
    statement_view,
    wallet_view,
)
from hangar.web.permissions import can
from hangar.web.templating import render, when

router = APIRouter(prefix="/billing", include_in_schema=False)
Box = Annotated[str, Form()]

EVENT_NAMES = {
    "subscribe": "Subscribed",
    "buy_extension": "Bought an extension pack",
    "credit": "Credited",
    "grant_trial": "Granted the trial",
    "pay_arrears": "Recorded an arrears payment",
}


def tenant_of(actor: Actor, requested: str) -> str:
    return service.access_tenant_id(
        actor_tenant_id=actor.tenant_id,
        requested=blank_to_none(requested),
        platform_admin=actor.user.is_platform_admin,
    )


def tenant_picker(session: Session, actor: Actor, tid: str) -> dict[str, object]:
    """The tenant picker (platform admin only) and the tenant shown."""
    tenants = list_tenants(session) if actor.user.is_platform_admin else []
    return {"tenants": tenants, "tenant_id": tid, "own_tenant": tid == actor.tenant_id}


def _wallet_section(session: Session, actor: Actor, tid: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        **tenant_picker(session, actor, tid),
        "wallet": wallet_view(session, tenant_id=tid, at=now),
        "ledger": service.ledger_totals(session, tenant_id=tid),
        "catalog": DEFAULT_CATALOG,
        "num": format_decimal,
        "can_buy": actor.user.is_platform_admin or can(actor, "settings.edit", write=True),
        "platform_admin": actor.user.is_platform_admin,
        "units": [u.value for u in Unit if not u.is_currency],
        # A fresh key per form shown: a double submit records the event once.
        "order_key": service.new_event_key(),
    }


@router.get("")
def billing_page(
    request: Request, session: SessionDep, actor: BillingAdmin, chrome: PageChrome,
    tenant_id: str = "",
) -> Response:  # fmt: skip
    tid = tenant_of(actor, tenant_id)
    context = {"chrome": chrome, "tab": "wallet", **_wallet_section(session, actor, tid)}
    return render(request, "billing/page.html", context)


@router.post("/wallet/events", name="billing.wallet_event")
def add_wallet_event(
    request: Request,
    session: SessionDep,
    actor: BillingAdmin,
    kind: Box = "",
    key: Box = "",
    amount: Box = "",
    unit: Box = "",
    tenant_id: Box = "",
    idempotency_key: Box = "",
) -> Response:
    """The form version of ``POST /api/v1/billing/wallet/events``: the same checks, the same
    service; the wallet section comes back with what changed."""
    body = parse(
        WalletEventCreate, kind=kind, key=blank_to_none(key), amount=blank_to_none(amount),
        unit=blank_to_none(unit), tenant_id=blank_to_none(tenant_id),
        idempotency_key=blank_to_none(idempotency_key),
    )  # fmt: skip
    if body.kind in PLATFORM_ONLY_EVENTS and not actor.user.is_platform_admin:
        raise PermissionDenied(f"only the platform admin may record a '{body.kind}' event")
    tid = tenant_of(actor, body.tenant_id or "")
    row = service.do_wallet_event(
        session,
        tenant_id=tid,
        kind=body.kind,
        item_key=body.key,
        amount=body.amount,
        unit=body.unit,
        idempotency_key=body.idempotency_key,
        now=datetime.now(UTC),
        catalog=DEFAULT_CATALOG,
        created_by=actor.id,
    )
    context = _wallet_section(session, actor, tid)
    context["flash"] = _outcome(row, context["wallet"])
    return render(request, "billing/_wallet.html", context)


def _outcome(row: WalletEventRow, wallet: object) -> str:
    """What the event did, read back from the replayed wallet (queued or started)."""
    what = " ".join(str(v) for v in row.payload.values())
    text = f"{EVENT_NAMES[row.kind]} ({what}), event {row.seq}"
    if row.kind == "subscribe" and isinstance(wallet, WalletView):
        key = row.payload.get("plan_key")
        queued = [q for q in wallet.queued if q.plan_key == key and q.paid_at == row.at]
        if queued:
            return (
                f"{text}: queued, starts {when(queued[0].starts_at)} when the current period ends."
            )
        if wallet.period is not None:
            return f"{text}: the period runs to {when(wallet.period.end)}."
    return f"{text}."


# -- statements ------------------------------------------------------------------------------


@router.get("/statements")
def statements_page(
    request: Request, session: SessionDep, actor: BillingAdmin, chrome: PageChrome,
    month: str = "", tenant_id: str = "",
) -> Response:  # fmt: skip
    tid = tenant_of(actor, tenant_id)
    context: dict[str, object] = {"chrome": chrome, "tab": "statements", "cap": LINE_CAP,
                                  **tenant_picker(session, actor, tid)}  # fmt: skip
    try:
        text, start, end = month_range(month, now=datetime.now(UTC))
    except ValidationFailed as err:
        context.update(error=err, month=month, statement=None)
        return render(request, "billing/statements.html", context, status=err.http_status)
    view = statement_view(session, tenant_id=tid, month=text, start=start, end=end)
    context.update(error=None, month=text, statement=view)
    return render(request, "billing/statements.html", context)


@router.get("/statements.csv")
def statement_csv(
    session: SessionDep, actor: BillingAdmin, month: str = "", tenant_id: str = ""
) -> Response:
    """Every line of the month, as the statement page counts them."""
    tid = tenant_of(actor, tenant_id)
    text, start, end = month_range(month, now=datetime.now(UTC))
    lines = service.statement(session, tenant_id=tid, start=start, end=end)
    name = f"hangar-statement-{text}.csv"
    return Response(
        statement_csv_text(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- prices ----------------------------------------------------------------------------------


def _prices_section(session: Session, actor: Actor, tid: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        **tenant_picker(session, actor, tid),
        "prices": price_table(session, tenant_id=tid, now=now),
        "now": now,
        "platform_admin": actor.user.is_platform_admin,
        "units": [u.value for u in Unit],
        "meters": [c.key for c in DEFAULT_CATALOG.cards]
        + [service.CPU_METER, service.MEMORY_METER],
    }


@router.get("/prices")
def prices_page(
    request: Request, session: SessionDep, actor: BillingAdmin, chrome: PageChrome,
    tenant_id: str = "",
) -> Response:  # fmt: skip
    tid = tenant_of(actor, tenant_id)
    context = {"chrome": chrome, "tab": "prices", **_prices_section(session, actor, tid)}
    return render(request, "billing/prices.html", context)


@router.post("/prices", name="billing.price_add")
def add_price(
    request: Request,
    session: SessionDep,
    actor: PlatformAdmin,
    meter: Box = "",
    rate_per_hour: Box = "",
    unit: Box = "",
    effective_from: Box = "",
    scope_tenant_id: Box = "",
    tenant_id: Box = "",
) -> Response:
    """The form version of ``POST /api/v1/billing/prices``: same model, same service."""
    body = parse(
        PriceCreate, meter=meter, rate_per_hour=rate_per_hour, unit=unit,
        effective_from=parse_effective_from(effective_from),
        tenant_id=blank_to_none(scope_tenant_id),
    )  # fmt: skip
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
    context = _prices_section(session, actor, tenant_of(actor, tenant_id))
    context["flash"] = (
        f"Added price {row.rate_per_hour} {row.unit}/h for '{row.meter}' from "
        f"{row.effective_from:%Y-%m-%d %H:%M} UTC."
    )
    return render(request, "billing/_prices.html", context)
