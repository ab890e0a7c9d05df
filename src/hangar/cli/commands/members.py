"""``hangar members``: who is in a workspace, with which roles."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, WorkspaceOpt, connect, output_format
from hangar.cli.output import Column, done, emit, say, table
from hangar.client import HangarClient
from hangar.tenancy.matrix import Role
from hangar.tenancy.schemas import MemberRead

app = HangarTyper(help="Members of a workspace and their roles.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="Username or user id.", show_default=False)]
RolesOpt = Annotated[
    list[Role],
    typer.Option("--role", "-r", help="admin, developer or operator; repeat for several."),
]

COLUMNS: list[Column[MemberRead]] = [
    ("USERNAME", lambda m: m.username),
    ("DISPLAY NAME", lambda m: m.display_name),
    ("ROLES", lambda m: m.roles),
    ("IMPLICIT", lambda m: m.implicit),
    ("USER ID", lambda m: m.user_id),
]


def _show(member: MemberRead, ws_name: str) -> None:
    say(f"'{member.username}' in workspace '{ws_name}': {', '.join(member.roles)}")


def _member_id(client: HangarClient, workspace_id: str, ref: str) -> str:
    """A member's user id: matched among the workspace's members first, then the directory."""
    for member in client.workspaces.list_members(workspace_id):
        if ref in (member.username, member.user_id):
            return member.user_id
    return client.users.find(ref).id


@app.command("list")
def list_members(workspace: WorkspaceOpt, output: OutputOpt = None) -> None:
    """List the members of a workspace; tenant admins are implicit admins everywhere."""
    with connect() as client:
        ws = client.workspaces.find(workspace)
        members = client.workspaces.list_members(ws.id)
    emit(
        output_format(output),
        members,
        lambda: table(members, COLUMNS, empty="no members", caption=f"workspace {ws.name}"),
    )


@app.command()
def add(user: UserArg, workspace: WorkspaceOpt, role: RolesOpt, output: OutputOpt = None) -> None:
    """Add a user to a workspace with one or more roles."""
    with connect() as client:
        ws = client.workspaces.find(workspace)
        member = client.workspaces.add_member(ws.id, user_id=client.users.find(user).id, roles=role)
    emit(output_format(output), member, lambda: _show(member, ws.name))


@app.command("set-roles")
def set_roles(
    user: UserArg, workspace: WorkspaceOpt, role: RolesOpt, output: OutputOpt = None
) -> None:
    """Replace a member's roles."""
    with connect() as client:
        ws = client.workspaces.find(workspace)
        member = client.workspaces.update_member(ws.id, _member_id(client, ws.id, user), roles=role)
    emit(output_format(output), member, lambda: _show(member, ws.name))


@app.command()
def remove(user: UserArg, workspace: WorkspaceOpt, output: OutputOpt = None) -> None:
    """Take a user out of a workspace."""
    with connect() as client:
        ws = client.workspaces.find(workspace)
        client.workspaces.remove_member(ws.id, _member_id(client, ws.id, user))
    done(output_format(output), f"Removed '{user}' from workspace '{ws.name}'.")
