"""How commands print: a rich table for people, or the API's JSON for programs.

``--output json`` prints exactly what the API returned (the same pydantic models serialised
the same way) to stdout and nothing else there; notes and errors go to stderr.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table

T = TypeVar("T")
Column = tuple[str, Callable[[T], object]]
Jsonable = BaseModel | Sequence[BaseModel]
WIDE = 160  # table width when stdout is not a terminal, so piped rows do not wrap


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def console() -> Console:
    # Built per call: tests and callers may swap sys.stdout between commands.
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = WIDE
    return out


def jsonable(data: Jsonable) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    return [item.model_dump(mode="json") for item in data]


def print_json(data: Jsonable) -> None:
    typer.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False))


def emit(fmt: OutputFormat, data: Jsonable, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` to draw it for people."""
    if fmt is OutputFormat.JSON:
        print_json(data)
    else:
        render()


def done(fmt: OutputFormat, message: str) -> None:
    """Report a change the API answered with no body (204): JSON mode keeps stdout empty."""
    if fmt is OutputFormat.JSON:
        notice(message)
    else:
        say(message)


def cell(value: object) -> str:
    """One value as table text: ``-`` for nothing, local time for datetimes."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def table(
    rows: Iterable[T], columns: Sequence[Column[T]], *, empty: str, caption: str = ""
) -> None:
    items = list(rows)
    if not items:
        notice(empty)
        return
    view = Table(box=box.SIMPLE_HEAD, caption=caption or None, caption_justify="left")
    for header, _ in columns:
        view.add_column(header, overflow="fold")
    for item in items:
        view.add_row(*(cell(get(item)) for _, get in columns))
    console().print(view)


def record(pairs: Sequence[tuple[str, object]]) -> None:
    """One object as a two-column ``field  value`` table."""
    view = Table(box=box.SIMPLE, show_header=False)
    view.add_column(style="bold")
    view.add_column(overflow="fold")
    for label, value in pairs:
        view.add_row(label, cell(value))
    console().print(view)


def say(message: str) -> None:
    """A result line for people (stdout; table mode only). Plain: never wrapped or styled."""
    typer.echo(message)


def notice(message: str) -> None:
    """A note that is not data: stderr, so JSON on stdout stays clean."""
    typer.echo(message, err=True)


def print_error(message: str, fields: Mapping[str, str] | None = None, hint: str = "") -> None:
    """``error: <message>``, one line per field the server named, then a hint."""
    lines = [f"error: {message}"]
    for name, rule in (fields or {}).items():
        if f"{name}: {rule}" not in message:  # already said in full by the message
            lines.append(f"  {name}: {rule}")
    if hint:
        lines.append(f"hint: {hint}")
    typer.echo("\n".join(lines), err=True)
