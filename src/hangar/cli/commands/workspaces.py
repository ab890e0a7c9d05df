"""``hangar workspaces``: create, inspect, change and delete workspaces."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.output import Column, done, emit, record, table
from hangar.client import UNSET, Unset
from hangar.tenancy.schemas import WorkspaceRead

app = HangarTyper(help="Workspaces.", no_args_is_help=True)

WorkspaceArg = Annotated[str, typer.Argument(help="Workspace name or id.", show_default=False)]
TagOpt = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="KEY=VALUE; repeat for several tags.", show_default=False),
]

COLUMNS: list[Column[WorkspaceRead]] = [
    ("NAME", lambda w: w.name),
    ("DEFAULT", lambda w: w.is_default),
    ("MY ROLES", lambda w: w.my_roles),
    ("MEMBERS", lambda w: w.member_count),
    ("OWNER", lambda w: w.owner_username),
    ("TAGS", lambda w: w.tags),
    ("ID", lambda w: w.id),
]


def show_workspace(ws: WorkspaceRead) -> None:
    record(
        [
            ("Name", ws.name),
            ("Description", ws.description),
            ("Default", ws.is_default),
            ("Tags", ws.tags),
            ("Owner", ws.owner_username),
            ("Members", ws.member_count),
            ("My roles", ws.my_roles),
            ("Created", ws.created_at),
            ("Id", ws.id),
        ]
    )


def parse_tags(values: list[str] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"'{item}' is not KEY=VALUE; write e.g. --tag team=vision", param_hint="--tag"
            )
        tags[key.strip()] = value.strip()
    return tags


@app.command("list")
def list_workspaces(output: OutputOpt = None) -> None:
    """List the workspaces you may enter (all of them for tenant admins)."""
    with connect() as client:
        found = client.workspaces.list()
    emit(output_format(output), found, lambda: table(found, COLUMNS, empty="no workspaces"))


@app.command()
def create(
    name: Annotated[
        str,
        typer.Argument(help="Up to 25 letters, digits, Chinese or '_', starting with a letter."),
    ],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    tag: TagOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create a workspace; you become its admin."""
    tags = parse_tags(tag)
    with connect() as client:
        ws = client.workspaces.create(name=name, description=description, tags=tags)
    emit(output_format(output), ws, lambda: show_workspace(ws))


@app.command()
def show(workspace: WorkspaceArg, output: OutputOpt = None) -> None:
    """Show one workspace."""
    with connect() as client:
        ws = client.workspaces.find(workspace)
    emit(output_format(output), ws, lambda: show_workspace(ws))


@app.command()
def update(
    workspace: WorkspaceArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tag: TagOpt = None,
    clear_tags: Annotated[bool, typer.Option(help="Remove all tags.")] = False,
    output: OutputOpt = None,
) -> None:
    """Rename a workspace or change its description or tags (--tag replaces all tags)."""
    if clear_tags and tag:
        raise typer.BadParameter("pass --tag or --clear-tags, not both", param_hint="--clear-tags")
    if name is None and description is None and tag is None and not clear_tags:
        raise typer.BadParameter(
            "nothing to change; pass --name, --description, --tag or --clear-tags"
        )
    tags: dict[str, str] | Unset = {} if clear_tags else (parse_tags(tag) if tag else UNSET)
    with connect() as client:
        target = client.workspaces.find(workspace)
        ws = client.workspaces.update(
            target.id,
            name=UNSET if name is None else name,
            description=UNSET if description is None else description,
            tags=tags,
        )
    emit(output_format(output), ws, lambda: show_workspace(ws))


@app.command()
def delete(workspace: WorkspaceArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a workspace (the default workspace cannot be deleted)."""
    with connect() as client:
        target = client.workspaces.find(workspace)
        if not yes:
            typer.confirm(f"Delete workspace '{target.name}' ({target.id})?", abort=True)
        client.workspaces.delete(target.id)
    done(output_format(output), f"Deleted workspace '{target.name}'.")
