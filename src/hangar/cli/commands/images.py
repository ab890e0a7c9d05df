"""``hangar image``: runtime images, and "make image" from a dev environment (spec 03 §1.7)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, done, emit, record, say, table
from hangar.client.transport import UNSET, Unset
from hangar.images.schemas import ImageRead, ImageShareRead

app = HangarTyper(
    help="Runtime images: list, versions, show, make from a dev environment, cancel, share."
)


class Source(StrEnum):
    PRESET = "preset"
    CUSTOM = "custom"
    SHARED = "shared"


ImageArg = Annotated[str, typer.Argument(help="Image id, name, or name:V<n>.", show_default=False)]


def size(image: ImageRead) -> str:
    return f"{image.size_bytes / 2**20:.1f} MiB" if image.size_bytes else ""


COLUMNS: list[Column[ImageRead]] = [
    ("NAME", lambda i: f"{i.name}:V{i.version}"),
    ("KIND", lambda i: i.kind),
    ("STATUS", lambda i: i.status),
    ("SOURCE", lambda i: i.source),
    ("SIZE", size),
    ("TAGS", lambda i: ", ".join(i.tags)),
    ("CREATED", lambda i: i.created_at),
    ("ID", lambda i: i.id),
]


def show_image(image: ImageRead) -> None:
    record(
        [
            ("Name", f"{image.name}:V{image.version}"), ("Id", image.id), ("Kind", image.kind),
            ("Status", image.status), ("Detail", image.status_reason or None),
            ("Source", image.source), ("From environment", image.source_workload_id),
            ("Parent image", image.parent_id), ("Size", size(image) or None),
            ("Tags", ", ".join(image.tags)), ("Description", image.description or None),
            ("Created", image.created_at),
        ]
    )  # fmt: skip


SHARE_COLUMNS: list[Column[ImageShareRead]] = [
    ("ID", lambda s: s.id),
    ("IMAGE", lambda s: s.name),
    ("SHARED WITH", lambda s: f"user {s.username}" if s.user_id else f"tenant {s.tenant_name}"),
    ("STATE", lambda s: s.state),
    ("UNTIL", lambda s: s.expires_at or "no end"),
    ("CREATED", lambda s: s.created_at),
]

UNTIL_HELP = "ISO 8601 end time, e.g. 2026-12-31T18:00 (UTC unless it names a zone)"


def parse_until(value: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a time; use an {UNTIL_HELP}", param_hint=option
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command("list")
def list_images(
    source: Annotated[
        Source | None,
        typer.Option(
            "--source", "-s",
            help="preset, custom (yours) or shared (shared with you by others).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:  # fmt: skip
    """Images you can select: the preset ones, yours, and those shared with you."""
    with connect() as client:
        found = client.images.list(source=source.value if source else None)
    emit(output_format(output), found, lambda: table(found, COLUMNS, empty="no images"))


@app.command()
def versions(
    name: Annotated[str, typer.Argument(help="Image name.", show_default=False)],
    output: OutputOpt = None,
) -> None:
    """The versions of one image name, newest first."""
    with connect() as client:
        found = client.images.versions(name)

    def render() -> None:
        made, latest = f"{found.created_at:%Y-%m-%d %H:%M}", f"{found.updated_at:%Y-%m-%d %H:%M}"
        shared = " (shared with you)" if found.shared else ""
        say(
            f"{found.name}: {found.version_count} version(s), created {made}, "
            f"updated {latest}{shared}"
        )
        table(found.versions, COLUMNS, empty="no versions")

    emit(output_format(output), found, render)


@app.command()
def show(image: ImageArg, output: OutputOpt = None) -> None:
    """One image and its status."""
    with connect() as client:
        found = client.images.find(image)
    emit(output_format(output), found, lambda: show_image(found))


@app.command()
def make(
    env: Annotated[str, typer.Argument(help="Dev environment name or id.", show_default=False)],
    name: Annotated[
        str,
        typer.Option(
            "--name", "-n", help="Image name (a new version if it exists).", show_default=False
        ),
    ],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="The environment's workspace.", show_default=False),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait until it is ready.")] = True,
    output: OutputOpt = None,
) -> None:
    """Make an image of the software installed in a dev environment (not /work/home,
    /work/cache or mounts); training jobs and other environments can then select it."""
    with connect() as client:
        target = client.devenvs.find(env, workspace=workspace)
        image = client.images.make(target.id, name=name, description=description)
        if wait:
            say(f"Making image {image.name}:V{image.version} from '{target.name}'...")
            image = client.images.wait(image.id)
    emit(output_format(output), image, lambda: show_image(image))
    if image.status == "failed":
        raise typer.Exit(1)


@app.command()
def cancel(image: ImageArg, output: OutputOpt = None) -> None:
    """Cancel making an image."""
    with connect() as client:
        found = client.images.cancel(client.images.find(image).id)
    emit(output_format(output), found, lambda: say(f"Cancelled {found.name}:V{found.version}."))


NameArg = Annotated[str, typer.Argument(help="Custom image name.", show_default=False)]
ShareArg = Annotated[str, typer.Argument(help="Share id (`hangar image shares NAME`).")]


@app.command()
def share(
    name: NameArg,
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="A user of your tenant (username).", show_default=False),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", "-t", help="Another tenant: all its users.", show_default=False),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help=f"When the share ends: {UNTIL_HELP}.")
    ] = None,
    disabled: Annotated[
        bool, typer.Option("--disabled", help="Create it disabled (enable it later).")
    ] = False,
    output: OutputOpt = None,
) -> None:
    """Share every version of a custom image you made with a user or another tenant."""
    if (user is None) == (tenant is None):
        raise typer.BadParameter("give exactly one of --user or --tenant", param_hint="--user")
    ends = parse_until(until, "--until") if until else None
    with connect() as client:
        made = client.images.share(
            name, username=user, tenant_name=tenant, expires_at=ends, enabled=not disabled
        )
    target = f"user '{made.username}'" if made.user_id else f"tenant '{made.tenant_name}'"
    emit(
        output_format(output), made,
        lambda: say(f"Shared {made.name} with {target} ({made.state}; share {made.id})."),
    )  # fmt: skip


@app.command()
def shares(name: NameArg, output: OutputOpt = None) -> None:
    """Who a custom image is shared with."""
    with connect() as client:
        found = client.images.shares(name)
    emit(output_format(output), found, lambda: table(found, SHARE_COLUMNS, empty="not shared"))


@app.command("share-set")
def share_set(
    share_id: ShareArg,
    enable: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Turn the share on or off.", show_default=False),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help=f"New end: {UNTIL_HELP}, or 'none' for no end."),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Enable or disable a share, or change when it ends."""
    ends: datetime | Unset | None = UNSET
    if until is not None:
        ends = None if until.strip().lower() == "none" else parse_until(until, "--until")
    with connect() as client:
        changed = client.images.update_share(
            share_id, enabled=UNSET if enable is None else enable, expires_at=ends
        )
    emit(
        output_format(output), changed,
        lambda: say(f"Share {changed.id} of {changed.name} is {changed.state}."),
    )  # fmt: skip


@app.command()
def unshare(share_id: ShareArg, output: OutputOpt = None) -> None:
    """Remove a share; workloads already running with the image keep it."""
    with connect() as client:
        client.images.unshare(share_id)
    done(output_format(output), f"Removed share {share_id}.")
