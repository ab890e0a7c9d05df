"""What every command shares: the output format, the client, and turning errors into exits.

Exit codes: 0 success; 1 the server or the network said no; 2 usage error (click); 3 not
logged in, or the server answered 401 — run ``hangar login``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from hangar.cli.config import (
    SERVER_ENV,
    TOKEN_ENV,
    ConfigError,
    Connection,
    load_config,
    resolve_connection,
)
from hangar.cli.output import OutputFormat, print_error
from hangar.client import (
    HangarAPIError,
    HangarClient,
    HangarClientError,
    HangarConnectionError,
    HangarLookupError,
)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3

LIST_COMMAND = {
    "user": "hangar users list",
    "group": "hangar groups list",
    "workspace": "hangar workspaces list",
    "token": "hangar tokens list",
}

OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        case_sensitive=False,
        help="table or json (default: the global --output, else table).",
        show_default=False,
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
WorkspaceOpt = Annotated[
    str, typer.Option("--workspace", "-w", help="Workspace name or id.", show_default=False)
]


class NotLoggedIn(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass
class CliState:
    output: OutputFormat = OutputFormat.TABLE
    connection: Connection | None = None


# Set by the root callback at the start of every invocation; commands read it.
_state: ContextVar[CliState | None] = ContextVar("hangar_cli_state", default=None)


def begin(output: OutputFormat) -> CliState:
    fresh = CliState(output=output)
    _state.set(fresh)
    return fresh


def state() -> CliState:
    current = _state.get()
    return current if current is not None else begin(OutputFormat.TABLE)


def output_format(override: OutputFormat | None) -> OutputFormat:
    return override or state().output


def connect() -> HangarClient:
    """A client for the configured server; raises :class:`NotLoggedIn` without a token."""
    conn = resolve_connection(load_config())
    state().connection = conn
    if not conn.token:
        raise NotLoggedIn(
            f"not logged in to {conn.server}",
            conn.note or f"run `hangar login --server {conn.server}`, or set {TOKEN_ENV}",
        )
    return HangarClient(conn.server, conn.token)


def auth_hint() -> str:
    conn = state().connection
    if conn is not None and conn.token_source == "env":  # noqa: S105 - not a secret
        return f"{TOKEN_ENV} is set; give it a valid token, or unset it and run `hangar login`"
    server = f" --server {conn.server}" if conn is not None else ""
    return f"run `hangar login{server}` to sign in again"


def connection_hint() -> str:
    conn = state().connection
    where = f" (taken from {conn.server_source})" if conn is not None else ""
    return (
        f"check the server URL{where}: `hangar login --server URL` saves another one, "
        f"{SERVER_ENV} overrides it; and check that `hangar server` is running there"
    )


def report(exc: Exception) -> int:
    """Print ``exc`` for people on stderr; return the exit code it deserves."""
    if isinstance(exc, NotLoggedIn):
        print_error(exc.message, hint=exc.hint)
        return EXIT_AUTH
    if isinstance(exc, HangarAPIError):
        if exc.status == 401:
            print_error(exc.message, exc.fields, hint=auth_hint())
            return EXIT_AUTH
        print_error(exc.message, exc.fields)
        return EXIT_ERROR
    if isinstance(exc, HangarConnectionError):
        print_error(exc.message, hint=connection_hint())
        return EXIT_ERROR
    if isinstance(exc, HangarLookupError):
        listing = LIST_COMMAND.get(exc.kind)
        print_error(exc.message, hint=f"`{listing}` shows what you can see" if listing else "")
        return EXIT_ERROR
    if isinstance(exc, HangarClientError | ConfigError):
        print_error(str(exc))
        return EXIT_ERROR
    raise exc


P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])


def handled(func: Callable[P, None]) -> Callable[P, None]:
    """Run a command so that our errors become a message on stderr and an exit code."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            func(*args, **kwargs)
        except (NotLoggedIn, HangarClientError, ConfigError) as exc:
            raise typer.Exit(report(exc)) from exc

    return run


class HangarTyper(typer.Typer):
    """A Typer app whose every command is :func:`handled`, so none can forget it."""

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(name, **kwargs)

        def decorator(func: F) -> F:
            register(handled(func))
            return func

        return decorator
