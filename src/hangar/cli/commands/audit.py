"""``hangar audit``: read and export the audit trail (tenant admins)."""

from __future__ import annotations

import enum
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from hangar.audit.schemas import AuditPage, AuditRead
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, notice, table
from hangar.client import AuditQuery, HangarClient
from hangar.client.audit import PAGE_MAX, AuditLevel, AuditResult

app = HangarTyper(help="The audit trail (tenant admins).", no_args_is_help=True)

_AGE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_HELP = (
    "ISO 8601 (2025-01-31, 2025-01-31T14:00Z; no zone = local time) or an age: 30m, 12h, 7d."
)

UserOpt = Annotated[str | None, typer.Option(help="Username or user id.", show_default=False)]
ActionOpt = Annotated[
    str | None, typer.Option(help="Action or its prefix, e.g. workspace.", show_default=False)
]
TargetOpt = Annotated[
    str | None, typer.Option(help="Target id, or part of its name.", show_default=False)
]
TargetTypeOpt = Annotated[
    str | None, typer.Option(help="Target kind, e.g. workspace, user.", show_default=False)
]
WorkspaceFilterOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace name or id.", show_default=False)
]


class Result(enum.StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    DENIED = "denied"
    ERROR = "error"


class Level(enum.StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    CRITICAL = "critical"


RESULTS: dict[Result, AuditResult] = {
    Result.SUCCESS: "success", Result.FAILED: "failed", Result.DENIED: "denied",
    Result.ERROR: "error",
}  # fmt: skip
LEVELS: dict[Level, AuditLevel] = {
    Level.NORMAL: "normal", Level.WARNING: "warning", Level.CRITICAL: "critical",
}  # fmt: skip

ResultOpt = Annotated[Result | None, typer.Option(help="Outcome.", show_default=False)]
LevelOpt = Annotated[Level | None, typer.Option(help="Severity.", show_default=False)]
SinceOpt = Annotated[str | None, typer.Option(help=f"From this time. {TIME_HELP}")]
UntilOpt = Annotated[str | None, typer.Option(help=f"Up to this time. {TIME_HELP}")]

COLUMNS: list[Column[AuditRead]] = [
    ("AT", lambda r: r.at),
    ("USER", lambda r: r.username),
    ("ACTION", lambda r: r.action),
    ("TARGET", lambda r: f"{r.target_type} {r.target_name or r.target_id}".strip()),
    ("RESULT", lambda r: r.result),
    ("STATUS", lambda r: r.status_code),
    ("LEVEL", lambda r: r.level),
    ("FROM", lambda r: r.client_addr),
]


def parse_time(value: str | None, option: str) -> datetime | None:
    """An absolute ISO 8601 time, or an age before now; always timezone-aware."""
    if value is None:
        return None
    text = value.strip()
    age = _AGE.match(text)
    if age:
        return datetime.now().astimezone() - timedelta(**{_UNITS[age[2]]: int(age[1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a time; use {TIME_HELP}", param_hint=option
        ) from None
    return when if when.tzinfo else when.astimezone()


def build_query(
    client: HangarClient,
    *,
    user: str | None,
    action: str | None,
    target: str | None,
    target_type: str | None,
    workspace: str | None,
    result: Result | None,
    level: Level | None,
    since: str | None,
    until: str | None,
) -> AuditQuery:
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if start and end and start > end:
        raise typer.BadParameter("--since is after --until; swap them", param_hint="--since")
    return AuditQuery(
        user=user,
        action=action,
        target=target,
        target_type=target_type,
        workspace_id=client.workspaces.find(workspace).id if workspace else None,
        result=_result(result),
        level=_level(level),
        since=start,
        until=end,
    )


def _result(value: Result | None) -> AuditResult | None:
    return RESULTS[value] if value else None


def _level(value: Level | None) -> AuditLevel | None:
    return LEVELS[value] if value else None


@app.command("list")
def list_records(
    user: UserOpt = None,
    action: ActionOpt = None,
    target: TargetOpt = None,
    target_type: TargetTypeOpt = None,
    workspace: WorkspaceFilterOpt = None,
    result: ResultOpt = None,
    level: LevelOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=PAGE_MAX, help="Records per page.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Records to skip (newest first).")] = 0,
    output: OutputOpt = None,
) -> None:
    """List audit records, newest first, one page at a time."""
    with connect() as client:
        query = build_query(
            client, user=user, action=action, target=target, target_type=target_type,
            workspace=workspace, result=result, level=level, since=since, until=until,
        )  # fmt: skip
        page = client.audit.list(query, limit=limit, offset=offset)
    emit(output_format(output), page, lambda: _show_page(page))


def _show_page(page: AuditPage) -> None:
    first = page.offset + 1 if page.items else page.offset
    last = page.offset + len(page.items)
    more = f"; next page: --offset {last}" if last < page.total else ""
    table(
        page.items,
        COLUMNS,
        empty=f"no audit records match ({page.total} in total with these filters)",
        caption=f"records {first}-{last} of {page.total}{more}",
    )


@app.command()
def export(
    output_file: Annotated[
        str,
        typer.Option("--output-file", "-f", help="CSV file to write; '-' for stdout."),
    ],
    user: UserOpt = None,
    action: ActionOpt = None,
    target: TargetOpt = None,
    target_type: TargetTypeOpt = None,
    workspace: WorkspaceFilterOpt = None,
    result: ResultOpt = None,
    level: LevelOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Export the matching audit records as CSV (streamed; the file appears when complete)."""
    with connect() as client:
        query = build_query(
            client, user=user, action=action, target=target, target_type=target_type,
            workspace=workspace, result=result, level=level, since=since, until=until,
        )  # fmt: skip
        if output_file == "-":
            out = typer.get_binary_stream("stdout")
            for chunk in client.audit.iter_csv(query):
                out.write(chunk)
            out.flush()
            return
        path = Path(output_file).expanduser()
        if not path.parent.is_dir():
            raise typer.BadParameter(
                f"directory {path.parent} does not exist; create it first",
                param_hint="--output-file",
            )
        written = client.audit.export_csv(path, query)
    notice(f"Wrote {written} bytes of audit CSV to {path}.")
