"""Usage statistics: ``/api/v1/usage`` — used GPU-hours per workspace × card model and per
user over whole UTC days (spec 09 §3, decision I1), as JSON, CSV or XLSX.

Tenant admins (owner, admin group) see their own tenant; everyone else gets a 403 from the
``settings.view`` capability gate.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from hangar.api.deps import Permit, SessionDep
from hangar.billing.usage_export import XLSX_TYPE, attachment, to_csv, to_xlsx
from hangar.billing.usage_schemas import UserUsageReport, WorkspaceUsageReport
from hangar.billing.usage_service import user_report, workspace_report
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])

UsageViewer = Annotated[Actor, Depends(Permit("settings.view"))]


@router.get("/workspaces", response_model=WorkspaceUsageReport)
def workspace_usage(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> WorkspaceUsageReport:
    """Used GPU-hours per workspace × card model over days ``start``..``end`` (UTC, both
    included; default the last 7 days; at most 180 days back)."""
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
    """Used GPU-hours per user over the same kind of range; users without usage are left out."""
    return user_report(session, tenant_id=actor.tenant_id, start=start, end=end)
