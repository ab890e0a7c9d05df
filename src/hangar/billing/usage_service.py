"""Usage statistics reports (spec 09 §3): the tenant's usage intervals over a day range,
aggregated by :mod:`hangar.billing.usage`, joined with workspace and user names."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hangar.billing.usage import DayRange, by_user, by_workspace, check_range, rounded
from hangar.billing.usage_schemas import (
    UserUsageRead,
    UserUsageReport,
    WorkspaceUsageRead,
    WorkspaceUsageReport,
)
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.orm import UsageInterval


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


def user_report(
    session: Session, *, tenant_id: str, start: date | None, end: date | None
) -> UserUsageReport:
    """Used GPU-hours per user; users without usage are left out."""
    now = datetime.now(UTC)
    days = _range(start, end, now)
    used = by_user(_intervals(session, tenant_id=tenant_id, days=days), days, now=now)
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
