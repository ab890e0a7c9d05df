"""What is costing me now (spec 10 §3.1, ghost charges #2, #4, #7): everything accruing
charges for a user, a workspace or the tenant, with its rate per hour.

Items:

- **job** / **devenv** (any other workload kind under its own name): a workload with an open
  usage interval. Its meters, quantities and rates are exactly what hourly settlement will
  charge (:func:`hangar.billing.settlement.meters`, :func:`~hangar.billing.settlement.
  rate_overlap` over the same hour windows), so "accrued this hour" and "accrued this run" are
  the ledger lines the next settlement passes write. A STOPPING workload is still listed: it
  holds resources, and is billed, until its backend confirms the stop.
- **devenv_cache**: a stopped dev environment whose ``/work/cache`` is kept for the retention
  period (decision C2); ``/work/home`` persists. Both count towards the owner's daily storage
  peak, so the item has no hourly meter of its own; deleting the environment releases the cache.
- **storage**: today's tenant peak over its free storage, on storage settlement's terms.

Scopes: ``me`` (what the caller created or stores), ``workspace`` (its admins: everything in
it), ``tenant`` (tenant admins: everything). Reads only; the caller owns the transaction.
Stopping goes through the existing job and dev-environment stop services and permissions; an
item says whether the caller may stop it and where.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.billing.catalog import Catalog
from hangar.billing.costing_model import (
    KEPT_ALIVE,
    KINDS,
    SCOPES,
    CostItem,
    CostScope,
    CostView,
    MeterCost,
    Names,
    Scope,
    UnitTotal,
    in_scope,
)
from hangar.billing.costing_storage import kept_caches, storage_items
from hangar.billing.errors import invalid
from hangar.billing.money import Amount, Unit, quantize, total
from hangar.billing.rating import hour_windows
from hangar.billing.service import TenantPrices, tenant_prices
from hangar.billing.settlement import (
    Segment,
    hour_segments,
    hour_start,
    meters,
    rate_overlap,
)
from hangar.devenvs.orm import DevEnvironment
from hangar.devenvs.service import effective_idle, policy_of
from hangar.errors import HangarError, PermissionDenied
from hangar.jobs.access import access_workspace_ref
from hangar.tenancy.access import Actor, check_capability, decide, workspace_roles
from hangar.tenancy.matrix import BY_KEY, Role
from hangar.tenancy.workspaces import list_workspaces, roles_by_workspace
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import UsageInterval, Workload
from hangar.workloads.service import STOPPABLE


def access_scope(session: Session, actor: Actor, *, scope: str, workspace: str | None) -> CostScope:
    """Check who may look at what: ``me`` anyone (optionally narrowed to a workspace they
    enter), ``workspace`` that workspace's admins, ``tenant`` tenant admins."""
    if scope not in SCOPES:
        raise invalid("scope", f"unknown scope {scope!r}; one of: {', '.join(SCOPES)}")
    name: Scope = "me" if scope == "me" else "workspace" if scope == "workspace" else "tenant"
    if name == "workspace" and not workspace:
        raise invalid("workspace", "scope 'workspace' needs workspace=<workspace id or name>")
    if name == "tenant":
        check_capability(actor, "settings.view", write=False)
    ws = access_workspace_ref(session, actor, workspace) if workspace else None
    if (
        name == "workspace"
        and ws is not None
        and Role.ADMIN not in workspace_roles(session, actor, ws)
    ):
        raise PermissionDenied(
            f"what is costing workspace '{ws.name}' is for its admins; use scope 'me' for your own",
            permission="workspace.admin",
        )
    return CostScope(name, actor.tenant_id, ws, actor.id if name == "me" else None)


# -- the view --------------------------------------------------------------------------------


def what_costs(
    session: Session,
    actor: Actor,
    *,
    scope: str = "me",
    workspace_id: str | None = None,
    now: datetime,
    catalog: Catalog,
    cache_retention_days: float,
    postpaid_free_gb: Decimal = Decimal(0),
) -> CostView:
    """Everything accruing charges in the caller's ``scope`` now, most expensive first.
    ``postpaid_free_gb``: the free storage of postpaid tenants, as storage settlement has it."""
    where = access_scope(session, actor, scope=scope, workspace=workspace_id)
    prices = tenant_prices(session, tenant_id=where.tenant_id)
    roles = _roles(session, actor)
    names = Names(session)
    items = [
        *_running(session, actor, where, prices, roles, names, now=now),
        *kept_caches(session, actor, where, names, now=now, days=cache_retention_days),
        *storage_items(session, where, names, catalog=catalog, postpaid_free_gb=postpaid_free_gb,
                  now=now),
    ]  # fmt: skip
    items.sort(key=lambda i: (-_per_hour_value(i), i.kind, i.name, i.id))
    return CostView(
        scope=where.name,
        workspace_id=where.workspace.id if where.workspace else None,
        as_of=now,
        items=tuple(items),
        totals=totals(items),
    )


def totals(items: Iterable[CostItem]) -> tuple[UnitTotal, ...]:
    """Per unit: the sum of every priced meter's rate per hour and accrued amounts."""
    per_unit: dict[Unit, tuple[list[Amount], list[Amount], list[Amount]]] = {}
    for item in items:
        for m in item.meters:
            if m.per_hour is None:
                continue
            rates, hours, accrued = per_unit.setdefault(m.per_hour.unit, ([], [], []))
            rates.append(m.per_hour)
            hours.extend([m.accrued_hour] if m.accrued_hour else [])
            accrued.extend([m.accrued_total] if m.accrued_total else [])
    return tuple(
        UnitTotal(
            unit,
            total(rates, unit=unit),
            total(hours, unit=unit),
            total(accrued, unit=unit),
        )
        for unit, (rates, hours, accrued) in sorted(per_unit.items())
    )


def _per_hour_value(item: CostItem) -> Decimal:
    return sum((m.per_hour.value for m in item.meters if m.per_hour), Decimal(0))


# -- running workloads -----------------------------------------------------------------------


def _roles(session: Session, actor: Actor) -> dict[str, frozenset[Role]]:
    """The caller's roles in every workspace they may enter (tenant admins: admin)."""
    held = roles_by_workspace(session, actor=actor)
    extra = {Role.ADMIN} if actor.is_tenant_admin else set()
    return {
        ws.id: frozenset(held.get(ws.id, set()) | extra)
        for ws in list_workspaces(session, actor=actor)
    }


def _running(
    session: Session,
    actor: Actor,
    where: CostScope,
    prices: TenantPrices,
    roles: dict[str, frozenset[Role]],
    names: Names,
    *,
    now: datetime,
) -> list[CostItem]:
    query = select(UsageInterval).where(
        UsageInterval.tenant_id == where.tenant_id, UsageInterval.ended_at.is_(None)
    )
    if where.workspace is not None:
        query = query.where(UsageInterval.workspace_id == where.workspace.id)
    if where.user_id is not None:  # the creator when it opened (rechecked below)
        query = query.where(UsageInterval.user_id == where.user_id)
    open_by_workload: dict[str, list[UsageInterval]] = defaultdict(list)
    for interval in session.scalars(query.order_by(UsageInterval.started_at, UsageInterval.id)):
        open_by_workload[interval.workload_id].append(interval)
    if not open_by_workload:
        return []
    workloads = {
        w.id: w for w in session.scalars(select(Workload).where(Workload.id.in_(open_by_workload)))
    }
    runs = {i.run_id for intervals in open_by_workload.values() for i in intervals}
    of_run: dict[str, list[UsageInterval]] = defaultdict(list)
    for interval in session.scalars(
        select(UsageInterval).where(UsageInterval.run_id.in_(runs)).order_by(UsageInterval.id)
    ):
        of_run[interval.run_id].append(interval)
    items = []
    for workload_id, open_now in open_by_workload.items():
        workload = workloads.get(workload_id)
        first = open_now[0]
        owner = workload.created_by if workload else first.user_id
        ws_id = workload.workspace_id if workload else first.workspace_id
        if not in_scope(where, workspace_id=ws_id, owner=owner):
            continue
        kind = KINDS.get(workload.kind) if workload else None
        if kind is not None and not actor.scope_allows(kind.namespace, write=False):
            continue
        run = [i for run_id in {i.run_id for i in open_now} for i in of_run[run_id]]
        items.append(
            _workload_item(
                session, actor, workload, first, open_now, run, prices, roles, names, now=now
            )
        )
    return items


def _workload_item(
    session: Session,
    actor: Actor,
    workload: Workload | None,
    first: UsageInterval,
    open_now: Sequence[UsageInterval],
    run: Sequence[UsageInterval],
    prices: TenantPrices,
    roles: dict[str, frozenset[Role]],
    names: Names,
    *,
    now: datetime,
) -> CostItem:
    kind = KINDS.get(workload.kind) if workload else None
    state = State(workload.state) if workload else None
    owner = workload.created_by if workload else first.user_id
    ws_id = workload.workspace_id if workload else first.workspace_id
    may_stop = (
        kind is not None
        and state in STOPPABLE
        and _may(actor, kind.stop_point, roles.get(ws_id), owner=owner or "")
    )
    kept_alive, note = False, ""
    if workload is not None and workload.kind == "ide":
        kept_alive, note = _keep_alive(session, workload)
    if state is State.STOPPING:
        note = "stopping: billed until the backend confirms it stopped"
    elif workload is None:
        note = "the workload was deleted while its usage stayed open"
    return CostItem(
        kind=kind.name if kind else (workload.kind if workload else "workload"),
        id=first.workload_id,
        name=workload.name if workload else "(deleted)",
        workspace_id=ws_id,
        workspace_name=names.workspace(ws_id),
        user_id=owner,
        username=names.user(owner),
        state=state.value if state else "DELETED",
        since=min(i.started_at for i in open_now),
        until=None,
        kept_alive=kept_alive,
        meters=_meter_costs(prices, open_now, run, now=now),
        stoppable=may_stop,
        stop_url=kind.stop_url.format(id=first.workload_id) if kind else None,
        hint=kind.hint.format(id=first.workload_id) if kind else "",
        note=note,
    )


def _may(actor: Actor, point: str, roles: frozenset[Role] | None, *, owner: str) -> bool:
    """Whether the matrix lets the caller ``point`` (a stop) on an object of ``owner``."""
    if roles is None:  # a workspace the caller cannot enter
        return False
    spec = BY_KEY[point]
    if not actor.scope_allows(spec.namespace, write=True):
        return False
    return decide(spec, roles, owner_is_actor=owner == actor.id)


def _keep_alive(session: Session, workload: Workload) -> tuple[bool, str]:
    env = session.get(DevEnvironment, workload.id)
    if env is None:
        return False, ""
    kept = env.last_activity_source == KEPT_ALIVE
    idle = effective_idle(env, policy_of(session, workload.workspace_id))
    if idle is None:
        return kept, "no idle stop: runs, and bills, until stopped"
    return kept, f"stops after {idle} idle minutes" + (" (kept alive)" if kept else "")


def _meter_costs(
    prices: TenantPrices,
    open_now: Sequence[UsageInterval],
    run: Sequence[UsageInterval],
    *,
    now: datetime,
) -> tuple[MeterCost, ...]:
    """Per meter over the workload's nodes: quantity now, rate now, and what settlement
    charges for this hour so far and for the whole run (every interval of its run)."""
    quantity: dict[str, Decimal] = defaultdict(Decimal)
    for interval in open_now:
        for meter, amount in meters(interval):
            quantity[meter] += amount
    result = []
    for meter, held in quantity.items():
        if not prices.priced(meter):
            result.append(MeterCost(meter, held, None, None, None, None, "not priced"))
            continue
        try:
            rate = prices.book.rate_at(meter, now)
            this_hour, whole_run = _accrued(prices, meter, run, now=now)
        except HangarError as exc:  # a gap in the prices: settlement stops there too
            result.append(MeterCost(meter, held, None, None, None, None, str(exc)))
            continue
        unit = rate.unit
        result.append(
            MeterCost(
                meter=meter,
                quantity=held,
                rate_per_hour=rate,
                per_hour=Amount(quantize((rate * held).value, unit.quantum), unit),
                accrued_hour=total(this_hour, unit=unit),
                accrued_total=total(whole_run, unit=unit),
            )
        )
    return tuple(result)


def _accrued(
    prices: TenantPrices, meter: str, run: Sequence[UsageInterval], *, now: datetime
) -> tuple[list[Amount], list[Amount]]:
    """The line amounts settlement writes for ``meter`` up to ``now``: of the current hour,
    and of every hour of the run (the same per-hour, per-version rounding as the ledger)."""
    current = hour_start(now)
    segments: dict[datetime, tuple[Segment, ...]] = {}
    amounts: dict[tuple[str, Decimal, int], Amount] = {}
    this_hour: list[Amount] = []
    whole_run: list[Amount] = []
    for interval in run:
        end = max(min(interval.ended_at or now, now), interval.started_at)
        for meter_of, quantity in meters(interval):
            if meter_of != meter:
                continue
            for start, stop in hour_windows(interval.started_at, end):
                hour = hour_start(start)
                if hour not in segments:
                    segments[hour] = hour_segments(prices, meter, hour)
                lines = rate_overlap(
                    segments[hour], interval_id=interval.id, meter=meter, quantity=quantity,
                    start=start, end=stop, hour=hour, amounts=amounts,
                )  # fmt: skip
                whole_run += [line.amount for line in lines]
                if hour == current:
                    this_hour += [line.amount for line in lines]
    return this_hour, whole_run
