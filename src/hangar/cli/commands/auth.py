"""``hangar login``, ``hangar logout``, ``hangar whoami``."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Annotated

import typer

from hangar.cli.commands.prompts import new_password, password_from_stdin
from hangar.cli.config import (
    DEFAULT_SERVER,
    SERVER_ENV,
    TOKEN_ENV,
    CliConfig,
    load_config,
    resolve_connection,
    save_config,
)
from hangar.cli.context import (
    EXIT_AUTH,
    OutputOpt,
    connect,
    connection_hint,
    output_format,
    state,
)
from hangar.cli.output import done, emit, notice, print_error, record, say
from hangar.client import (
    HangarAPIError,
    HangarClient,
    HangarConnectionError,
    InvalidServerURL,
    normalize_server_url,
)
from hangar.tenancy.schemas import Me, TokenRead


def default_token_name() -> str:
    return f"cli@{socket.gethostname()}"[:64]


def login(
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            "-s",
            help=f"Server URL (default: {SERVER_ENV}, the saved server, else {DEFAULT_SERVER}).",
            show_default=False,
        ),
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Asked for when not given.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
    token_name: Annotated[
        str | None,
        typer.Option(help="Label of the API token created (default: cli@<hostname>)."),
    ] = None,
    expires_in_days: Annotated[
        int, typer.Option(min=1, max=3650, help="The token expires after this many days.")
    ] = 30,
    output: OutputOpt = None,
) -> None:
    """Log in with a password; store the server and a new API token (never the password)."""
    config = load_config()
    try:
        server_url = normalize_server_url(
            server or os.environ.get(SERVER_ENV) or config.server or DEFAULT_SERVER
        )
    except InvalidServerURL as exc:
        raise typer.BadParameter(exc.message, param_hint="--server") from None
    same_server = config.server is not None and _same(config.server, server_url)
    if not username:
        username = typer.prompt("Username", default=config.username if same_server else None)
    password = (
        password_from_stdin()
        if password_stdin
        else typer.prompt(f"Password for {username} on {server_url}", hide_input=True)
    )
    with HangarClient(server_url) as client:
        try:
            created = client.login(
                username, password, token_name or default_token_name(),
                expires_in_days=expires_in_days,
            )  # fmt: skip
        except HangarAPIError as exc:
            if exc.status != 401:
                raise
            print_error(exc.message, exc.fields)  # no "run hangar login" hint: this is it
            raise typer.Exit(EXIT_AUTH) from None
    previous = config.token if same_server else None
    path = save_config(
        CliConfig(server=server_url, token=created.token, token_id=created.id, username=username)
    )
    if previous and previous != created.token:
        _revoke_quietly(server_url, previous)
    if os.environ.get(TOKEN_ENV):
        notice(f"note: {TOKEN_ENV} is set and takes precedence over the token just saved")
    info = TokenRead.model_validate(created.model_dump(exclude={"token"}))
    expires = f", expires {info.expires_at:%Y-%m-%d}" if info.expires_at else ""
    emit(
        output_format(output),
        info,
        lambda: say(
            f"Logged in to {server_url} as {username} "
            f"(token '{info.name}'{expires}; saved in {path})"
        ),
    )


def logout(
    local: Annotated[
        bool,
        typer.Option("--local", help="Only forget the saved token; do not contact the server."),
    ] = False,
    output: OutputOpt = None,
) -> None:
    """Revoke the token in use on the server and forget it here."""
    config = load_config()
    conn = resolve_connection(config)
    state().connection = conn
    if not conn.token:
        notice(f"not logged in to {conn.server}; nothing to do")
        return
    outcome = "token forgotten here only (--local); it stays valid on the server"
    if not local:
        with HangarClient(conn.server, conn.token) as client:
            try:
                client.logout()
                outcome = "token revoked"
            except HangarAPIError as exc:
                if exc.status != 401:
                    raise
                outcome = f"the server no longer accepted the token ({exc.message})"
            except HangarConnectionError as exc:
                print_error(
                    exc.message,
                    hint=f"{connection_hint()}; `hangar logout --local` forgets the token "
                    "without revoking it",
                )
                raise typer.Exit(1) from None
    if conn.token_source == "config":  # noqa: S105 - not a secret
        save_config(CliConfig(server=config.server, username=config.username))
    else:
        notice(f"note: the token came from {TOKEN_ENV}; unset it to stop using it")
    done(output_format(output), f"Logged out of {conn.server}: {outcome}.")


def whoami(output: OutputOpt = None) -> None:
    """Show who the saved (or HANGAR_TOKEN) token belongs to."""
    with connect() as client:
        me = client.whoami()
        server = client.server_url
    emit(output_format(output), me, lambda: _show_me(me, server))


def passwd(
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the current password from stdin's first line, the new one from the next.",
        ),
    ] = False,
    output: OutputOpt = None,
) -> None:
    """Change your own password (asks for the current one, then the new one twice)."""
    if password_stdin:
        current = password_from_stdin()
        new = password_from_stdin()
    else:
        current = typer.prompt("Current password", hide_input=True)
        new = new_password(from_stdin=False, label="New password")
    with connect() as client:
        client.change_password(current, new)
    done(output_format(output), "Password changed; your other console sessions were ended.")


def _show_me(me: Me, server: str) -> None:
    record(
        [
            ("Server", server),
            ("Username", me.username),
            ("Display name", me.display_name),
            ("Email", me.email),
            ("Organisation", me.tenant_name),
            ("Tenant roles", me.tenant_roles),
            ("Platform admin", me.is_platform_admin),
            ("Signed in via", f"{me.via} (scopes: {', '.join(me.scopes)})"),
            ("User id", me.id),
        ]
    )


def _same(a: str, b: str) -> bool:
    try:
        return normalize_server_url(a) == normalize_server_url(b)
    except InvalidServerURL:
        return False


def _revoke_quietly(server: str, token: str) -> None:
    """Best effort: a re-login should not leave the previous CLI token alive."""
    with (
        HangarClient(server, token) as client,
        contextlib.suppress(HangarAPIError, HangarConnectionError),
    ):
        client.logout()
