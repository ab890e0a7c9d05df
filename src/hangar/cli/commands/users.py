"""``hangar users``: sub-accounts of your organisation and their limits."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from hangar.cli.commands.prompts import new_password
from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.output import Column, done, emit, record, say, table
from hangar.client import UNSET, Unset
from hangar.tenancy.schemas import UserLimitsRead, UserRead

app = HangarTyper(help="Users (sub-accounts) of your organisation.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="Username or user id.", show_default=False)]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
]

COLUMNS: list[Column[UserRead]] = [
    ("USERNAME", lambda u: u.username),
    ("DISPLAY NAME", lambda u: u.display_name),
    ("EMAIL", lambda u: u.email),
    ("MAIN", lambda u: u.is_owner),
    ("DISABLED", lambda u: u.disabled),
    ("LAST LOGIN", lambda u: u.last_login_at),
    ("ID", lambda u: u.id),
]


def show_user(user: UserRead) -> None:
    record(
        [
            ("Username", user.username),
            ("Display name", user.display_name),
            ("Email", user.email),
            ("Main account", user.is_owner),
            ("Disabled", user.disabled),
            ("Created", user.created_at),
            ("Last login", user.last_login_at),
            ("Id", user.id),
        ]
    )


@app.command("list")
def list_users(
    query: Annotated[
        str, typer.Option("--query", "-q", help="Part of a username or display name.")
    ] = "",
    output: OutputOpt = None,
) -> None:
    """List the users of your organisation."""
    with connect() as client:
        users = client.users.list(query=query)
    emit(output_format(output), users, lambda: table(users, COLUMNS, empty="no users match"))


@app.command()
def create(
    username: Annotated[str, typer.Argument(help="Lowercase letters, digits, '_', '.', '-'.")],
    display_name: Annotated[str, typer.Option(help="Full name shown in the console.")] = "",
    email: Annotated[str, typer.Option(help="Contact address.")] = "",
    password_stdin: PasswordStdin = False,
    output: OutputOpt = None,
) -> None:
    """Create a sub-account; the password is asked for (twice) unless --password-stdin."""
    password = new_password(from_stdin=password_stdin, label=f"Password for {username}")
    with connect() as client:
        user = client.users.create(
            username=username, password=password, display_name=display_name, email=email
        )
    emit(output_format(output), user, lambda: show_user(user))


@app.command()
def show(user: UserArg, output: OutputOpt = None) -> None:
    """Show one user."""
    with connect() as client:
        found = client.users.find(user)
    emit(output_format(output), found, lambda: show_user(found))


@app.command()
def update(
    user: UserArg,
    display_name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    email: Annotated[str | None, typer.Option(help="New email address.")] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Set a new password (asked for twice).")
    ] = False,
    password_stdin: PasswordStdin = False,
    output: OutputOpt = None,
) -> None:
    """Change a user's display name, email or password (a new password ends their sessions)."""
    if display_name is None and email is None and not (password or password_stdin):
        raise typer.BadParameter(
            "nothing to change; pass --display-name, --email, --password or --password-stdin"
        )
    secret = (
        new_password(from_stdin=password_stdin, label="New password")
        if password or password_stdin
        else None
    )
    with connect() as client:
        target = client.users.find(user)
        updated = client.users.update(
            target.id,
            display_name=UNSET if display_name is None else display_name,
            email=UNSET if email is None else email,
            password=UNSET if secret is None else secret,
        )
    emit(output_format(output), updated, lambda: show_user(updated))


@app.command()
def disable(user: UserArg, output: OutputOpt = None) -> None:
    """Lock a user out at once: their sessions end and their tokens stop working."""
    with connect() as client:
        updated = client.users.disable(client.users.find(user).id)
    emit(output_format(output), updated, lambda: say(f"User '{updated.username}' is disabled."))


@app.command()
def enable(user: UserArg, output: OutputOpt = None) -> None:
    """Let a disabled user log in again."""
    with connect() as client:
        updated = client.users.enable(client.users.find(user).id)
    emit(output_format(output), updated, lambda: say(f"User '{updated.username}' is enabled."))


@app.command()
def delete(user: UserArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a user for good."""
    with connect() as client:
        target = client.users.find(user)
        if not yes:
            typer.confirm(f"Delete user '{target.username}' ({target.id})?", abort=True)
        client.users.delete(target.id)
    done(output_format(output), f"Deleted user '{target.username}'.")


class Limit(enum.StrEnum):
    MAX_GPUS = "max-gpus"
    MAX_CPUS = "max-cpus"
    PFS_GIB = "pfs-gib"


LIMIT_LABELS = {"max_gpus": "GPUs", "max_cpus": "CPUs", "pfs_gib": "Parallel FS (GiB)"}


@app.command()
def limits(
    user: UserArg,
    max_gpus: Annotated[int | None, typer.Option(min=0, help="Override: most GPUs.")] = None,
    max_cpus: Annotated[int | None, typer.Option(min=0, help="Override: most CPUs.")] = None,
    pfs_gib: Annotated[
        int | None, typer.Option(min=0, help="Override: parallel file system quota, GiB.")
    ] = None,
    clear: Annotated[
        list[Limit] | None,
        typer.Option(help="Drop an override so the tenant default applies (repeatable)."),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Show a user's limits; with options, set or clear per-user overrides."""
    cleared = {c.value.replace("-", "_") for c in clear or []}
    given = {"max_gpus": max_gpus, "max_cpus": max_cpus, "pfs_gib": pfs_gib}
    both = sorted(k for k in cleared if given[k] is not None)
    if both:
        raise typer.BadParameter(
            f"--{both[0].replace('_', '-')} is both set and cleared; pass one of the two",
            param_hint="--clear",
        )
    with connect() as client:
        target = client.users.find(user)
        if cleared or any(v is not None for v in given.values()):
            result = client.users.set_limits(
                target.id,
                max_gpus=_change("max_gpus", max_gpus, cleared),
                max_cpus=_change("max_cpus", max_cpus, cleared),
                pfs_gib=_change("pfs_gib", pfs_gib, cleared),
            )
        else:
            result = client.users.get_limits(target.id)
    emit(output_format(output), result, lambda: _show_limits(target.username, result))


def _change(name: str, value: int | None, cleared: set[str]) -> int | Unset | None:
    if name in cleared:
        return None
    return UNSET if value is None else value


def _show_limits(username: str, limits: UserLimitsRead) -> None:
    rows = list(LIMIT_LABELS.items())
    table(
        rows,
        [
            ("LIMIT", lambda r: r[1]),
            ("EFFECTIVE", lambda r: getattr(limits.effective, r[0])),
            ("OVERRIDE", lambda r: getattr(limits.overrides, r[0])),
            ("TENANT DEFAULT", lambda r: getattr(limits.tenant_defaults, r[0])),
        ],
        empty="no limits",
        caption=f"limits of {username}; '-' means the tenant default applies",
    )
