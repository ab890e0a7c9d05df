"""Reading and exporting the audit trail (tenant admins)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from hangar.api.deps import Permit, SessionDep, app_state
from hangar.api.state import AppState
from hangar.audit.schemas import AuditPage, AuditRead
from hangar.audit.service import AuditFilter, export_csv, list_records
from hangar.db.engine import transaction
from hangar.errors import ValidationFailed
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Annotated[Actor, Depends(Permit("audit.view"))]


def audit_filter(
    actor: Auditor,
    # Aware only: a naive time is ambiguous, and the UTC column type refuses it (a 500 before).
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=96)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target: Annotated[str | None, Query(max_length=128)] = None,
    workspace_id: Annotated[str | None, Query(max_length=64)] = None,
    result: Literal["success", "failed", "denied", "error"] | None = None,
    level: Literal["normal", "warning", "critical"] | None = None,
) -> AuditFilter:
    if since and until and since > until:
        raise ValidationFailed.field("since", "must not be after 'until'")
    return AuditFilter(
        tenant_id=actor.tenant_id, since=since, until=until, user=user or None,
        action=action or None, target_type=target_type or None, target=target or None,
        workspace_id=workspace_id or None, result=result, level=level,
    )  # fmt: skip


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    f: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    rows, total = list_records(session, f=f, limit=limit, offset=offset)
    return AuditPage(
        items=[AuditRead.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/export.csv", response_class=StreamingResponse)
def export_audit(f: Filter, state: Annotated[AppState, Depends(app_state)]) -> StreamingResponse:
    """The filtered trail as CSV, streamed in its own read transaction."""

    def rows() -> Iterator[str]:
        with transaction(state.sessions) as session:
            yield from export_csv(session, f=f)

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hangar-audit-{stamp}.csv"'},
    )
