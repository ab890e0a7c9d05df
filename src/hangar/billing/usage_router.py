"""Usage statistics: ``/api/v1/usage`` — used and allocated GPU-hours per workspace × card
model, used GPU-hours and amount spent per user, and allocated GPU-hours per cluster × card
model (the allocation export, spec 01 §2) over whole UTC days (spec 09 §3, §6, decision I1),
as JSON, CSV or XLSX.

Tenant admins (owner, admin group) see their own tenant; everyone else gets a 403 from the
``settings.view`` capability gate. The allocation export also admits the platform admin, who
may name a ``tenant_id`` or, naming none, see every tenant.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from hangar.api.deps import CurrentActor, Permit, SessionDep
from hangar.billing.usage_export import (
    XLSX_TYPE,
    allocations_csv,
    allocations_xlsx,
    attachment,
    to_csv,
    to_xlsx,
)
from hangar.billing.usage_schemas import AllocationReport, UserUsageReport, WorkspaceUsageReport
from hangar.billing.usage_service import (
    access_allocation_tenant,
    allocation_report,
    user_report,
    workspace_report,
)
from hangar.errors import PermissionDenied
from hangar.tenancy.access import Actor, check_capability

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])

UsageViewer = Annotated[Actor, Depends(Permit("settings.view"))]


@router.get("/workspaces", response_model=WorkspaceUsageReport)
def workspace_usage(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> WorkspaceUsageReport:
    """Used and allocated GPU-hours per workspace × card model over days ``start``..``end``
    (UTC, both included; default the last 7 days; at most 180 days back)."""
    return workspace_report(session, tenant_id=actor.tenant_id, start=start, end=end)


@router.get("/workspaces.csv", response_class=Response)
def workspace_usage_csv(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> Response:
    """The same rows as CSV (tags as a JSON object)."""
    report = workspace_report(session, tenant_id=actor.tenant_id, start=start, end=end)
    headers = attachment(report, "csv")
    return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/workspaces.xlsx", response_class=Response)
def workspace_usage_xlsx(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> Response:
    """The same rows as an Excel workbook; GPU-hours are numbers."""
    report = workspace_report(session, tenant_id=actor.tenant_id, start=start, end=end)
    return Response(to_xlsx(report), media_type=XLSX_TYPE, headers=attachment(report, "xlsx"))


@router.get("/users", response_model=UserUsageReport)
def user_usage(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> UserUsageReport:
    """Used GPU-hours and amount spent (compute charges, per unit) per user over the same kind
    of range; users with neither are left out."""
    return user_report(session, tenant_id=actor.tenant_id, start=start, end=end)


def allocation_viewer(actor: CurrentActor) -> Actor:
    """Tenant admins, or the platform admin (token scope ``settings:read`` as for the rest)."""
    if not actor.user.is_platform_admin:
        check_capability(actor, "settings.view", write=False)
    elif not actor.scope_allows("settings", write=False):
        raise PermissionDenied(
            "this API token lacks the scope 'settings:read'", required_scope="settings:read"
        )
    return actor


AllocationViewer = Annotated[Actor, Depends(allocation_viewer)]


def _allocations(
    session: SessionDep, actor: Actor, tenant_id: str | None, start: date | None, end: date | None
) -> AllocationReport:
    tid = access_allocation_tenant(
        session, actor_tenant_id=actor.tenant_id, requested=tenant_id,
        platform_admin=actor.user.is_platform_admin,
    )  # fmt: skip
    return allocation_report(session, tenant_id=tid, start=start, end=end)


@router.get("/allocations", response_model=AllocationReport)
def allocations(
    session: SessionDep,
    actor: AllocationViewer,
    tenant_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> AllocationReport:
    """Allocated GPU-hours per cluster × card model over the same kind of range (1 card on
    1 Jan and 2 cards on 2 Jan → 72 GPU-hours over 1–2 Jan); zero rows left out."""
    return _allocations(session, actor, tenant_id, start, end)


@router.get("/allocations.csv", response_class=Response)
def allocations_as_csv(
    session: SessionDep,
    actor: AllocationViewer,
    tenant_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """The allocation rows as CSV."""
    report = _allocations(session, actor, tenant_id, start, end)
    headers = attachment(report, "csv", stem="hangar-allocations")
    return Response(allocations_csv(report), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/allocations.xlsx", response_class=Response)
def allocations_as_xlsx(
    session: SessionDep,
    actor: AllocationViewer,
    tenant_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """The allocation rows as an Excel workbook; GPU-hours are numbers."""
    report = _allocations(session, actor, tenant_id, start, end)
    headers = attachment(report, "xlsx", stem="hangar-allocations")
    return Response(allocations_xlsx(report), media_type=XLSX_TYPE, headers=headers)
