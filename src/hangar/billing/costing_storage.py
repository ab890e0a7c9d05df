"""The storage side of "what is costing me now" (``billing.costing``): stopped dev
environments whose cache is kept, and today's storage over the tenant's free quota, on the
terms daily storage settlement applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hangar.billing.catalog import Catalog
from hangar.billing.costing_model import (
    HOURS_PER_DAY,
    CostItem,
    CostScope,
    MeterCost,
    Names,
)
from hangar.billing.money import Amount, quantize, ratio
from hangar.billing.orm import StoragePeak
from hangar.billing.settlement import (
    GIB,
)
from hangar.billing.storage import billable_overage_gb
from hangar.billing.storage_settlement import storage_terms, tenant_peaks
from hangar.devenvs.orm import DevEnvironment
from hangar.tenancy.access import Actor
from hangar.workloads.lifecycle import TERMINAL
from hangar.workloads.orm import Run, Workload

# -- stopped dev environments' kept caches ---------------------------------------------------


def kept_caches(
    session: Session,
    actor: Actor,
    where: CostScope,
    names: Names,
    *,
    now: datetime,
    days: float,
) -> list[CostItem]:
    if not actor.scope_allows("devenv", write=False):
        return []
    # The loop records stopped_at on its next pass; until then the last run's end counts.
    last_end = (
        select(func.max(Run.finished_at)).where(Run.workload_id == Workload.id).scalar_subquery()
    )
    query = (
        select(Workload, func.coalesce(DevEnvironment.stopped_at, last_end))
        .join(DevEnvironment, DevEnvironment.workload_id == Workload.id)
        .where(
            Workload.tenant_id == where.tenant_id,
            Workload.state.in_([s.value for s in TERMINAL]),
            Workload.run_count > 0,
            DevEnvironment.cache_purged_at.is_(None),
        )
    )
    if where.workspace is not None:
        query = query.where(Workload.workspace_id == where.workspace.id)
    if where.user_id is not None:
        query = query.where(Workload.created_by == where.user_id)
    items = []
    keep = timedelta(days=days)
    for workload, stopped in session.execute(query.order_by(Workload.name)):
        if stopped is None:
            continue
        until = stopped + keep
        if until <= now:
            continue  # the retention loop purges it on its next pass
        items.append(
            CostItem(
                kind="devenv_cache", id=workload.id, name=workload.name,
                workspace_id=workload.workspace_id,
                workspace_name=names.workspace(workload.workspace_id),
                user_id=workload.created_by, username=names.user(workload.created_by),
                state=workload.state, since=stopped, until=until, kept_alive=False,
                meters=(), stoppable=False, stop_url=None,
                hint=f"hangar dev delete {workload.id}",
                note="stopped: /work/cache is kept until the date shown and /work/home "
                "persists; both count towards the daily storage peak. Deleting the "
                "environment releases the cache (home stays).",
            )
        )  # fmt: skip
    return items


# -- storage over the free quota -------------------------------------------------------------


def storage_items(
    session: Session,
    where: CostScope,
    names: Names,
    *,
    catalog: Catalog,
    postpaid_free_gb: Decimal,
    now: datetime,
) -> list[CostItem]:
    """Today's (UTC) storage over the free quota, on the terms daily storage settlement will
    apply (``storage_settlement``: the tenant's peak against its plan's or price's free GB).

    The tenant is charged, so the ``tenant`` scope shows the billed item with its rate; ``me``
    and ``workspace`` show the caller's or workspace's own share of that peak, while the tenant
    is over its quota. Nothing without samples, nothing within the quota."""
    day = now.astimezone(UTC).date()
    peak_bytes = tenant_peaks(session, day=day).get(where.tenant_id, 0)
    terms = storage_terms(
        session, tenant_id=where.tenant_id, day=day, catalog=catalog,
        postpaid_free_gb=postpaid_free_gb,
    )  # fmt: skip
    if terms is None or not peak_bytes:
        return []
    peak_gb = ratio(Decimal(peak_bytes), GIB)
    over = billable_overage_gb(peak_gb, terms.free_gb)
    if over == 0:
        return []
    rate = terms.rate_per_gb_day
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    terms_text = (
        f"the tenant's peak today is {quantize(peak_gb, Decimal('0.01'))} GB, {over} GB over "
        f"its {terms.free_gb} GB free; {rate}/GB a day, charged the next morning"
    )
    hint = "delete files, or stopped dev environments to release their caches"
    if where.name == "tenant" and where.workspace is None:
        hourly = Amount(ratio(rate.value, HOURS_PER_DAY), rate.unit)
        meter = MeterCost(
            meter="storage", quantity=Decimal(over), rate_per_hour=hourly,
            per_hour=(hourly * over).quantized(), accrued_hour=None,
            accrued_total=rate * over, note=terms_text,
        )  # fmt: skip
        return [
            CostItem(
                kind="storage", id=f"tenant:{where.tenant_id}", name="storage of the tenant",
                workspace_id=None, workspace_name=None, user_id=None, username=None,
                state="over quota", since=day_start, until=None, kept_alive=False,
                meters=(meter,), stoppable=False, stop_url=None, hint=hint, note=terms_text,
            )
        ]  # fmt: skip
    kind, owner = (
        ("user", where.user_id)
        if where.user_id
        else ("workspace", where.workspace.id if where.workspace else "")
    )
    row = session.get(StoragePeak, (kind, owner, day.isoformat()))
    if row is None or not row.peak_bytes:
        return []
    user = names.user(owner) if kind == "user" else None
    ws_name = names.workspace(owner) if kind == "workspace" else None
    share = quantize(ratio(Decimal(row.peak_bytes), GIB), Decimal("0.01"))
    return [
        CostItem(
            kind="storage", id=f"{kind}:{owner}",
            name=f"storage of {kind} {user or ws_name or owner}",
            workspace_id=owner if ws_name else None, workspace_name=ws_name,
            user_id=owner if kind == "user" else None, username=user, state="over quota",
            since=day_start, until=None, kept_alive=False, meters=(), stoppable=False,
            stop_url=None, hint=hint, note=f"{share} GB of it is here today; {terms_text}",
        )
    ]  # fmt: skip
