"""What is costing me now: ``/api/v1/costs``.

Everyone may look at their own (``scope=me``); a workspace's admins at everything in it
(``scope=workspace&workspace=<id or name>``); tenant admins at the whole tenant
(``scope=tenant``). Each item names the endpoint that stops it (the job or dev-environment
stop, with its own permission check) and whether the caller may call it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep
from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.costing import what_costs
from hangar.billing.costing_model import CostItem, CostView, MeterCost, UnitTotal
from hangar.billing.costing_schemas import CostItemRead, CostsRead, MeterCostRead, UnitTotalRead
from hangar.billing.money import Amount, format_decimal

router = APIRouter(prefix="/api/v1/costs", tags=["costs"])


@router.get("", response_model=CostsRead)
def get_costs(
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    scope: Annotated[
        str, Query(max_length=16, description="me (default), workspace or tenant.")
    ] = "me",
    workspace: Annotated[
        str | None, Query(max_length=200, description="Workspace id or name.")
    ] = None,
) -> CostsRead:
    """Everything accruing charges now, each with its rate per hour, most expensive first,
    and the totals per unit per hour."""
    view = what_costs(
        session, actor, scope=scope, workspace_id=workspace, now=datetime.now(UTC),
        catalog=DEFAULT_CATALOG, cache_retention_days=settings.devenv_cache_retention_days,
        postpaid_free_gb=settings.billing_storage_postpaid_free_gb,
    )  # fmt: skip
    return costs_read(view)


def _text(amount: Amount | None) -> str | None:
    return None if amount is None else format_decimal(amount.value)


def meter_read(m: MeterCost) -> MeterCostRead:
    return MeterCostRead(
        meter=m.meter, quantity=format_decimal(m.quantity),
        unit=m.rate_per_hour.unit.value if m.rate_per_hour else None,
        rate_per_hour=_text(m.rate_per_hour), per_hour=_text(m.per_hour),
        accrued_hour=_text(m.accrued_hour), accrued_total=_text(m.accrued_total), note=m.note,
    )  # fmt: skip


def item_read(item: CostItem) -> CostItemRead:
    return CostItemRead(
        kind=item.kind, id=item.id, name=item.name, workspace_id=item.workspace_id,
        workspace_name=item.workspace_name, user_id=item.user_id, username=item.username,
        state=item.state, since=item.since, until=item.until, kept_alive=item.kept_alive,
        meters=[meter_read(m) for m in item.meters], stoppable=item.stoppable,
        stop_url=item.stop_url, hint=item.hint, note=item.note,
    )  # fmt: skip


def total_read(t: UnitTotal) -> UnitTotalRead:
    return UnitTotalRead(
        unit=t.unit.value, per_hour=format_decimal(t.per_hour.value),
        accrued_hour=format_decimal(t.accrued_hour.value),
        accrued_total=format_decimal(t.accrued_total.value),
    )  # fmt: skip


def costs_read(view: CostView) -> CostsRead:
    return CostsRead(
        scope=view.scope, workspace_id=view.workspace_id, as_of=view.as_of,
        items=[item_read(i) for i in view.items], totals=[total_read(t) for t in view.totals],
    )  # fmt: skip
