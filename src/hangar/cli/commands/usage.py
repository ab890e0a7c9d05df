"""``hangar usage``: used GPU-hours per workspace × card model and per user (tenant admins;
docs/billing.md "Usage statistics"). GPU-hours are printed as the API returns them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from hangar.billing.usage_schemas import (
    UserUsageRead,
    UserUsageReport,
    WorkspaceUsageRead,
    WorkspaceUsageReport,
)
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, notice, say, table

app = HangarTyper(help="Usage statistics: used GPU-hours per workspace and per user.")


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
]
USER_COLUMNS: list[Column[UserUsageRead]] = [
    ("USER", lambda r: r.username or "(deleted user)"),
    ("ID", lambda r: r.user_id or "-"),
    ("GPU-HOURS", lambda r: r.gpu_hours),
]


def show_workspaces(report: WorkspaceUsageReport) -> None:
    say(f"Used GPU-hours {report.start} – {report.end} (UTC, both days included)")
    table(report.rows, WORKSPACE_COLUMNS, empty="no workspaces")
    say(
        f"Workspaces: {report.workspaces_total}, in use: {report.workspaces_in_use}, "
        f"GPU-hours used: {report.gpu_hours_total}"
    )


def show_users(report: UserUsageReport) -> None:
    say(f"Used GPU-hours per user {report.start} – {report.end} (UTC, both days included)")
    table(report.rows, USER_COLUMNS, empty="no GPU usage in this range")
    say(f"GPU-hours used: {report.gpu_hours_total}")


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
    """Used GPU-hours per user (the member list's "resources consumed")."""
    with connect() as client:
        report = client.usage.users(start=_day(start, "--start"), end=_day(end, "--end"))
    emit(output_format(output), report, lambda: show_users(report))
