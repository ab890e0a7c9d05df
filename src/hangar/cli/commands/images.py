"""``hangar image``: runtime images, and "make image" from a dev environment (spec 03 §1.7)."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, record, say, table
from hangar.images.schemas import ImageRead

app = HangarTyper(help="Runtime images: list, show, make from a dev environment, cancel.")

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


@app.command("list")
def list_images(output: OutputOpt = None) -> None:
    """Images you can select: the preset ones and your organisation's."""
    with connect() as client:
        found = client.images.list()
    emit(output_format(output), found, lambda: table(found, COLUMNS, empty="no images"))


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
