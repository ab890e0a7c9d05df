"""Usage statistics: ``/api/v1/usage`` — used GPU-hours per workspace × card model and per
user over whole UTC days (spec 09 §3, decision I1), as JSON, CSV or XLSX.

Tenant admins (owner, admin group) see their own tenant; everyone else gets a 403 from the
``settings.view`` capability gate.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from openpyxl import Workbook
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.billing.usage import (
    DayRange,
    by_user,
    by_workspace,
    check_range,
    rounded,
)
from hangar.billing.usage_schemas import (
    UserUsageRead,
    UserUsageReport,
    WorkspaceUsageRead,
    WorkspaceUsageReport,
)
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.orm import UsageInterval

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])

UsageViewer = Annotated[Actor, Depends(Permit("settings.view"))]
CSV_HEADER = ("workspace_id", "workspace_name", "tags", "gpu_model", "gpu_hours")


def _intervals(session: Session, *, tenant_id: str, days: DayRange) -> list[UsageInterval]:
    return list(
        session.scalars(
            select(UsageInterval).where(
                UsageInterval.tenant_id == tenant_id,
                UsageInterval.started_at < days.end,
                or_(UsageInterval.ended_at.is_(None), UsageInterval.ended_at > days.start),
            )
        )
    )


def _range(start: date | None, end: date | None, now: datetime) -> DayRange:
    return check_range(first=start, last=end, today=now.date())


def workspace_report(
    session: Session, *, tenant_id: str, start: date | None, end: date | None
) -> WorkspaceUsageReport:
    """Every workspace of the tenant (one row per card model it used, or one zero row) plus
    deleted workspaces that have usage in the range."""
    now = datetime.now(UTC)
    days = _range(start, end, now)
    used = by_workspace(_intervals(session, tenant_id=tenant_id, days=days), days, now=now)
    spaces = {
        w.id: w for w in session.scalars(select(Workspace).where(Workspace.tenant_id == tenant_id))
    }
    per_ws: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for u in used:
        per_ws[u.workspace_id].append((u.gpu_model, u.gpu_hours))
    rows: list[WorkspaceUsageRead] = []
    exact_total = Decimal(0)
    in_use = 0
    order = sorted(spaces, key=lambda i: (spaces[i].name, i)) + sorted(set(per_ws) - set(spaces))
    for ws_id in order:
        ws = spaces.get(ws_id)
        models = per_ws.get(ws_id) or [("", Decimal(0))]
        exact_total += sum((h for _, h in models), Decimal(0))
        in_use += rounded(sum((h for _, h in models), Decimal(0))) > 0
        rows += [
            WorkspaceUsageRead(
                workspace_id=ws_id,
                workspace_name=ws.name if ws else None,
                tags=dict(ws.tags or {}) if ws else {},
                gpu_model=model,
                gpu_hours=str(rounded(hours)),
            )
            for model, hours in models
        ]
    return WorkspaceUsageReport(
        start=days.first, end=days.last, workspaces_total=len(order), workspaces_in_use=in_use,
        gpu_hours_total=str(rounded(exact_total)), rows=rows,
    )  # fmt: skip


def _table(report: WorkspaceUsageReport) -> list[tuple[str, str, str, str, Decimal]]:
    return [
        (r.workspace_id, r.workspace_name or "", json.dumps(r.tags, sort_keys=True),
         r.gpu_model, Decimal(r.gpu_hours))
        for r in report.rows
    ]  # fmt: skip


def _attachment(report: WorkspaceUsageReport, ext: str) -> dict[str, str]:
    name = f"hangar-usage-{report.start}-{report.end}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


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
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    writer.writerows(_table(report))
    return Response(
        buf.getvalue(), media_type="text/csv; charset=utf-8", headers=_attachment(report, "csv")
    )


@router.get("/workspaces.xlsx", response_class=Response)
def workspace_usage_xlsx(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> Response:
    """The same rows as an Excel workbook; GPU-hours are numbers."""
    report = workspace_report(session, tenant_id=actor.tenant_id, start=start, end=end)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "usage"
    sheet.append(CSV_HEADER)
    for row in _table(report):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_attachment(report, "xlsx"),
    )


@router.get("/users", response_model=UserUsageReport)
def user_usage(
    session: SessionDep, actor: UsageViewer, start: date | None = None, end: date | None = None
) -> UserUsageReport:
    """Used GPU-hours per user over the same kind of range; users without usage are left out."""
    now = datetime.now(UTC)
    days = _range(start, end, now)
    used = by_user(_intervals(session, tenant_id=actor.tenant_id, days=days), days, now=now)
    ids = [u.user_id for u in used if u.user_id]
    found = session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    names = {uid: username for uid, username in found}
    return UserUsageReport(
        start=days.first,
        end=days.last,
        gpu_hours_total=str(rounded(sum((u.gpu_hours for u in used), Decimal(0)))),
        rows=[
            UserUsageRead(
                user_id=u.user_id,
                username=names.get(u.user_id) if u.user_id else None,
                gpu_hours=str(rounded(u.gpu_hours)),
            )
            for u in used
        ],
    )
