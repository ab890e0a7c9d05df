"""Usage statistics (``/api/v1/usage``): used and allocated GPU-hours per workspace × card
model, used GPU-hours and amount spent per user, allocated GPU-hours per cluster × card model,
over whole UTC days, and the CSV / XLSX exports. GPU-hours and amounts are decimal strings."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from hangar.billing.usage_schemas import AllocationReport, UserUsageReport, WorkspaceUsageReport
from hangar.client.transport import Transport

USAGE = "/api/v1/usage"


def _days(start: date | None, end: date | None) -> dict[str, str | None]:
    return {
        "start": None if start is None else start.isoformat(),
        "end": None if end is None else end.isoformat(),
    }


class UsageAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def workspaces(
        self, *, start: date | None = None, end: date | None = None
    ) -> WorkspaceUsageReport:
        """Days ``start``..``end`` (UTC, both included; default the last 7; ≤ 180 days back)."""
        return self._t.get(WorkspaceUsageReport, f"{USAGE}/workspaces", params=_days(start, end))

    def users(self, *, start: date | None = None, end: date | None = None) -> UserUsageReport:
        """Used GPU-hours and amount spent (per unit) per user over the same kind of range."""
        return self._t.get(UserUsageReport, f"{USAGE}/users", params=_days(start, end))

    def export(
        self,
        path: str | os.PathLike[str],
        *,
        fmt: Literal["csv", "xlsx"] = "csv",
        start: date | None = None,
        end: date | None = None,
    ) -> int:
        """Write the per-workspace rows as CSV or XLSX to ``path``; return the bytes written."""
        response = self._t.request("GET", f"{USAGE}/workspaces.{fmt}", params=_days(start, end))
        return Path(path).write_bytes(response.content)

    def allocations(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        tenant_id: str | None = None,
    ) -> AllocationReport:
        """Allocated GPU-hours per cluster × card model. Tenant admins see their tenant; the
        platform admin the tenant named by ``tenant_id``, or every tenant without it."""
        params = {**_days(start, end), "tenant_id": tenant_id}
        return self._t.get(AllocationReport, f"{USAGE}/allocations", params=params)

    def export_allocations(
        self,
        path: str | os.PathLike[str],
        *,
        fmt: Literal["csv", "xlsx"] = "csv",
        start: date | None = None,
        end: date | None = None,
        tenant_id: str | None = None,
    ) -> int:
        """Write the allocation rows as CSV or XLSX to ``path``; return the bytes written."""
        params = {**_days(start, end), "tenant_id": tenant_id}
        response = self._t.request("GET", f"{USAGE}/allocations.{fmt}", params=params)
        return Path(path).write_bytes(response.content)
