"""``hangar usage``: used and allocated GPU-hours per workspace × card model, used GPU-hours
and amount spent per user, allocated GPU-hours per cluster × card model (tenant admins;
docs/billing.md "Usage statistics"). GPU-hours and amounts are printed as the API returns
them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from hangar.billing.usage_schemas import (
    AllocationRead,
    AllocationReport,
    UserUsageRead,
    UserUsageReport,
    WorkspaceUsageRead,
    WorkspaceUsageReport,
)
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, notice, say, table

app = HangarTyper(
    help="Usage statistics: GPU-hours used and allocated per workspace, per user and per "
    "cluster × card model."
)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"write a day as YYYY-MM-DD (got {value!r})", param_hint=option
        ) from None


StartOpt = Annotated[
    str | None,
    typer.Option(
        help="First day, YYYY-MM-DD (UTC; default: 6 days before --end).", show_default=False
    ),
]
EndOpt = Annotated[
    str | None, typer.Option(help="Last day, included (default: today).", show_default=False)
]

WORKSPACE_COLUMNS: list[Column[WorkspaceUsageRead]] = [
    ("WORKSPACE", lambda r: r.workspace_name or f"(deleted) {r.workspace_id}"),
    ("ID", lambda r: r.workspace_id),
    ("TAGS", lambda r: ", ".join(f"{k}={v}" for k, v in sorted(r.tags.items()))),
    ("CARD MODEL", lambda r: r.gpu_model or "-"),
    ("GPU-HOURS", lambda r: r.gpu_hours),
    ("ALLOCATED", lambda r: r.allocated_gpu_hours),
]
USER_COLUMNS: list[Column[UserUsageRead]] = [
    ("USER", lambda r: r.username or "(deleted user)"),
    ("ID", lambda r: r.user_id or "-"),
    ("GPU-HOURS", lambda r: r.gpu_hours),
    ("SPENT", lambda r: _amounts(r.amount_spent)),
]
ALLOCATION_COLUMNS: list[Column[AllocationRead]] = [
    ("TENANT", lambda r: r.tenant_name or f"(deleted) {r.tenant_id}"),
    ("CLUSTER", lambda r: r.cluster_name or f"(deleted) {r.cluster_id}"),
    ("CARD MODEL", lambda r: r.gpu_model),
    ("GPU-HOURS ALLOCATED", lambda r: r.allocated_gpu_hours),
]


def _amounts(per_unit: dict[str, str]) -> str:
    return ", ".join(f"{value} {unit}" for unit, value in sorted(per_unit.items())) or "-"


def show_workspaces(report: WorkspaceUsageReport) -> None:
    say(f"Used GPU-hours {report.start} – {report.end} (UTC, both days included)")
    table(report.rows, WORKSPACE_COLUMNS, empty="no workspaces")
    say(
        f"Workspaces: {report.workspaces_total}, in use: {report.workspaces_in_use}, "
        f"GPU-hours used: {report.gpu_hours_total}, "
        f"GPU-hours allocated: {report.allocated_gpu_hours_total}"
    )


def show_users(report: UserUsageReport) -> None:
    say(f"Used GPU-hours per user {report.start} – {report.end} (UTC, both days included)")
    table(report.rows, USER_COLUMNS, empty="no GPU usage or spending in this range")
    say(f"GPU-hours used: {report.gpu_hours_total}, spent: {_amounts(report.amount_spent_total)}")


def show_allocations(report: AllocationReport) -> None:
    say(f"Allocated GPU-hours {report.start} – {report.end} (UTC, both days included)")
    table(report.rows, ALLOCATION_COLUMNS, empty="nothing allocated in this range")
    say(f"GPU-hours allocated: {report.allocated_gpu_hours_total}")


@app.command()
def workspaces(
    start: StartOpt = None,
    end: EndOpt = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the rows as CSV here.", show_default=False),
    ] = None,
    xlsx_file: Annotated[
        Path | None,
        typer.Option(
            "--xlsx", help="Write the rows as an Excel workbook here.", show_default=False
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Used GPU-hours per workspace × card model (at most 180 days back)."""
    first, last = _day(start, "--start"), _day(end, "--end")
    if csv_file and xlsx_file:
        raise typer.BadParameter("give --csv or --xlsx, not both", param_hint="--csv")
    with connect() as client:
        if csv_file or xlsx_file:
            fmt: Literal["csv", "xlsx"] = "csv" if csv_file else "xlsx"
            path = csv_file or xlsx_file
            assert path is not None
            written = client.usage.export(path, fmt=fmt, start=first, end=last)
            notice(f"Wrote {written} bytes of usage {fmt.upper()} to {path}.")
            return
        report = client.usage.workspaces(start=first, end=last)
    emit(output_format(output), report, lambda: show_workspaces(report))


@app.command()
def users(start: StartOpt = None, end: EndOpt = None, output: OutputOpt = None) -> None:
    """Used GPU-hours and amount spent per user (the member list's "resources consumed" and
    "amount spent")."""
    with connect() as client:
        report = client.usage.users(start=_day(start, "--start"), end=_day(end, "--end"))
    emit(output_format(output), report, lambda: show_users(report))


@app.command()
def allocations(
    start: StartOpt = None,
    end: EndOpt = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            help="Tenant id (platform admin; default: every tenant). Tenant admins see their own.",
            show_default=False,
        ),
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the rows as CSV here.", show_default=False),
    ] = None,
    xlsx_file: Annotated[
        Path | None,
        typer.Option(
            "--xlsx", help="Write the rows as an Excel workbook here.", show_default=False
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Allocated GPU-hours per cluster × card model (the allocation export; ≤ 180 days back)."""
    first, last = _day(start, "--start"), _day(end, "--end")
    if csv_file and xlsx_file:
        raise typer.BadParameter("give --csv or --xlsx, not both", param_hint="--csv")
    with connect() as client:
        if csv_file or xlsx_file:
            fmt: Literal["csv", "xlsx"] = "csv" if csv_file else "xlsx"
            path = csv_file or xlsx_file
            assert path is not None
            written = client.usage.export_allocations(
                path, fmt=fmt, start=first, end=last, tenant_id=tenant
            )
            notice(f"Wrote {written} bytes of allocation {fmt.upper()} to {path}.")
            return
        report = client.usage.allocations(start=first, end=last, tenant_id=tenant)
    emit(output_format(output), report, lambda: show_allocations(report))
