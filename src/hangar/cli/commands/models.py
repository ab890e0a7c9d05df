"""``hangar model``: the model registry — records, versions from files or a job's output,
downloads, share tokens (docs/assets.md). Uploads and downloads show a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from hangar.assets.model_schemas import ModelRead, VersionRead
from hangar.cli.commands.jobs import _workspace
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, record, say, table
from hangar.client import HangarClient

app = HangarTyper(help="Model registry: models, versions, uploads, downloads and share tokens.")

ModelArg = Annotated[str, typer.Argument(help="Model id or name.", show_default=False)]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace (default: the default one).")
]
MODEL_COLUMNS: list[Column[ModelRead]] = [
    ("NAME", lambda m: m.name),
    ("VERSIONS", lambda m: ", ".join(v.label for v in m.versions) or "none"),
    ("DESCRIPTION", lambda m: m.description),
    ("CREATED", lambda m: m.created_at),
    ("ID", lambda m: m.id),
]
VERSION_COLUMNS: list[Column[VersionRead]] = [
    ("VERSION", lambda v: v.label),
    ("SOURCE", lambda v: v.source),
    ("FROM", lambda v: v.source_ref),
    ("FILES", lambda v: v.files),
    ("SIZE", lambda v: f"{v.size / 2**20:.1f} MiB"),
    ("STATUS", lambda v: v.status),
    ("DESCRIPTION", lambda v: v.description),
    ("CREATED", lambda v: v.created_at),
]


def _find(client: HangarClient, ref: str, workspace: str | None) -> ModelRead:
    return client.models.find(ref, workspace=_workspace(client, workspace))


@contextmanager
def _bar(label: str, total: int) -> Iterator[Progress]:
    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), transient=True,
    ) as progress:  # fmt: skip
        progress.add_task(label, total=total)
        yield progress


def show_model(model: ModelRead) -> None:
    record([("Model", model.name), ("Id", model.id), ("Description", model.description or None),
            ("Created", model.created_at)])  # fmt: skip
    table(model.versions, VERSION_COLUMNS, empty="no versions yet")


@app.command("list")
def list_models(workspace: WorkspaceOpt = None, output: OutputOpt = None) -> None:
    """The workspace's models you may see."""
    with connect() as client:
        found = client.models.list(workspace=_workspace(client, workspace))
    emit(output_format(output), found, lambda: table(found, MODEL_COLUMNS, empty="no models"))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Unique in the workspace, ≤ 64 (rule N1).")],
    description: Annotated[str, typer.Option("--description", "-d", help="≤ 100.")] = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create a model record; add versions with upload or save."""
    with connect() as client:
        made = client.models.create(
            workspace_id=_workspace(client, workspace), name=name, description=description
        )
    emit(output_format(output), made, lambda: show_model(made))


@app.command()
def show(model: ModelArg, workspace: WorkspaceOpt = None, output: OutputOpt = None) -> None:
    """A model and its versions."""
    with connect() as client:
        found = client.models.get(_find(client, model, workspace).id)
    emit(output_format(output), found, lambda: show_model(found))


@app.command()
def upload(
    model: ModelArg,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="≤ 2 GB.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """The next version from a file (checksum-verified by the server)."""
    with connect() as client:
        target = _find(client, model, workspace)
        with _bar(f"upload {file.name}", file.stat().st_size) as bar:
            made = client.models.upload(
                target.id, file, description=description,
                progress=lambda n: bar.advance(bar.task_ids[0], n),
            )  # fmt: skip
    emit(output_format(output), made, lambda: say(f"{target.name} {made.label}: {made.files} "
                                                  f"file(s), {made.size:,} bytes"))  # fmt: skip


@app.command()
def save(
    model: ModelArg,
    workload: Annotated[str, typer.Option("--from", help="A completed job or dev environment id.")],
    path: Annotated[str, typer.Option(help="A folder in its output (or home).")] = "",
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Save to model registry: the next version from a workload's output, with lineage."""
    with connect() as client:
        target = _find(client, model, workspace)
        made = client.models.save_from_workload(
            target.id, workload_id=workload, path=path, description=description
        )
    emit(output_format(output), made, lambda: say(f"{target.name} {made.label} from "
                                                  f"{made.source} {made.source_ref}"))  # fmt: skip


@app.command()
def link(
    model: ModelArg,
    storage: Annotated[str, typer.Option(help="A registered storage (id or name).")],
    path: Annotated[str, typer.Option(help="The folder on it (empty: all of it, admins).")] = "",
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """The next version as a folder on tenant storage: no size limit, nothing copied."""
    with connect() as client:
        target = _find(client, model, workspace)
        made = client.models.link_storage(target.id, storage_id=client.storages.find(storage).id,
                                          path=path, description=description)  # fmt: skip
    emit(output_format(output), made, lambda: say(
        f"{target.name} {made.label} is {storage}:/{made.path}"))  # fmt: skip


@app.command()
def download(
    model: ModelArg,
    version: Annotated[int, typer.Argument(help="Version number (1 for V1).")],
    path: Annotated[str, typer.Argument(help="The file's path in the version.")],
    dest: Annotated[Path | None, typer.Option("--output-file", "-o")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """One file of a version."""
    with connect() as client:
        target = _find(client, model, workspace)
        found = client.models.version(target.id, version)
        size = next((int(f["size"]) for f in found.manifest if f["path"] == path), 0)
        out = dest or Path(path.rsplit("/", 1)[-1])
        with _bar(f"download {path}", size) as bar:
            client.models.download(target.id, version, path, out,
                                   progress=lambda n: bar.advance(bar.task_ids[0], n))  # fmt: skip
    say(f"wrote {out} ({out.stat().st_size:,} bytes)")


@app.command()
def export(
    model: ModelArg,
    version: Annotated[int, typer.Argument(help="Version number (1 for V1).")],
    dest: Annotated[Path | None, typer.Option("--output-file", "-o")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A whole version as a zip archive."""
    with connect() as client:
        target = _find(client, model, workspace)
        found = client.models.version(target.id, version)
        out = dest or Path(f"{target.name}-V{version}.zip")
        with _bar(f"export V{version}", found.size) as bar:
            client.models.export(target.id, version, out,
                                 progress=lambda n: bar.advance(bar.task_ids[0], n))  # fmt: skip
    say(f"wrote {out} ({out.stat().st_size:,} bytes)")


@app.command("import-link")
def import_link(
    model: ModelArg,
    url: Annotated[str, typer.Argument(help="An http(s) link to a .zip or .tar(.gz) archive.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """The next version from an archive the server fetches and unpacks."""
    with connect() as client:
        made = client.models.import_link(_find(client, model, workspace).id, url,
                                         description=description)  # fmt: skip
    emit(output_format(output), made, lambda: say(f"{made.label}: {made.files} file(s)"))


@app.command()
def alias(
    model: ModelArg,
    name: Annotated[str | None, typer.Argument(help="The alias, e.g. prod.")] = None,
    version: Annotated[int | None, typer.Argument(help="Point it at this version.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the alias.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List aliases, point one at a version (`alias M prod 3`), or remove one (`--remove`)."""
    with connect() as client:
        target = _find(client, model, workspace)
        if name and remove:
            client.models.remove_alias(target.id, name)
        elif name and version is not None:
            client.models.set_alias(target.id, name, version)
        elif name:
            raise typer.BadParameter("give a version, or --remove", param_hint="VERSION")
        for a in client.models.aliases(target.id):
            say(f"{a.alias}\t{a.version}")


@app.command()
def delete(
    model: ModelArg,
    version: Annotated[int | None, typer.Option(help="Only this version.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Delete a version, or the model with all its versions."""
    with connect() as client:
        target = _find(client, model, workspace)
        what = f"{target.name} V{version}" if version else f"model {target.name}"
        if not yes and not typer.confirm(f"delete {what}?"):
            raise typer.Exit(1)
        client.models.delete(target.id, version=version)
    say(f"deleted {what}")


@app.command()
def share(
    model: ModelArg,
    version: Annotated[int, typer.Argument(help="Version number.")],
    validity: Annotated[str, typer.Option(help="1d, 7d, 30d or permanent.")] = "permanent",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """A share token for one version (shown once)."""
    with connect() as client:
        made = client.models.share(_find(client, model, workspace).id, version, validity=validity)
    emit(output_format(output), made, lambda: record(
        [("Token", made.token), ("For", f"{made.model} {made.version}"),
         ("Expires", made.expires_at or "never"), ("Id (to revoke)", made.id)]))  # fmt: skip


@app.command("import")
def import_token(
    token: Annotated[str, typer.Argument(help="A share token (hms_…).")],
    name: Annotated[str | None, typer.Option(help="Import as a new model with this name.")] = None,
    into: Annotated[
        str | None, typer.Option("--into", help="Or as a new version of this model.")
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Import a version shared with you."""
    if (name is None) == (into is None):
        raise typer.BadParameter("give --name (a new model) or --into MODEL (a new version)")
    with connect() as client:
        ws = _workspace(client, workspace)
        made = client.models.import_token(
            token, workspace_id=ws if name else None, name=name,
            model_id=client.models.find(into, workspace=ws).id if into else None,
        )  # fmt: skip
    emit(output_format(output), made, lambda: say(f"imported {made.source_ref} as {made.label}"))


@app.command()
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a share token."""
    with connect() as client:
        client.models.revoke(token_id)
    say(f"revoked share token {token_id}")
