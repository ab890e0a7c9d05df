"""``hangar code``: code packages — create from up to 5 files (archives kept as they are),
re-upload, save from a dev environment, show, download, delete (docs/assets.md). Uploads and
downloads show a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hangar.assets.code_schemas import CodePackageRead
from hangar.cli.commands.jobs import _workspace
from hangar.cli.commands.models import _bar
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, record, say, table
from hangar.client import HangarClient

app = HangarTyper(help="Code packages: files of training jobs and services (≤ 5 per upload).")

PackageArg = Annotated[str, typer.Argument(help="Code package id or name.", show_default=False)]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace (default: the default one).")
]
FilesArg = Annotated[
    list[Path],
    typer.Argument(exists=True, dir_okay=False, show_default=False,
                   help="1 to 5 files, each ≤ 400 MB; put many files into an archive."),
]  # fmt: skip
StartOpt = Annotated[
    str, typer.Option("--start-file", help="The file the start command runs (one of them).")
]
SOURCES = {"upload": "import to platform storage", "ide": "dev environment",
           "storage": "tenant storage"}  # fmt: skip


def _size(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


COLUMNS: list[Column[CodePackageRead]] = [
    ("NAME", lambda p: p.name),
    ("SOURCE", lambda p: SOURCES.get(p.source, p.source)),
    ("START FILE", lambda p: p.start_file),
    ("FILES", lambda p: p.files),
    ("SIZE", lambda p: _size(p.size)),
    ("STATUS", lambda p: p.status),
    ("CREATOR", lambda p: p.creator or ""),
    ("CREATED", lambda p: p.created_at),
    ("ID", lambda p: p.id),
]
FILE_COLUMNS: list[Column[dict[str, object]]] = [
    ("FILE", lambda f: f["path"]),
    ("SIZE", lambda f: _size(int(str(f["size"])))),
]


def _find(client: HangarClient, ref: str, workspace: str | None) -> CodePackageRead:
    return client.code.find(ref, workspace=_workspace(client, workspace))


def show_package(package: CodePackageRead) -> None:
    record([
        ("Code package", package.name), ("Id", package.id),
        ("Description", package.description or None),
        ("Source", f"{SOURCES.get(package.source, package.source)} {package.source_ref}".strip()),
        ("Storage", package.storage), ("Start file", package.start_file or None),
        ("Status", f"{package.status} {package.status_reason}".strip()),
        ("Size", f"{_size(package.size)} in {package.files} file(s)"),
        ("Creator", package.creator), ("Created", package.created_at),
    ])  # fmt: skip
    table(package.manifest, FILE_COLUMNS, empty="no files")


def _check_count(files: list[Path]) -> None:
    if not 1 <= len(files) <= 5:
        raise typer.BadParameter(
            f"{len(files)} files: give 1 to 5 (put many files into an archive)", param_hint="FILES"
        )


@app.command("list")
def list_packages(
    q: Annotated[str, typer.Option("--search", "-s", help="Part of the name.")] = "",
    created_from: Annotated[str, typer.Option("--from", help="Created on or after (date).")] = "",
    created_to: Annotated[str, typer.Option("--to", help="Created on or before (date).")] = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """The workspace's code packages you may see, newest first."""
    with connect() as client:
        found = client.code.list(
            workspace=_workspace(client, workspace), q=q, created_from=created_from,
            created_to=created_to,
        )  # fmt: skip
    emit(output_format(output), found, lambda: table(found, COLUMNS, empty="no code packages"))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Unique in the workspace, ≤ 64 (rule N1).")],
    files: FilesArg,
    description: Annotated[str, typer.Option("--description", "-d", help="≤ 1000.")] = "",
    start_file: StartOpt = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create a code package from files, uploaded to the platform's storage."""
    _check_count(files)
    with connect() as client:
        ws = _workspace(client, workspace)
        with _bar("upload", sum(f.stat().st_size for f in files)) as bar:
            made = client.code.create(
                workspace_id=ws, name=name, files=files, description=description,
                start_file=start_file, progress=lambda n: bar.advance(bar.task_ids[0], n),
            )  # fmt: skip
    emit(output_format(output), made, lambda: show_package(made))


@app.command()
def show(package: PackageArg, workspace: WorkspaceOpt = None, output: OutputOpt = None) -> None:
    """A code package and its files."""
    with connect() as client:
        found = client.code.get(_find(client, package, workspace).id)
    emit(output_format(output), found, lambda: show_package(found))


@app.command()
def upload(
    package: PackageArg,
    files: FilesArg,
    start_file: StartOpt = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Re-upload: the files replace the package's files."""
    _check_count(files)
    with connect() as client:
        target = _find(client, package, workspace)
        with _bar("upload", sum(f.stat().st_size for f in files)) as bar:
            made = client.code.reupload(
                target.id, files, start_file=start_file,
                progress=lambda n: bar.advance(bar.task_ids[0], n),
            )  # fmt: skip
    emit(output_format(output), made, lambda: say(
        f"{made.name}: {made.files} file(s), {made.size:,} bytes"))  # fmt: skip


@app.command()
def save(
    name: Annotated[str, typer.Argument(help="The new package's name.")],
    workload: Annotated[str, typer.Option("--from", help="A dev environment id.")],
    path: Annotated[str, typer.Option(help="A folder in its /work/home (default: all).")] = "",
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    start_file: StartOpt = "",
    output: OutputOpt = None,
) -> None:
    """Save to code package: a new package from a dev environment's home, in its workspace."""
    with connect() as client:
        made = client.code.save_from_workload(
            workload_id=workload, name=name, path=path, description=description,
            start_file=start_file,
        )  # fmt: skip
    emit(output_format(output), made, lambda: say(
        f"{made.name}: {made.files} file(s) from dev environment {made.source_ref}"))  # fmt: skip


@app.command()
def link(
    name: Annotated[str, typer.Argument(help="The new package's name.")],
    storage: Annotated[str, typer.Option("--storage", help="A registered storage (id or name).")],
    path: Annotated[str, typer.Option(help="The folder on it.")] = "",
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    start_file: StartOpt = "",
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """A package that is a folder on tenant storage: no size limit, mounted as it is."""
    with connect() as client:
        made = client.code.create_on_storage(
            workspace_id=_workspace(client, workspace), name=name,
            storage_id=client.storages.find(storage).id, path=path, description=description,
            start_file=start_file,
        )  # fmt: skip
    emit(output_format(output), made, lambda: say(f"{made.name}: {storage}:{made.path or '/'}"))


@app.command()
def download(
    package: PackageArg,
    path: Annotated[str, typer.Argument(help="The file's path in the package.")],
    dest: Annotated[Path | None, typer.Option("--output-file", "-o")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """One file of a code package."""
    with connect() as client:
        target = client.code.get(_find(client, package, workspace).id)
        size = next((int(f["size"]) for f in target.manifest if f["path"] == path), 0)
        out = dest or Path(path.rsplit("/", 1)[-1])
        with _bar(f"download {path}", size) as bar:
            client.code.download(target.id, path, out,
                                 progress=lambda n: bar.advance(bar.task_ids[0], n))  # fmt: skip
    say(f"wrote {out} ({out.stat().st_size:,} bytes)")


@app.command()
def delete(
    package: PackageArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Delete a code package and its files."""
    with connect() as client:
        target = _find(client, package, workspace)
        if not yes and not typer.confirm(f"delete code package {target.name}?"):
            raise typer.Exit(1)
        client.code.delete(target.id)
    say(f"deleted code package {target.name}")
