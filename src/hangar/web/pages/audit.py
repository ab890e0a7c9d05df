"""The audit trail (tenant admins): filters, a paged table, and the CSV export link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from hangar.api.deps import Permit, SessionDep
from hangar.audit.routes import audit_filter
from hangar.audit.service import AuditFilter, list_records
from hangar.errors import ValidationFailed
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Workspace
from hangar.web.chrome import AUDIT, PageChrome
from hangar.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)
Auditor = Annotated[Actor, Depends(Permit(AUDIT.capability))]
Result = Literal["success", "failed", "denied", "error"]
RESULTS: tuple[Result, ...] = get_args(Result)
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=128)]


@dataclass(frozen=True)
class AuditForm:
    """The filter form as typed; empty boxes mean "any". Times are UTC."""

    user: str = ""
    action: str = ""
    target: str = ""
    result: str = ""
    since: str = ""
    until: str = ""

    def to_filter(self, actor: Actor) -> AuditFilter:
        """Validate like the API (same function), after mapping the form's empty strings."""
        if self.result and self.result not in RESULTS:
            raise ValidationFailed.field(
                "result", f"'{self.result}' is not a result; pick one of {', '.join(RESULTS)}"
            )
        result = next((r for r in RESULTS if r == self.result), None)
        return audit_filter(
            actor,
            since=_utc("since", self.since),
            until=_utc("until", self.until),
            user=self.user.strip() or None,
            action=self.action.strip() or None,
            target=self.target.strip() or None,
            result=result,
        )

    def query(self, f: AuditFilter) -> str:
        """The same filters as API query parameters (times normalised to ISO 8601 UTC)."""
        params = {
            "user": f.user,
            "action": f.action,
            "target": f.target,
            "result": f.result,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
        }
        return urlencode({k: v for k, v in params.items() if v})


def _utc(field: str, raw: str) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(
            field, f"'{text[:40]}' is not a date and time; use the form 2025-01-31T18:00 (UTC)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("")
def audit_page(
    request: Request,
    session: SessionDep,
    actor: Auditor,
    chrome: PageChrome,
    user: Text = "",
    action: Text = "",
    target: Text = "",
    result: Text = "",
    since: Text = "",
    until: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    form = AuditForm(
        user=user, action=action, target=target, result=result, since=since, until=until
    )
    context: dict[str, object] = {"chrome": chrome, "form": form, "results": RESULTS}
    try:
        f = form.to_filter(actor)
    except ValidationFailed as err:
        # Shown above the form, which keeps what was typed so it can be corrected.
        context.update(error=err, records=[], total=0, page=1, pages=1, query="")
        return render(request, "audit/list.html", context, status=err.http_status)
    records, total = list_records(session, f=f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    # Workspace names of the tenant (deleted workspaces keep showing their id).
    names = {
        ws_id: name
        for ws_id, name in session.execute(
            select(Workspace.id, Workspace.name).where(Workspace.tenant_id == actor.tenant_id)
        )
    }
    context.update(
        workspace_names=names,
        error=None,
        records=records,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        query=form.query(f),
    )
    return render(request, "audit/list.html", context)
