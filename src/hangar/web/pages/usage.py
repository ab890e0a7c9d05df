"""Usage statistics console page: GPU-hours per workspace, card model and user, with charts.

Same gate and reports as ``/api/v1/usage`` (tenant admins, ``settings.view``): whole UTC days,
both ends included, default the last 7 days, at most 180 days back; the downloads are the
API's CSV and XLSX of the same range.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hangar.api.deps import SessionDep
from hangar.billing.usage_router import UsageViewer
from hangar.billing.usage_schemas import AllocationRead, UserUsageRead, WorkspaceUsageRead
from hangar.billing.usage_service import (
    access_allocation_tenant,
    allocation_report,
    user_report,
    workspace_report,
)
from hangar.errors import ValidationFailed
from hangar.web.chrome import PageChrome
from hangar.web.pages.usage_charts import (
    bar_chart,
    label,
    measures,
    numeric_series,
    show,
    summary,
    totals_by,
)
from hangar.web.templating import render

router = APIRouter(prefix="/usage", include_in_schema=False)


def _day(field: str, raw: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = f"must be a day written YYYY-MM-DD (got {raw!r})"
        raise ValidationFailed.field(field, message) from None


def _workspace_label(row: Any) -> str:
    return str(row.workspace_name or f"(deleted {row.workspace_id})")


def _user_label(row: Any) -> str:
    return str(row.username or row.user_id or "(deleted users)")


@router.get("")
def usage_page(
    request: Request, session: SessionDep, actor: UsageViewer, chrome: PageChrome,
    start: str = "", end: str = "",
) -> Response:  # fmt: skip
    context: dict[str, object] = {"chrome": chrome, "start": start, "end": end}
    try:
        first, last = _day("start", start), _day("end", end)
        spaces = workspace_report(session, tenant_id=actor.tenant_id, start=first, end=last)
        users = user_report(session, tenant_id=actor.tenant_id, start=first, end=last)
        # The tenant's own allocations (the platform admin too: this page is per tenant).
        own = access_allocation_tenant(
            session, actor_tenant_id=actor.tenant_id, requested=actor.tenant_id,
            platform_admin=actor.user.is_platform_admin,
        )  # fmt: skip
        allocations = allocation_report(session, tenant_id=own, start=first, end=last)
    except ValidationFailed as err:
        context.update(error=err, report=None)
        return render(request, "usage/page.html", context, status=err.http_status)
    ws_fields = measures(WorkspaceUsageRead)
    user_fields = measures(UserUsageRead)
    ws_series = numeric_series(spaces.rows, ws_fields)
    user_series = numeric_series(users.rows, user_fields)
    context.update(
        error=None, report=spaces, users=users, allocations=allocations, show=show,
        start=str(spaces.start), end=str(spaces.end),
        query=urlencode({"start": str(spaces.start), "end": str(spaces.end)}),
        # The platform admin's export would cover every tenant without it.
        allocation_query=urlencode(
            {"start": str(spaces.start), "end": str(spaces.end), "tenant_id": own or ""}
        ),
        ws_summary=summary(spaces), user_summary=summary(users),
        ws_columns=[(f, label(f)) for f in ws_fields],
        user_columns=[(f, label(f)) for f in user_fields],
        allocation_columns=[(f, label(f)) for f in measures(AllocationRead)],
        allocation_summary=summary(allocations),
        charts=[
            bar_chart("GPU-hours per workspace",
                      totals_by(spaces.rows, _workspace_label, ws_series), ws_series),
            bar_chart("GPU-hours per card model",
                      totals_by([r for r in spaces.rows if r.gpu_model],
                                lambda r: str(r.gpu_model), ws_series), ws_series),
            bar_chart("GPU-hours per user",
                      totals_by(users.rows, _user_label, user_series), user_series),
        ],
    )  # fmt: skip
    return render(request, "usage/page.html", context)
