"""What is costing me now: the ``/api/v1/costs`` response. Amounts and quantities travel as
exact decimal strings ("2.56"), never as floats; ``None`` where a meter has no price."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from hangar.tenancy.schemas import Output

ScopeName = Literal["me", "workspace", "tenant"]


class MeterCostRead(Output):
    meter: str  # a card model key, "cpu" (cores), "memory" (GiB) or "storage" (GB over free)
    quantity: str
    unit: str | None  # DCU, CU or CNY; None when not priced
    rate_per_hour: str | None  # per one unit of the meter
    per_hour: str | None  # quantity × rate
    accrued_hour: str | None  # this UTC hour so far, as settlement will charge it
    accrued_total: str | None  # the whole run so far (storage: today's charge at the peak)
    note: str


class CostItemRead(Output):
    kind: str  # job | devenv | devenv_cache | storage
    id: str
    name: str
    workspace_id: str | None
    workspace_name: str | None
    user_id: str | None
    username: str | None
    state: str
    since: datetime | None
    until: datetime | None
    kept_alive: bool
    meters: list[MeterCostRead]
    stoppable: bool  # whether the caller may stop it now (POST stop_url)
    stop_url: str | None
    hint: str
    note: str


class UnitTotalRead(Output):
    unit: str
    per_hour: str
    accrued_hour: str
    accrued_total: str


class CostsRead(Output):
    scope: ScopeName
    workspace_id: str | None
    as_of: datetime
    items: list[CostItemRead]
    totals: list[UnitTotalRead]  # per unit, per hour, over every priced meter
