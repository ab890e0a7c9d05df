"""``hangar tokens``: API tokens for scripts and the SDK."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, notice, record, say, table
from hangar.client import UNSET, HangarAPIError
from hangar.tenancy.schemas import TokenCreated, TokenRead

app = HangarTyper(help="API tokens.", no_args_is_help=True)

AllOpt = Annotated[
    bool, typer.Option("--all", help="Every token in your organisation (tenant admins).")
]


def status(token: TokenRead) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


COLUMNS: list[Column[TokenRead]] = [
    ("NAME", lambda t: t.name),
    ("PREFIX", lambda t: t.prefix),
    ("STATUS", status),
    ("SCOPES", lambda t: t.scopes),
    ("CREATED", lambda t: t.created_at),
    ("EXPIRES", lambda t: t.expires_at or "never"),
    ("LAST USED", lambda t: t.last_used_at),
    ("ID", lambda t: t.id),
]


@app.command("list")
def list_tokens(all_users: AllOpt = False, output: OutputOpt = None) -> None:
    """List your API tokens, or with --all everyone's."""
    names: dict[str, str] = {}
    with connect() as client:
        found = client.tokens.list(all_users=all_users)
        if all_users:
            try:
                names = {u.id: u.username for u in client.users.list()}
            except HangarAPIError:
                names = {}  # the table then shows user ids; the JSON is unaffected
    columns = list(COLUMNS)
    if all_users:
        columns.insert(0, ("USER", lambda t: names.get(t.user_id, t.user_id)))
    emit(output_format(output), found, lambda: table(found, columns, empty="no tokens"))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A label, e.g. what the token is for.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="'all', '*:read', '*:write' or '<namespace>:read|write'; repeatable "
            "(default: all).",
            show_default=False,
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Days until it expires (default 90).")
    ] = None,
    no_expiry: Annotated[bool, typer.Option(help="The token never expires.")] = False,
    output: OutputOpt = None,
) -> None:
    """Create a token for yourself. Its secret is printed once: copy it now."""
    if no_expiry and expires_in_days is not None:
        raise typer.BadParameter(
            "pass --expires-in-days or --no-expiry, not both", param_hint="--no-expiry"
        )
    with connect() as client:
        created = client.tokens.create(
            name=name,
            scopes=scope if scope else UNSET,
            expires_in_days=None if no_expiry else (expires_in_days or UNSET),
        )
    emit(output_format(output), created, lambda: _show_created(created))


def _show_created(token: TokenCreated) -> None:
    record(
        [
            ("Name", token.name),
            ("Scopes", token.scopes),
            ("Expires", token.expires_at or "never"),
            ("Id", token.id),
        ]
    )
    notice("The secret below is shown only now; store it somewhere safe.")
    say(token.token)


@app.command()
def revoke(
    token: Annotated[str, typer.Argument(help="Token id, prefix, or name.", show_default=False)],
    all_users: AllOpt = False,
    output: OutputOpt = None,
) -> None:
    """Revoke a token at once; it stays listed, marked revoked."""
    with connect() as client:
        target = client.tokens.find(token, all_users=all_users)
        revoked = client.tokens.revoke(target.id)
    emit(
        output_format(output),
        revoked,
        lambda: say(f"Revoked token '{revoked.name}' ({revoked.prefix})."),
    )
