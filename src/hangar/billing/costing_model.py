"""The shapes of the "what is costing me now" view (``billing.costing``): items, their
meters and totals, the scope asked for, and the names shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from sqlalchemy.orm import Session

from hangar.billing.money import Amount, Unit
from hangar.tenancy.orm import User, Workspace

Scope = Literal["me", "workspace", "tenant"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEPT_ALIVE = "keep alive"  # DevEnvironment.last_activity_source after "keep alive"
HOURS_PER_DAY = Decimal(24)


@dataclass(frozen=True, slots=True)
class Kind:
    """How an item of a workload kind is named, stopped, and which token scope reads it."""

    name: str
    namespace: str
    stop_point: str
    stop_url: str
    hint: str


KINDS = {
    "training": Kind("job", "training", "training.stop", "/api/v1/jobs/{id}/stop",
                     "hangar jobs stop {id}"),
    "ide": Kind("devenv", "devenv", "devenv.stop", "/api/v1/devenvs/{id}/stop",
                "hangar dev stop {id}"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class MeterCost:
    """One meter of an item: ``quantity`` units at ``rate_per_hour`` each.

    Rates and amounts are None for a meter without a price (settlement does not bill it) or
    when the price book cannot rate it (a gap: settlement stops there too, see ``note``).
    """

    meter: str
    quantity: Decimal
    rate_per_hour: Amount | None
    per_hour: Amount | None
    accrued_hour: Amount | None
    accrued_total: Amount | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class CostItem:
    kind: str  # job | devenv | devenv_cache | storage | another workload kind
    id: str
    name: str
    workspace_id: str | None
    workspace_name: str | None
    user_id: str | None
    username: str | None
    state: str
    since: datetime | None
    until: datetime | None  # when a kept cache is purged
    kept_alive: bool
    meters: tuple[MeterCost, ...]
    stoppable: bool
    stop_url: str | None
    hint: str  # the CLI command that stops or releases it
    note: str = ""


@dataclass(frozen=True, slots=True)
class UnitTotal:
    unit: Unit
    per_hour: Amount
    accrued_hour: Amount
    accrued_total: Amount


@dataclass(frozen=True, slots=True)
class CostView:
    scope: Scope
    workspace_id: str | None
    as_of: datetime
    items: tuple[CostItem, ...]
    totals: tuple[UnitTotal, ...]


@dataclass(frozen=True, slots=True)
class CostScope:
    """What one call may see: the tenant, and optionally one workspace and/or one user."""

    name: Scope
    tenant_id: str
    workspace: Workspace | None
    user_id: str | None


# -- scope -----------------------------------------------------------------------------------


class Names:
    """Workspace and user names, loaded once per id."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.workspaces: dict[str, str | None] = {}
        self.users: dict[str, str | None] = {}

    def workspace(self, ws_id: str | None) -> str | None:
        if ws_id is None:
            return None
        if ws_id not in self.workspaces:
            ws = self.session.get(Workspace, ws_id)
            self.workspaces[ws_id] = ws.name if ws else None
        return self.workspaces[ws_id]

    def user(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self.users:
            user = self.session.get(User, user_id)
            self.users[user_id] = user.username if user else None
        return self.users[user_id]


def in_scope(where: CostScope, *, workspace_id: str | None, owner: str | None) -> bool:
    if where.workspace is not None and workspace_id != where.workspace.id:
        return False
    return where.user_id is None or owner == where.user_id
