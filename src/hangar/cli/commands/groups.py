"""``hangar groups``: user groups (tenant admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.output import Column, done, emit, record, say, table
from hangar.tenancy.schemas import GroupRead

app = HangarTyper(help="User groups (tenant admins).", no_args_is_help=True)

GroupArg = Annotated[str, typer.Argument(help="Group name or id.", show_default=False)]

COLUMNS: list[Column[GroupRead]] = [
    ("NAME", lambda g: g.name),
    ("MEMBERS", lambda g: len(g.member_ids)),
    ("POLICY", lambda g: g.policy),
    ("PRESET", lambda g: g.builtin),
    ("DESCRIPTION", lambda g: g.description),
    ("ID", lambda g: g.id),
]


def show_group(group: GroupRead) -> None:
    record(
        [
            ("Name", group.name),
            ("Description", group.description),
            ("Policy", group.policy),
            ("Preset", group.builtin),
            ("Members", len(group.member_ids)),
            ("Created", group.created_at),
            ("Id", group.id),
        ]
    )


@app.command("list")
def list_groups(output: OutputOpt = None) -> None:
    """List the user groups of your organisation."""
    with connect() as client:
        groups = client.groups.list()
    emit(output_format(output), groups, lambda: table(groups, COLUMNS, empty="no groups"))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Letters, digits, '_', '-' and spaces.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    second_level_admin: Annotated[
        bool,
        typer.Option(help="Members become second-level admins (may create workspaces)."),
    ] = False,
    output: OutputOpt = None,
) -> None:
    """Create a user group."""
    with connect() as client:
        group = client.groups.create(
            name=name,
            description=description,
            policy="second_level_admin" if second_level_admin else None,
        )
    emit(output_format(output), group, lambda: show_group(group))


@app.command()
def delete(group: GroupArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a user group (its members stay; they only leave the group)."""
    with connect() as client:
        target = client.groups.find(group)
        if not yes:
            typer.confirm(f"Delete group '{target.name}'?", abort=True)
        client.groups.delete(target.id)
    done(output_format(output), f"Deleted group '{target.name}'.")


@app.command("add-member")
def add_member(
    group: GroupArg,
    users: Annotated[list[str], typer.Argument(help="Usernames or user ids.")],
    output: OutputOpt = None,
) -> None:
    """Add one or more users to a group."""
    with connect() as client:
        target = client.groups.find(group)
        ids = [client.users.find(u).id for u in users]
        updated = client.groups.add_members(target.id, ids)
    emit(
        output_format(output),
        updated,
        lambda: say(
            f"Group '{updated.name}' now has {len(updated.member_ids)} member(s); "
            f"added {', '.join(users)}."
        ),
    )


@app.command("remove-member")
def remove_member(
    group: GroupArg,
    user: Annotated[str, typer.Argument(help="Username or user id.", show_default=False)],
    output: OutputOpt = None,
) -> None:
    """Take a user out of a group."""
    with connect() as client:
        target = client.groups.find(group)
        member = client.users.find(user)
        client.groups.remove_member(target.id, member.id)
    done(output_format(output), f"Removed '{member.username}' from group '{target.name}'.")
