"""Usage statistics reports (spec 09 §3, §6; spec 01 §2): the tenant's usage intervals over a
day range, aggregated by :mod:`hangar.billing.usage`, the allocated GPU-hours of
:mod:`hangar.billing.allocation_history`, and the users' compute spending from the ledger,
joined with workspace, user, tenant and cluster names.

Allocated hours stop at ``now``: today counts up to the moment of the report, like an open
usage interval.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hangar.billing.allocation_history import Key, allocated_hours
from hangar.billing.money import format_decimal
from hangar.billing.orm import LedgerEntry
from hangar.billing.usage import DayRange, by_user, by_workspace, check_range, rounded
from hangar.billing.usage_schemas import (
    AllocationRead,
    AllocationReport,
    UserUsageRead,
    UserUsageReport,
    WorkspaceUsageRead,
    WorkspaceUsageReport,
)
from hangar.errors import NotFound
from hangar.resources.orm import Cluster
from hangar.tenancy.orm import Tenant, User, Workspace
from hangar.workloads.orm import UsageInterval

ZERO = Decimal(0)


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


def _allocated(
    session: Session, *, tenant_id: str | None, days: DayRange, now: datetime
) -> dict[Key, Decimal]:
    """Exact allocated GPU-hours per (tenant, workspace, cluster, card model) up to ``now``."""
    end = min(days.end, now)
    return allocated_hours(session, tenant_id=tenant_id, start=days.start, end=end)


def workspace_report(
    session: Session, *, tenant_id: str, start: date | None, end: date | None
) -> WorkspaceUsageReport:
    """Every workspace of the tenant (one row per card model it used or was allocated, or one
    zero row) plus deleted workspaces with usage or allocation in the range."""
    now = datetime.now(UTC)
    days = _range(start, end, now)
    used = by_workspace(_intervals(session, tenant_id=tenant_id, days=days), days, now=now)
    spaces = {
        w.id: w for w in session.scalars(select(Workspace).where(Workspace.tenant_id == tenant_id))
    }
    per_ws: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
    for u in used:
        per_ws[u.workspace_id][u.gpu_model] = (u.gpu_hours, ZERO)
    for key, hours in _allocated(session, tenant_id=tenant_id, days=days, now=now).items():
        got, allocated = per_ws[key.workspace_id].get(key.gpu_model, (ZERO, ZERO))
        per_ws[key.workspace_id][key.gpu_model] = (got, allocated + hours)
    rows: list[WorkspaceUsageRead] = []
    used_total = allocated_total = ZERO
    in_use = 0
    order = sorted(spaces, key=lambda i: (spaces[i].name, i)) + sorted(set(per_ws) - set(spaces))
    for ws_id in order:
        ws = spaces.get(ws_id)
        models = sorted(per_ws.get(ws_id, {}).items()) or [("", (ZERO, ZERO))]
        ws_used = sum((u for _, (u, _) in models), ZERO)
        used_total += ws_used
        allocated_total += sum((a for _, (_, a) in models), ZERO)
        in_use += rounded(ws_used) > 0
        rows += [
            WorkspaceUsageRead(
                workspace_id=ws_id,
                workspace_name=ws.name if ws else None,
                tags=dict(ws.tags or {}) if ws else {},
                gpu_model=model,
                gpu_hours=str(rounded(hours)),
                allocated_gpu_hours=str(rounded(allocated)),
            )
            for model, (hours, allocated) in models
        ]
    return WorkspaceUsageReport(
        start=days.first, end=days.last, workspaces_total=len(order), workspaces_in_use=in_use,
        gpu_hours_total=str(rounded(used_total)),
        allocated_gpu_hours_total=str(rounded(allocated_total)), rows=rows,
    )  # fmt: skip


def _spent(
    session: Session, *, tenant_id: str, days: DayRange
) -> dict[str | None, dict[str, Decimal]]:
    """Per user and unit: compute charges whose hour starts in the range, with the settlement
    adjustments that correct them. Plan purchases, vouchers, credits and arrears payments
    are wallet movements, not spending on resources, and are left out."""
    lines = session.execute(
        select(LedgerEntry.user_id, LedgerEntry.unit, LedgerEntry.amount).where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.period_start >= days.start,
            LedgerEntry.period_start < days.end,
            or_(
                LedgerEntry.kind == "compute",
                and_(LedgerEntry.kind == "adjustment", LedgerEntry.usage_interval_id.is_not(None)),
            ),
        )
    )
    spent: dict[str | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for user_id, unit, amount in lines:
        spent[user_id][unit] += Decimal(amount)
    return spent


def _amounts(per_unit: dict[str, Decimal]) -> dict[str, str]:
    return {unit: format_decimal(value) for unit, value in sorted(per_unit.items())}


def user_report(
    session: Session, *, tenant_id: str, start: date | None, end: date | None
) -> UserUsageReport:
    """Used GPU-hours and amount spent per user; users with neither are left out."""
    now = datetime.now(UTC)
    days = _range(start, end, now)
    used = {
        u.user_id: u.gpu_hours
        for u in by_user(_intervals(session, tenant_id=tenant_id, days=days), days, now=now)
    }
    spent = _spent(session, tenant_id=tenant_id, days=days)
    ids = sorted(set(used) | set(spent), key=lambda i: i or "")
    found = session.execute(select(User.id, User.username).where(User.id.in_(i for i in ids if i)))
    names = {uid: username for uid, username in found}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for per_unit in spent.values():
        for unit, value in per_unit.items():
            totals[unit] += value
    return UserUsageReport(
        start=days.first,
        end=days.last,
        gpu_hours_total=str(rounded(sum(used.values(), ZERO))),
        amount_spent_total=_amounts(totals),
        rows=[
            UserUsageRead(
                user_id=uid,
                username=names.get(uid) if uid else None,
                gpu_hours=str(rounded(used.get(uid, ZERO))),
                amount_spent=_amounts(spent.get(uid, {})),
            )
            for uid in ids
        ],
    )


def access_allocation_tenant(
    session: Session, *, actor_tenant_id: str, requested: str | None, platform_admin: bool
) -> str | None:
    """Whose allocations a caller sees: tenant admins their own tenant; the platform admin
    the tenant named, or every tenant (``None``) when none is named."""
    if platform_admin:
        if requested is not None and session.get(Tenant, requested) is None:
            raise NotFound(f"tenant '{requested}' not found", kind="tenant", id=requested)
        return requested
    if requested is None or requested == actor_tenant_id:
        return actor_tenant_id
    raise NotFound(f"tenant '{requested}' not found", kind="tenant", id=requested)


def allocation_report(
    session: Session, *, tenant_id: str | None, start: date | None, end: date | None
) -> AllocationReport:
    """Allocated GPU-hours per (tenant,) cluster × card model over the days; zero rows left
    out. The same 72 GPU-hour formula as the workspace rows, summed over workspaces."""
    now = datetime.now(UTC)
    days = _range(start, end, now)
    per_ws = _allocated(session, tenant_id=tenant_id, days=days, now=now)
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for key, hours in per_ws.items():
        sums[(key.tenant_id, key.cluster_id, key.gpu_model)] += hours
    tenant_ids, cluster_ids = {k[0] for k in sums}, {k[1] for k in sums}
    tenants = {
        tid: name
        for tid, name in session.execute(
            select(Tenant.id, Tenant.name).where(Tenant.id.in_(tenant_ids))
        )
    }
    clusters = {
        cid: name
        for cid, name in session.execute(
            select(Cluster.id, Cluster.name).where(Cluster.id.in_(cluster_ids))
        )
    }
    rows = [
        AllocationRead(
            tenant_id=tid, tenant_name=tenants.get(tid), cluster_id=cluster_id,
            cluster_name=clusters.get(cluster_id), gpu_model=model,
            allocated_gpu_hours=str(rounded(hours)),
        )
        for (tid, cluster_id, model), hours in sums.items()
    ]  # fmt: skip
    rows.sort(
        key=lambda r: (
            r.tenant_name or "",
            r.tenant_id,
            r.cluster_name or "",
            r.cluster_id,
            r.gpu_model,
        )
    )
    return AllocationReport(
        start=days.first, end=days.last, tenant_id=tenant_id,
        allocated_gpu_hours_total=str(rounded(sum(sums.values(), ZERO))), rows=rows,
    )  # fmt: skip
