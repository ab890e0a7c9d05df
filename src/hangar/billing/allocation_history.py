"""Allocation history (spec 09 §3.3, §6; spec 01 §2): the cards each workspace is allocated,
kept as :class:`~hangar.billing.orm.AllocationChange` rows, and the GPU-hours they integrate
to (1 card on 1 Jan and 2 cards on 2 Jan → 1×24 + 2×24 = 72).

Cards allocated to a workspace (W4), per (cluster, card model):

- a non-default workspace: Σ over its associated quotas of spec cards × instance count;
- the tenant's default workspace: Σ over the tenant's queues (the built-in queue has no spec
  and allocates nothing).

A stopped quota or queue still holds its cards (they return to the cluster only when it is
deleted, RQ16/Q11), so start and stop leave the allocation alone.

Invariants: rows are appended, never edited. Per (workspace, cluster, card model) a row is
written only when the level differs from the last recorded one, and its ``at`` is strictly
after that row's, so ordering a key's rows by ``at`` gives the order of the changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from hangar.billing.allocation import AllocationChange as Change
from hangar.billing.allocation import allocated_gpu_hours
from hangar.billing.money import format_decimal
from hangar.billing.orm import AllocationChange
from hangar.billing.times import as_utc
from hangar.db.base import utcnow
from hangar.resources.orm import Queue, Quota, QuotaWorkspace, ResourceSpec
from hangar.tenancy.orm import Tenant, Workspace

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, order=True, slots=True)
class Key:
    """What one allocation level belongs to."""

    tenant_id: str
    workspace_id: str
    cluster_id: str
    gpu_model: str


def current_allocations(session: Session, *, tenant_id: str) -> dict[Key, Decimal]:
    """The tenant's cards per (workspace, cluster, card model) now; zero levels left out."""
    cards: dict[Key, Decimal] = defaultdict(Decimal)
    quotas = session.execute(
        select(
            QuotaWorkspace.workspace_id, Quota.cluster_id, ResourceSpec.accel_model,
            ResourceSpec.accel_count, Quota.instance_count,
        )
        .join(Quota, Quota.id == QuotaWorkspace.quota_id)
        .join(ResourceSpec, ResourceSpec.id == Quota.spec_id)
        .where(Quota.tenant_id == tenant_id)
    )  # fmt: skip
    for ws_id, cluster_id, model, per_instance, count in quotas:
        cards[Key(tenant_id, ws_id, cluster_id, model)] += Decimal(per_instance * count)
    default_ws = session.scalar(
        select(Workspace.id).where(Workspace.tenant_id == tenant_id, Workspace.is_default)
    )
    if default_ws is not None:
        queues = session.execute(
            select(
                Queue.cluster_id, ResourceSpec.accel_model, ResourceSpec.accel_count,
                Queue.instance_count,
            )
            .join(ResourceSpec, ResourceSpec.id == Queue.spec_id)
            .where(Queue.tenant_id == tenant_id, Queue.builtin.is_(False))
        )  # fmt: skip
        for q_cluster, q_model, q_cards, q_count in queues:
            key = Key(tenant_id, default_ws, q_cluster, q_model)
            cards[key] += Decimal(q_cards * (q_count or 0))
    return {key: level for key, level in cards.items() if level}


def _latest(
    session: Session, *, tenant_id: str | None, before: datetime | None
) -> list[AllocationChange]:
    """Per key, the last row (before ``before`` when given)."""
    stmt = select(
        AllocationChange.tenant_id, AllocationChange.workspace_id, AllocationChange.cluster_id,
        AllocationChange.gpu_model, func.max(AllocationChange.at).label("at"),
    )  # fmt: skip
    if tenant_id is not None:
        stmt = stmt.where(AllocationChange.tenant_id == tenant_id)
    if before is not None:
        stmt = stmt.where(AllocationChange.at < before)
    last = stmt.group_by(
        AllocationChange.tenant_id, AllocationChange.workspace_id, AllocationChange.cluster_id,
        AllocationChange.gpu_model,
    ).subquery()  # fmt: skip
    rows = session.scalars(
        select(AllocationChange).join(
            last,
            and_(
                AllocationChange.tenant_id == last.c.tenant_id,
                AllocationChange.workspace_id == last.c.workspace_id,
                AllocationChange.cluster_id == last.c.cluster_id,
                AllocationChange.gpu_model == last.c.gpu_model,
                AllocationChange.at == last.c.at,
            ),
        )
    )
    return list(rows)


def _key(row: AllocationChange) -> Key:
    return Key(row.tenant_id, row.workspace_id, row.cluster_id, row.gpu_model)


def record_allocations(
    session: Session, *, tenant_id: str, reason: str, at: datetime | None = None
) -> list[AllocationChange]:
    """Append a row for every (workspace, cluster, card model) of the tenant whose cards
    differ from the last recorded level, drops to 0 included; return the rows added.

    Call it inside the transaction that changed quotas, queues or associations, after the
    change. The tenant row is locked first (PostgreSQL; SQLite has one writer anyway) so two
    concurrent changes cannot both record a level computed without the other's change: the
    second waits, then reads the first's committed rows (READ COMMITTED).
    """
    when = as_utc(at, field="at") if at is not None else utcnow()
    # FOR NO KEY UPDATE: serialises recorders without blocking inserts that reference the
    # tenant (their foreign-key checks take FOR KEY SHARE, which this does not conflict with).
    lock = select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    session.execute(lock)
    session.flush()
    now = current_allocations(session, tenant_id=tenant_id)
    last = {_key(row): row for row in _latest(session, tenant_id=tenant_id, before=None)}
    added: list[AllocationChange] = []
    for key in sorted(set(now) | set(last)):
        level = now.get(key, Decimal(0))
        previous = last.get(key)
        if previous is None and not level:
            continue
        if previous is not None and Decimal(previous.cards) == level:
            continue
        row = AllocationChange(
            tenant_id=key.tenant_id, workspace_id=key.workspace_id, cluster_id=key.cluster_id,
            gpu_model=key.gpu_model, cards=format_decimal(level), reason=reason[:64],
            at=when if previous is None else max(when, previous.at + _TICK),
        )  # fmt: skip
        session.add(row)
        added.append(row)
    session.flush()
    return added


def allocation_changes(
    session: Session, *, tenant_id: str | None, start: datetime, end: datetime
) -> dict[Key, list[Change]]:
    """Per key, the changes that matter for ``[start, end)``: the level in force at ``start``
    and every change before ``end``, oldest first. ``tenant_id=None``: every tenant."""
    rows = _latest(session, tenant_id=tenant_id, before=start)
    stmt = select(AllocationChange).where(AllocationChange.at >= start, AllocationChange.at < end)
    if tenant_id is not None:
        stmt = stmt.where(AllocationChange.tenant_id == tenant_id)
    rows += session.scalars(stmt)
    found: dict[Key, list[Change]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.at):
        found[_key(row)].append(Change(at=row.at, cards=Decimal(row.cards)))
    return dict(found)


def allocated_hours(
    session: Session, *, tenant_id: str | None, start: datetime, end: datetime
) -> dict[Key, Decimal]:
    """Exact allocated GPU-hours per key over ``[start, end)``; keys with none left out."""
    hours = {
        key: allocated_gpu_hours(changes, start=start, end=end)
        for key, changes in allocation_changes(
            session, tenant_id=tenant_id, start=start, end=end
        ).items()
    }
    return {key: h for key, h in hours.items() if h}
