"""``hangar dataset``: basic datasets (folders on the platform's or a registered storage,
confidential ones included) and annotated datasets — templates, versions, imports with per-row
errors, annotation, publish, export, download, copy, share (docs/assets.md). Imports, exports
and downloads show a progress bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hangar.assets.dataset_schemas import DatasetRead, RecordRead, TemplateRead, VersionRead
from hangar.cli.commands.jobs import _workspace
from hangar.cli.commands.models import _bar
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, OutputFormat, emit, print_error, record, say, table
from hangar.client import HangarAPIError, HangarClient
from hangar.client.datasets import ARCHIVE_SUFFIXES, folder_files

app = HangarTyper(help="Datasets: basic (mounted folders) and annotated (versions, imports, "
                       "annotation, publish, export).")  # fmt: skip

DatasetArg = Annotated[str, typer.Argument(help="Dataset id or name.", show_default=False)]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace (default: the default one).")
]
VersionOpt = Annotated[
    str | None,
    typer.Option("--version", help="Version label, e.g. 1.0 (default: the latest draft, or the "
                                   "latest version)."),
]  # fmt: skip


def _size(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


def _kind(d: DatasetRead) -> str:
    return f"annotated ({d.template})" if d.kind == "annotated" else "basic"


DATASET_COLUMNS: list[Column[DatasetRead]] = [
    ("NAME", lambda d: d.name),
    ("KIND", _kind),
    ("STATUS", lambda d: d.status),
    ("STORAGE", lambda d: "platform" if d.storage_id is None else f"{d.storage_id}:/{d.path}"),
    ("MOUNT PATH", lambda d: d.mount_path),
    ("SHARED", lambda d: d.visibility == "workspace"),
    ("DESCRIPTION", lambda d: d.description),
    ("ID", lambda d: d.id),
]
VERSION_COLUMNS: list[Column[VersionRead]] = [
    ("VERSION", lambda v: v.label),
    ("STATUS", lambda v: v.status),
    ("RECORDS", lambda v: v.records),
    ("FILES", lambda v: v.files),
    ("SIZE", lambda v: _size(v.size)),
    ("PUBLISHED", lambda v: v.published_at),
    ("CREATED", lambda v: v.created_at),
]
ERROR_COLUMNS: list[Column[dict[str, Any]]] = [
    ("FILE", lambda e: e.get("file")),
    ("ROW", lambda e: e.get("row")),
    ("FIELD", lambda e: e.get("field")),
    ("MESSAGE", lambda e: e.get("message")),
]
FILE_COLUMNS: list[Column[dict[str, Any]]] = [
    ("NAME", lambda f: f["name"] + ("/" if f["kind"] == "folder" else "")),
    ("KIND", lambda f: f["kind"]),
    ("SIZE", lambda f: _size(int(f["size"])) if f["kind"] == "file" else ""),
]
RECORD_COLUMNS: list[Column[RecordRead]] = [
    ("#", lambda r: r.seq),
    ("SOURCE", lambda r: r.source),
    ("DATA", lambda r: _short(r.data)),
    ("ANNOTATION", lambda r: _short(r.annotation)),
    ("BUCKET", lambda r: r.bucket),
    ("ID", lambda r: r.id),
]
TEMPLATE_COLUMNS: list[Column[TemplateRead]] = [
    ("TEMPLATE", lambda t: t.key),
    ("TITLE", lambda t: t.title),
    ("DATA TYPE", lambda t: t.data_type),
    ("FORMATS", lambda t: t.formats),
    ("ANNOTATION", lambda t: t.annotation),
]


def _short(value: dict[str, Any], limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if value else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _find(client: HangarClient, ref: str, workspace: str | None) -> DatasetRead:
    found = client.datasets.find(ref, workspace=_workspace(client, workspace))
    return client.datasets.get(found.id)


def _label(dataset: DatasetRead, wanted: str | None, *, draft: bool = False) -> str:
    """``wanted``, or the latest draft (``draft``) or latest version of an annotated set."""
    if wanted:
        return wanted
    if dataset.kind != "annotated" or not dataset.versions:
        raise typer.BadParameter(f"dataset {dataset.name} has no versions: give --version")
    drafts = [v for v in dataset.versions if v.status == "draft"]
    return (drafts or dataset.versions)[-1].label if draft else dataset.versions[-1].label


def show_dataset(d: DatasetRead) -> None:
    pairs: list[tuple[str, object]] = [
        ("Dataset", d.name), ("Id", d.id), ("Kind", _kind(d)),
        ("Description", d.description or None),
        ("Status", f"{d.status} {d.status_reason}".strip()),
        ("Shared", "with the workspace's developers" if d.visibility == "workspace" else "no"),
        ("Mount path", d.mount_path),
    ]  # fmt: skip
    if d.kind == "basic":
        where = "platform storage" if d.storage_id is None else f"storage {d.storage_id}"
        pairs.append(("Location", f"{where} /{d.path}"))
        if d.confidential:
            audit = f"{d.audit_minutes} min" if d.audit_minutes else None
            pairs += [("Confidential", True), ("Output dataset", d.output_dataset_id),
                      ("Audit every", audit)]  # fmt: skip
    else:
        pairs.append(("Data type", d.data_type))
    pairs.append(("Created", d.created_at))
    record(pairs)
    if d.kind == "annotated":
        table(d.versions, VERSION_COLUMNS, empty="no versions")


def show_report(version: VersionRead) -> None:
    report = version.report
    if not report:
        say(f"version {version.label}: {version.records} record(s), {version.status}")
        return
    errors = list(report.get("errors") or [])
    say(f"version {version.label}: {report.get('files', 0)} file(s) read ({report.get('method')}), "
        f"{report.get('records', 0)} record(s) parsed, {report.get('duplicates_skipped', 0)} "
        f"duplicate file(s) skipped; {version.records} record(s) in the version")  # fmt: skip
    if errors:
        table(errors, ERROR_COLUMNS, empty="", caption=f"{report.get('error_count', len(errors))}"
              " row error(s)")  # fmt: skip


@app.command("list")
def list_datasets(
    kind: Annotated[str | None, typer.Option(help="basic or annotated.")] = None,
    q: Annotated[str, typer.Option("--search", "-s", help="Part of the name, or the id.")] = "",
    status: Annotated[str | None, typer.Option(help="e.g. created, import_failed.")] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """The workspace's datasets you may see, newest first."""
    with connect() as client:
        found = client.datasets.list(workspace=_workspace(client, workspace), kind=kind, q=q,
                                     status=status)  # fmt: skip
    emit(output_format(output), found, lambda: table(found, DATASET_COLUMNS, empty="no datasets"))


@app.command()
def templates(output: OutputOpt = None) -> None:
    """The annotation templates (what create-annotated --template takes)."""
    with connect() as client:
        found = client.datasets.templates()
    emit(output_format(output), found, lambda: table(found, TEMPLATE_COLUMNS, empty="none"))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="≤ 25: letters, digits, '-', '_', '*'.")],
    description: Annotated[str, typer.Option("--description", "-d", help="≤ 250.")] = "",
    storage: Annotated[
        str | None, typer.Option(help="A registered storage (id or name); default: platform.")
    ] = None,
    path: Annotated[str, typer.Option(help="An existing folder on the storage.")] = "",
    mount_name: Annotated[
        str | None, typer.Option(help="Folder under /work/mount/dataset.")
    ] = None,
    share: Annotated[bool, typer.Option("--share", help="Readable by the workspace.")] = False,
    confidential: Annotated[bool, typer.Option(help="Read-only, no internet (admins).")] = False,
    output_dataset: Annotated[
        str | None, typer.Option(help="Confidential: the dataset outputs go to.")
    ] = None,
    audit_minutes: Annotated[int | None, typer.Option(help="Cloud audit interval, 1-1440.")] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create a basic dataset: a folder on a registered storage, or on the platform's."""
    with connect() as client:
        ws = _workspace(client, workspace)
        made = client.datasets.create_basic(
            workspace_id=ws, name=name, description=description,
            visibility="workspace" if share else "owner",
            storage_id=client.storages.find(storage).id if storage else None, path=path,
            mount_name=mount_name, confidential=confidential,
            output_dataset_id=(client.datasets.find(output_dataset, workspace=ws).id
                               if output_dataset else None),
            audit_minutes=audit_minutes,
        )  # fmt: skip
    emit(output_format(output), made, lambda: show_dataset(made))


@app.command("create-annotated")
def create_annotated(
    name: Annotated[str, typer.Argument(help="Unique in the workspace, ≤ 64 (rule N1).")],
    template: Annotated[str, typer.Option(help="See `hangar dataset templates`.")],
    data_type: Annotated[
        str | None, typer.Option(help="image, llm or cross_modal (default: the template's).")
    ] = None,
    version: Annotated[str, typer.Option("--version", help="The first version's label.")] = "1.0",
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    share: Annotated[bool, typer.Option("--share", help="Readable by the workspace.")] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create an annotated dataset with an empty draft version; then `hangar dataset import`."""
    with connect() as client:
        if data_type is None:
            known = {t.key: t.data_type for t in client.datasets.templates()}
            data_type = known.get(template, "")
        made = client.datasets.create_annotated(
            workspace_id=_workspace(client, workspace), name=name, data_type=data_type,
            template=template, description=description, version=version,
            visibility="workspace" if share else "owner",
        )  # fmt: skip
    emit(output_format(output), made, lambda: show_dataset(made))


@app.command()
def show(dataset: DatasetArg, workspace: WorkspaceOpt = None, output: OutputOpt = None) -> None:
    """A dataset, with its versions (annotated)."""
    with connect() as client:
        found = _find(client, dataset, workspace)
    emit(output_format(output), found, lambda: show_dataset(found))


@app.command()
def files(
    dataset: DatasetArg,
    path: Annotated[str, typer.Argument(help="A folder inside the dataset.")] = "",
    workspace: WorkspaceOpt = None,
) -> None:
    """One folder of a basic dataset; an annotated one lists its version's files."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        if target.kind == "annotated":
            got = client.datasets.version(target.id, _label(target, None))
            rows = [{"name": f["path"], "kind": "file", "size": f["size"]} for f in got.manifest]
        else:
            rows = client.datasets.files(target.id, path)
    table(rows, FILE_COLUMNS, empty="no files")


@app.command("import")
def import_data(
    dataset: DatasetArg,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            exists=True,
            show_default=False,
            help="Files and folders (a folder's files keep their relative names), or one archive.",
        ),
    ] = None,
    version: VersionOpt = None,
    archive: Annotated[bool, typer.Option("--archive", help="PATH is one archive file.")] = False,
    link: Annotated[str | None, typer.Option("--link", help="Import an archive by URL.")] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Import data into a draft version: all rows or none. Row errors are listed; the exit
    code is 1 when the import was refused."""
    given = list(paths or [])
    if (link is None) == (not given):
        raise typer.BadParameter("give PATH... to upload, or --link URL (not both)")
    one = given[0] if len(given) == 1 else None
    if one is not None and one.is_file() and one.name.lower().endswith(ARCHIVE_SUFFIXES):
        archive = True
    if archive and (one is None or not one.is_file()):
        raise typer.BadParameter("--archive takes exactly one archive file", param_hint="PATH")
    named: list[tuple[str, Path]] = []
    for p in given:
        named += folder_files(p) if p.is_dir() else [(p.name, p)]
    with connect() as client:
        target = _find(client, dataset, workspace)
        label = _label(target, version, draft=True)
        if link is not None:
            made = client.datasets.import_link(target.id, label, link)
        else:
            with _bar(
                f"upload {len(named)} file(s)", sum(p.stat().st_size for _, p in named)
            ) as bar:
                made = client.datasets.import_files(
                    target.id, label, named, archive=archive,
                    progress=lambda n: bar.advance(bar.task_ids[0], n),
                )  # fmt: skip
        after = client.datasets.get(target.id)
    failed = after.status == "import_failed" or bool(made.report.get("error_count"))
    fmt = output_format(output)
    emit(fmt, made, lambda: show_report(made))
    if failed:
        if fmt is not OutputFormat.JSON or after.status_reason:
            print_error(f"import refused: {after.status_reason or 'see the row errors'}")
        raise typer.Exit(1)


@app.command()
def records(
    dataset: DatasetArg,
    version: VersionOpt = None,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """A page of a version's records with their annotations."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        found = client.datasets.records(target.id, _label(target, version), offset=offset,
                                        limit=limit)  # fmt: skip
    emit(output_format(output), found, lambda: table(found, RECORD_COLUMNS, empty="no records"))


def _json_object(text: str | None, name: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint=name) from None
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=name)
    return value


@app.command()
def annotate(
    dataset: DatasetArg,
    record_id: Annotated[str, typer.Argument(help="The record's id (`hangar dataset records`).")],
    annotation: Annotated[
        str | None, typer.Option(help='JSON, e.g. \'{"review": "ok"}\' or \'{"labels": ["cat"]}\'.')
    ] = None,
    edits: Annotated[str | None, typer.Option(help='JSON, e.g. \'{"output": "two"}\'.')] = None,
    version: VersionOpt = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Edit a draft record's content and/or set its annotation."""
    changes = _json_object(edits, "--edits")
    note = _json_object(annotation, "--annotation")
    if changes is None and note is None:
        raise typer.BadParameter("give --annotation and/or --edits")
    with connect() as client:
        target = _find(client, dataset, workspace)
        made = client.datasets.annotate(target.id, _label(target, version, draft=True), record_id,
                                        edits=changes, annotation=note)  # fmt: skip
    emit(output_format(output), made, lambda: say(
        f"record {made.seq}: {_short(made.annotation, 200) or 'no annotation'}"))  # fmt: skip


@app.command()
def publish(
    dataset: DatasetArg, version: VersionOpt = None, workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:  # fmt: skip
    """Publish a draft version: it becomes immutable and can be mounted and exported."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        made = client.datasets.publish(target.id, _label(target, version, draft=True))
    emit(output_format(output), made, lambda: say(
        f"published {target.name} {made.label}: {made.records} record(s), {made.files} file(s), "
        f"{made.size:,} bytes"))  # fmt: skip


@app.command()
def cache(
    dataset: DatasetArg, version: VersionOpt = None, workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:  # fmt: skip
    """Push a published version to the cache tier (a faster file system) for training."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        made = client.datasets.push_to_cache(target.id, _label(target, version, draft=False))
    emit(output_format(output), made, lambda: say(f"{target.name} {made.label} is in the cache"))


@app.command()
def accelerate(
    dataset: DatasetArg, workspace: WorkspaceOpt = None, output: OutputOpt = None
) -> None:
    """Stage a basic dataset in a bucket into the object cache now, so runs start at once."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        made = client.datasets.accelerate(target.id)
    emit(output_format(output), made, lambda: say(
        f"{target.name}: {made.files} files staged ({made.fetched} fetched, "
        f"{made.removed} removed)"))  # fmt: skip


@app.command()
def backup(
    dataset: DatasetArg,
    storage: Annotated[str, typer.Option(help="An s3 storage (id or name).")],
    path: Annotated[str, typer.Option(help="The folder of its bucket to copy into.")],
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Back a basic dataset up to object storage (nothing in the bucket is deleted)."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        made = client.datasets.backup(target.id, storage_id=client.storages.find(storage).id,
                                      path=path)  # fmt: skip
    emit(output_format(output), made, lambda: say(
        f"{target.name}: {made.files} files in {storage}:/{path.strip('/')} "
        f"({made.fetched} copied, {made.bytes} bytes)"))  # fmt: skip


@app.command()
def export(
    dataset: DatasetArg,
    version: VersionOpt = None,
    dest: Annotated[Path | None, typer.Option("--output-file", "-o")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A published version as a zip archive."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        label = _label(target, version)
        got = client.datasets.version(target.id, label)
        out = dest or Path(f"{target.name}-{label}.zip")
        with _bar(f"export {target.name} {label}", got.size) as bar:
            client.datasets.export(target.id, label, out,
                                   progress=lambda n: bar.advance(bar.task_ids[0], n))  # fmt: skip
    say(f"wrote {out} ({out.stat().st_size:,} bytes)")


@app.command()
def download(
    dataset: DatasetArg,
    path: Annotated[str, typer.Argument(help="The file's path in the version.")],
    version: VersionOpt = None,
    dest: Annotated[Path | None, typer.Option("--output-file", "-o")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """One file of a published version (or an image of a draft)."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        label = _label(target, version)
        got = client.datasets.version(target.id, label)
        size = next((int(f["size"]) for f in got.manifest if f["path"] == path), 0)
        out = dest or Path(path.rsplit("/", 1)[-1])
        with _bar(f"download {path}", size) as bar:
            client.datasets.download_file(
                target.id, label, path, out, progress=lambda n: bar.advance(bar.task_ids[0], n)
            )
    say(f"wrote {out} ({out.stat().st_size:,} bytes)")


@app.command("version")
def new_version(
    dataset: DatasetArg,
    label: Annotated[str, typer.Argument(help="The new version's label, e.g. 2.0.")],
    source: Annotated[
        str | None, typer.Option("--from", help="Copy this version's records.")
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """A new draft version of an annotated dataset, empty or copied from another."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        made = client.datasets.new_version(target.id, label, source=source)
    emit(output_format(output), made, lambda: say(
        f"{target.name} {made.label}: draft, {made.records} record(s)"))  # fmt: skip


@app.command()
def copy(
    dataset: DatasetArg,
    name: Annotated[str, typer.Argument(help="The copy's name.")],
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
) -> None:
    """Copy an annotated dataset with all its versions."""
    with connect() as client:
        made = client.datasets.copy(_find(client, dataset, workspace).id, name=name)
    emit(output_format(output), made, lambda: show_dataset(made))


def _visibility(
    dataset: str, workspace: str | None, value: str, output: OutputFormat | None
) -> None:
    with connect() as client:
        made = client.datasets.update(_find(client, dataset, workspace).id, visibility=value)
    what = "shared with the workspace's developers" if value == "workspace" else "not shared"
    emit(output_format(output), made, lambda: say(f"{made.name}: {what}"))


@app.command()
def share(dataset: DatasetArg, workspace: WorkspaceOpt = None, output: OutputOpt = None) -> None:
    """Share with the workspace: its developers may view, download and mount it."""
    _visibility(dataset, workspace, "workspace", output)


@app.command()
def unshare(dataset: DatasetArg, workspace: WorkspaceOpt = None, output: OutputOpt = None) -> None:
    """Make the dataset yours only again."""
    _visibility(dataset, workspace, "owner", output)


@app.command()
def delete(
    dataset: DatasetArg,
    version: Annotated[str | None, typer.Option("--version", help="Only this version.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even while running work mounts it.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Delete a version, or the dataset (tenant storage is never touched)."""
    with connect() as client:
        target = _find(client, dataset, workspace)
        what = f"{target.name} {version}" if version else f"dataset {target.name}"
        if not yes and not typer.confirm(f"delete {what}?"):
            raise typer.Exit(1)
        if version:
            client.datasets.delete_version(target.id, version)
        else:
            try:
                client.datasets.delete(target.id, confirm=force)
            except HangarAPIError as err:
                if err.status != 409 or "confirm=true" not in err.message:
                    raise
                print_error(err.message.split(": send confirm=true")[0],
                            hint="add --force to delete it anyway")  # fmt: skip
                raise typer.Exit(1) from None
    say(f"deleted {what}")
