"""Billing console: the tenant's policy (minimum balance, exhausted wallet), deposits, wallet
alerts and the free platform storage. Same gates and services as
``/api/v1/billing/policy|deposits|alerts`` and ``PUT /api/v1/tenants/{id}/storage-quota``:
tenant admins read, only the platform admin changes the policy, records a deposit or sets the
storage quota."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import PlatformAdmin, SessionDep
from hangar.assets import usage
from hangar.billing import policy, service
from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Unit
from hangar.billing.router import BillingAdmin
from hangar.billing.schemas import DepositCreate, PolicyUpdate
from hangar.errors import NotFound, ValidationFailed
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant
from hangar.tenancy.routes.tenants import set_storage_quota
from hangar.tenancy.schemas import StorageQuotaUpdate
from hangar.web.chrome import PageChrome
from hangar.web.forms import blank_to_none, parse
from hangar.web.pages.billing import tenant_of, tenant_picker
from hangar.web.templating import render

router = APIRouter(prefix="/billing", include_in_schema=False)
Box = Annotated[str, Form()]
QUOTA_MAX_GIB = 1_000_000  # StorageQuotaUpdate's bound
QUOTA_RULE = f"must be a whole number of GiB from 0 to {QUOTA_MAX_GIB}"


def _section(session: Session, actor: Actor, tid: str) -> dict[str, object]:
    row = policy.policy_of(session, tenant_id=tid)
    return {
        **tenant_picker(session, actor, tid),
        "policy": row,
        "balance": policy.balance_of(session, tenant_id=tid, unit=Unit(row.min_balance_unit)),
        "alerts": policy.alerts(session, tenant_id=tid),
        "arrears": policy.arrears_assessment(
            session, tenant_id=tid, now=datetime.now(UTC), catalog=DEFAULT_CATALOG
        ),
        "platform_admin": actor.user.is_platform_admin,
        "currencies": [u.value for u in Unit if u.is_currency],
        "deposit_key": service.new_event_key(),
    }


def _storage_section(session: Session, actor: Actor, tid: str) -> dict[str, object]:
    tenant = session.get(Tenant, tid)
    if tenant is None:
        raise NotFound.of("tenant", tid)
    return {
        "tenant_id": tid,
        "storage_quota_gib": tenant.storage_quota_gib,
        "storage_used_gib": usage.used_bytes(session, tenant_id=tid) / usage.GIB,
        "quota_max_gib": QUOTA_MAX_GIB,
        "platform_admin": actor.user.is_platform_admin,
    }


@router.get("/policy")
def policy_page(
    request: Request, session: SessionDep, actor: BillingAdmin, chrome: PageChrome,
    tenant_id: str = "",
) -> Response:  # fmt: skip
    tid = tenant_of(actor, tenant_id)
    context = {"chrome": chrome, "tab": "policy", **_section(session, actor, tid),
               "storage": _storage_section(session, actor, tid)}  # fmt: skip
    return render(request, "billing/policy.html", context)


@router.post("/policy", name="billing.policy_set")
def set_policy(
    request: Request,
    session: SessionDep,
    actor: PlatformAdmin,
    min_balance: Box = "",
    min_balance_unit: Box = "CNY",
    exhausted_action: Box = "arrears",
    tenant_id: Box = "",
) -> Response:
    """The form version of ``PUT /api/v1/billing/policy``."""
    body = parse(
        PolicyUpdate, min_balance=blank_to_none(min_balance), min_balance_unit=min_balance_unit,
        exhausted_action=exhausted_action, tenant_id=blank_to_none(tenant_id),
    )  # fmt: skip
    tid = tenant_of(actor, body.tenant_id or "")
    policy.do_set_policy(
        session, tenant_id=tid, min_balance=body.min_balance,
        min_balance_unit=body.min_balance_unit, exhausted_action=body.exhausted_action,
        updated_by=actor.id,
    )  # fmt: skip
    context = _section(session, actor, tid)
    context["flash"] = "Saved the billing policy."
    return render(request, "billing/_policy.html", context)


@router.post("/deposits", name="billing.deposit")
def add_deposit(
    request: Request,
    session: SessionDep,
    actor: PlatformAdmin,
    amount: Box = "",
    unit: Box = "CNY",
    note: Box = "",
    idempotency_key: Box = "",
    tenant_id: Box = "",
) -> Response:
    """The form version of ``POST /api/v1/billing/deposits``."""
    body = parse(
        DepositCreate, amount=amount, unit=unit, note=note, tenant_id=blank_to_none(tenant_id),
        idempotency_key=blank_to_none(idempotency_key),
    )  # fmt: skip
    tid = tenant_of(actor, body.tenant_id or "")
    line = policy.do_deposit(
        session, tenant_id=tid, amount=body.amount, unit=body.unit,
        idempotency_key=body.idempotency_key, note=body.note, now=datetime.now(UTC),
        created_by=actor.id,
    )  # fmt: skip
    context = _section(session, actor, tid)
    context["flash"] = f"Recorded a deposit of {line.amount.lstrip('-')} {line.unit}."
    return render(request, "billing/_policy.html", context)


@router.post("/arrears/compensation", name="billing.compensate")
def compensate(
    request: Request, session: SessionDep, actor: PlatformAdmin, tenant_id: Box = "",
    idempotency_key: Box = "",
) -> Response:  # fmt: skip
    """The form version of ``POST /api/v1/billing/arrears/compensation``."""
    tid = tenant_of(actor, tenant_id)
    event = policy.do_compensate(
        session, tenant_id=tid, idempotency_key=blank_to_none(idempotency_key),
        now=datetime.now(UTC), catalog=DEFAULT_CATALOG, created_by=actor.id,
    )  # fmt: skip
    context = _section(session, actor, tid)
    context["flash"] = (
        f"Granted a compensation voucher of {event.payload['amount']} {event.payload['unit']}."
    )
    return render(request, "billing/_policy.html", context)


def parse_quota_gib(raw: str) -> int:
    """The storage quota box as GiB, or a 422 naming the field, the rule and the fix."""
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,7}", text) or int(text) > QUOTA_MAX_GIB:
        raise ValidationFailed(
            f"storage quota: {QUOTA_RULE}; got {text[:20]!r}: enter e.g. 300",
            fields={"storage_quota_gib": QUOTA_RULE},
        )
    return int(text)


@router.post("/storage-quota", name="tenant.storage_quota")
def set_quota(
    request: Request, session: SessionDep, actor: PlatformAdmin, storage_quota_gib: Box = "",
    tenant_id: Box = "",
) -> Response:  # fmt: skip
    """The form version of ``PUT /api/v1/tenants/{id}/storage-quota`` (the same route
    function): what the tenant holds already stays, new versions over it are refused."""
    tid = tenant_of(actor, tenant_id)
    body = StorageQuotaUpdate(storage_quota_gib=parse_quota_gib(storage_quota_gib))
    made = set_storage_quota(session, actor, tid, body)
    flash = f"{made.name}: {made.storage_quota_gib} GiB free platform storage."
    context = {"storage": _storage_section(session, actor, tid), "flash": flash}
    return render(request, "billing/_storage_quota.html", context)
