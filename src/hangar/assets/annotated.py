"""Annotated datasets (spec 07 §2.3): versions, imports, records, annotation, publishing.

A version starts as a **draft**. An import (a folder of ≤ 100 files and ≤ 1 GB, duplicates
dropped; an archive, unpacked safely; or an archive fetched from a link) is parsed by the
dataset's template (``hangar.assets.templates``) and is all or nothing: one bad row and the
whole import is refused with a per-row report, the records already there untouched. Images
go to the platform's storage and are listed in the draft's manifest; rows become records.

The annotation page edits a draft's records and their annotations. **Publishing** writes the
records in the template's canonical form (``data.jsonl``) next to the images into platform
storage, and the version becomes immutable: only published versions feed training,
fine-tuning and evaluation. A new version starts as a copy of an earlier one.

A server killed during an import leaves the dataset ``importing``; the next start marks it
``import_failed`` (``do_recover_imports``) so it can be imported again, and the staged
files, which never reached a record, are swept.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hangar.assets import templates
from hangar.assets.blobs import BlobStore
from hangar.assets.dataset_orm import Dataset, DatasetRecord, DatasetVersion
from hangar.assets.datasets import (
    DESCRIPTION_MAX,
    DatasetAccess,
    access_dataset,
    check_description,
    check_visibility,
    default_mount_name,
    name_taken,
)
from hangar.assets.manifests import Entry, Manifest, safe_path
from hangar.assets.usage import do_reference, do_release
from hangar.audit.context import note_target
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.errors import Conflict, NotFound, ValidationFailed
from hangar.jobs.access import access_workspace_for_create
from hangar.naming import check_n1
from hangar.tenancy.access import Actor

NAME_MAX = 64  # decision G7
FOLDER_FILES_MAX = 100  # spec 07 §2.3: local upload ≤ 100 files
FOLDER_BYTES_MAX = 1024**3  # and ≤ 1 GB in total
MEDIA = frozenset({"jpg", "jpeg", "png", "bmp", "webp"})
DATA_FILE = "data.jsonl"
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
REPORT_ERRORS = 200  # row errors kept in a version's report


@dataclass(frozen=True)
class Staged:
    """Files of one import, on disk under ``root`` (relative POSIX paths)."""

    root: Path
    files: tuple[str, ...]
    method: str  # folder | archive | link
    duplicates: int = 0


def check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise ValidationFailed.field(
            "version", f"{label!r} must be 1-32 letters, digits, '.', '_' or '-' (e.g. 1.0)"
        )
    return label


def do_create(
    session: Session, *, actor: Actor, workspace_id: str, name: str, data_type: str,
    template: str, description: str = "", version: str = "1.0", visibility: str = "owner",
) -> tuple[Dataset, DatasetVersion]:  # fmt: skip
    """An annotated dataset (row 7) with its first, empty draft version."""
    ws = access_workspace_for_create(session, actor, workspace_id, point="dataset.create")
    check_n1(name, max_length=NAME_MAX)
    check_description(description, DESCRIPTION_MAX)
    check_visibility(visibility)
    chosen = templates.template(template)
    if chosen.data_type != data_type:
        raise ValidationFailed.field(
            "data_type", f"template '{template}' is for {chosen.data_type} data (decision G3), "
            f"not {data_type!r}",
        )  # fmt: skip
    check_label(version)
    name_taken(session, ws, "annotated", name)
    dataset = Dataset(
        tenant_id=actor.tenant_id, workspace_id=ws.id, kind="annotated", name=name,
        description=description, visibility=visibility, status="created", mount_name="",
        data_type=data_type, template=template, created_by=actor.id,
    )  # fmt: skip
    session.add(dataset)
    session.flush()
    dataset.mount_name = default_mount_name(name, dataset.id)
    row = DatasetVersion(dataset_id=dataset.id, label=version, created_by=actor.id)
    session.add(row)
    session.flush()
    note_target("dataset", dataset.id, dataset.name, workspace_id=ws.id)
    return dataset, row


def versions(session: Session, dataset: Dataset) -> list[DatasetVersion]:
    return list(
        session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset.id)
            .order_by(DatasetVersion.created_at, DatasetVersion.id)
        )
    )


def version(session: Session, dataset: Dataset, label: str) -> DatasetVersion:
    row = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.label == label
        )
    )
    if row is None:
        raise NotFound(f"dataset '{dataset.name}' has no version '{label}'")
    return row


def draft(session: Session, dataset: Dataset, label: str) -> DatasetVersion:
    row = version(session, dataset, label)
    if row.status != "draft":
        raise Conflict(
            f"version {label} of '{dataset.name}' is published and cannot change: create a "
            "new version from it to edit",
            fields={"version": row.status},
        )
    return row


def annotated(access: DatasetAccess) -> Dataset:
    if access.dataset.kind != "annotated":
        raise ValidationFailed.field("dataset", f"'{access.dataset.name}' is a basic dataset")
    return access.dataset


# --- importing -------------------------------------------------------------------------------


def stage_folder(root: Path, named: list[tuple[str, Path]]) -> Staged:
    """Files of a folder upload (``(relative path, temporary file)``) moved under ``root``,
    identical contents kept once (spec 07 §2.3: duplicates are de-duplicated by default)."""
    if len(named) > FOLDER_FILES_MAX:
        raise ValidationFailed.field(
            "files", f"a folder upload holds at most {FOLDER_FILES_MAX} files (got "
            f"{len(named)}): upload an archive instead",
        )  # fmt: skip
    seen: set[str] = set()
    kept: list[str] = []
    total = 0
    for rel, temp in named:
        path = safe_path(rel, field="files")
        total += temp.stat().st_size
        if total > FOLDER_BYTES_MAX:
            raise ValidationFailed.field(
                "files", "a folder upload holds at most 1 GB in total: upload an archive instead"
            )
        digest = _sha256(temp)
        if digest in seen:
            continue
        seen.add(digest)
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(temp), target)
        kept.append(path)
    return Staged(root, tuple(kept), "folder", duplicates=len(named) - len(kept))


def stage_tree(root: Path, method: str) -> Staged:
    """Every regular file under ``root`` (an unpacked archive)."""
    files = tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()))
    return Staged(root, files, method)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def begin_import(session: Session, actor: Actor, dataset_id: str, label: str) -> Dataset:
    """Mark the dataset ``importing`` (row 10) before its files are read."""
    access = access_dataset(session, actor, dataset_id, "dataset.import", write=True)
    dataset = annotated(access)
    draft(session, dataset, label)
    if dataset.status == "importing":
        raise Conflict(f"dataset '{dataset.name}' is importing already: wait for it to finish")
    dataset.status = "importing"
    dataset.status_reason = ""
    return dataset


def do_import(
    sessions: sessionmaker[Session], *, actor: Actor, store: BlobStore, dataset_id: str,
    label: str, staged: Staged,
) -> DatasetVersion:  # fmt: skip
    """Parse and store one staged import into a draft: all rows or none. The dataset must be
    ``importing`` (``begin_import``); it ends ``import_succeeded`` or ``import_failed``."""
    with transaction(sessions) as session:
        template_key = annotated(
            access_dataset(session, actor, dataset_id, "dataset.import", write=True)
        ).template
    try:
        result = templates.parse_import(template_key, staged.root, staged.files)
        media = (
            Manifest(tuple(_stored(store, staged.root, f) for f in staged.files if _is_media(f)))
            if result.ok
            else Manifest(())
        )
    except Exception as exc:
        mark_failed(sessions, dataset_id, f"the import could not be read: {exc}")
        raise
    with transaction(sessions) as session:
        access = access_dataset(session, actor, dataset_id, "dataset.import", write=True)
        dataset = annotated(access)
        row = draft(session, dataset, label)
        report: dict[str, Any] = {
            "method": staged.method, "files": len(staged.files),
            "duplicates_skipped": staged.duplicates, "records": len(result.records),
            "error_count": result.error_count,
            "errors": [_error(e) for e in result.errors[:REPORT_ERRORS]],
        }  # fmt: skip
        row.report = report
        if not result.ok:
            dataset.status = "import_failed"
            dataset.status_reason = (
                f"{result.error_count} row error(s); nothing was imported: fix the rows listed "
                "in the version's report and import again"
            )
            return row
        _add_media(session, dataset, row, media)
        first = session.scalar(
            select(func.coalesce(func.max(DatasetRecord.seq), 0)).where(
                DatasetRecord.version_id == row.id
            )
        )
        shas = {e.path: e.sha256 for e in media.entries}
        for i, record in enumerate(result.records, start=int(first or 0) + 1):
            data = dict(record.data)
            if "image" in data and data["image"] in shas:
                data["sha256"] = shas[data["image"]]
            source = record.file if record.row is None else f"{record.file}:{record.row}"
            session.add(DatasetRecord(version_id=row.id, seq=i, source=source, data=data))
        row.records = int(first or 0) + len(result.records)
        dataset.status = "import_succeeded"
        return row


def mark_failed(sessions: sessionmaker[Session], dataset_id: str, why: str) -> None:
    """An import that stopped with an error: the dataset may be imported again."""
    with transaction(sessions) as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is not None and dataset.status == "importing":
            dataset.status, dataset.status_reason = "import_failed", why[:1000]


def _error(e: templates.RowError) -> dict[str, Any]:
    return {"file": e.file, "row": e.row, "field": e.field, "message": e.message}


def _is_media(path: str) -> bool:
    return PurePosixPath(path).suffix.lower().lstrip(".") in MEDIA


def _stored(store: BlobStore, root: Path, rel: str) -> Entry:
    blob = store.put_file(root / rel)
    return Entry(rel, blob.sha256, blob.size)


def _add_media(session: Session, dataset: Dataset, row: DatasetVersion, media: Manifest) -> None:
    """Add images to the draft's manifest; a path imported again takes the new file."""
    if not media.entries:
        return
    old = Manifest.from_json(row.manifest)
    replaced = {e.path for e in media.entries}
    gone = Manifest(tuple(e for e in old.entries if e.path in replaced))
    do_reference(session, tenant_id=dataset.tenant_id, manifest=media)
    do_release(session, tenant_id=dataset.tenant_id, manifest=gone)
    merged = Manifest(
        tuple(sorted([*(e for e in old.entries if e.path not in replaced), *media.entries],
                     key=lambda e: e.path))
    )  # fmt: skip
    row.manifest = merged.to_json()
    row.size, row.files = merged.size, len(merged.entries)


def do_recover_imports(session: Session) -> int:
    """Imports a killed server left ``importing`` become ``import_failed`` (run at start)."""
    stuck = list(session.scalars(select(Dataset).where(Dataset.status == "importing")))
    for dataset in stuck:
        dataset.status = "import_failed"
        dataset.status_reason = "the server stopped during the import: import the files again"
    return len(stuck)


# --- records and annotation ------------------------------------------------------------------


def records(
    session: Session, row: DatasetVersion, *, offset: int = 0, limit: int = 50
) -> list[DatasetRecord]:
    return list(
        session.scalars(
            select(DatasetRecord)
            .where(DatasetRecord.version_id == row.id)
            .order_by(DatasetRecord.seq)
            .offset(offset)
            .limit(limit)
        )
    )


def record(session: Session, row: DatasetVersion, record_id: str) -> DatasetRecord:
    found = session.get(DatasetRecord, record_id)
    if found is None or found.version_id != row.id:
        raise NotFound.of("record", record_id)
    return found


def do_annotate(
    session: Session, *, access: DatasetAccess, label: str, record_id: str,
    edits: dict[str, Any] | None = None, annotation: dict[str, Any] | None = None,
) -> DatasetRecord:  # fmt: skip
    """Edit a draft record's content and/or set its annotation (row 16)."""
    dataset = annotated(access)
    row = draft(session, dataset, label)
    found = record(session, row, record_id)
    if edits:
        found.data = templates.edit_record(dataset.template, found.data, edits)
    if annotation is not None:
        found.annotation = templates.check_annotation(dataset.template, found.data, annotation)
    found.edited_by = access.actor.id
    found.updated_at = utcnow()
    return found


def do_delete_record(
    session: Session, *, access: DatasetAccess, label: str, record_id: str
) -> None:
    row = draft(session, annotated(access), label)
    session.delete(record(session, row, record_id))
    row.records = max(0, row.records - 1)


# --- versions --------------------------------------------------------------------------------


def do_new_version(
    session: Session, *, access: DatasetAccess, label: str, source: str | None
) -> DatasetVersion:
    """A new draft: empty, or a copy of version ``source``'s records and images."""
    dataset = annotated(access)
    check_label(label)
    if session.scalar(
        select(DatasetVersion.id).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.label == label
        )
    ):
        raise Conflict(f"dataset '{dataset.name}' has a version '{label}' already")
    row = DatasetVersion(dataset_id=dataset.id, label=label, created_by=access.actor.id)
    session.add(row)
    session.flush()
    if source:
        copy_records(session, version(session, dataset, source), row, dataset.tenant_id)
    return row


def copy_records(
    session: Session, source: DatasetVersion, target: DatasetVersion, tenant_id: str
) -> None:
    """Records and images (not ``data.jsonl``: a draft has none) of ``source`` into ``target``."""
    for rec in records(session, source, limit=10**9):
        copied = DatasetRecord(
            version_id=target.id, seq=rec.seq, source=rec.source, data=dict(rec.data),
            annotation=dict(rec.annotation),
        )  # fmt: skip
        session.add(copied)
    media = Manifest(
        tuple(e for e in Manifest.from_json(source.manifest).entries if e.path != DATA_FILE)
    )
    do_reference(session, tenant_id=tenant_id, manifest=media)
    target.manifest = media.to_json()
    target.size, target.files, target.records = media.size, len(media.entries), source.records


def publish(
    sessions: sessionmaker[Session], *, actor: Actor, store: BlobStore, dataset_id: str,
    label: str,
) -> DatasetVersion:  # fmt: skip
    """Write the draft's records in canonical form and freeze the version (row 13)."""
    with transaction(sessions) as session:
        access = access_dataset(session, actor, dataset_id, "dataset.publish", write=True)
        dataset = annotated(access)
        row = draft(session, dataset, label)
        if row.records == 0:
            raise Conflict(f"version {label} of '{dataset.name}' has no records: import data first")
        lines = [
            json.dumps(templates.export_record(dataset.template, r.data, r.annotation),
                       ensure_ascii=False)
            for r in records(session, row, limit=10**9)
        ]  # fmt: skip
        version_id = row.id
    data = store.put(iter([("\n".join(lines) + "\n").encode()]))
    with transaction(sessions) as session:
        access = access_dataset(session, actor, dataset_id, "dataset.publish", write=True)
        row = draft(session, annotated(access), label)
        if row.id != version_id:
            raise Conflict("the version changed while it was being published: publish again")
        entry = Entry(DATA_FILE, data.sha256, data.size)
        do_reference(session, tenant_id=access.dataset.tenant_id, manifest=Manifest((entry,)))
        media = [e for e in Manifest.from_json(row.manifest).entries if e.path != DATA_FILE]
        full = Manifest(tuple(sorted([*media, entry], key=lambda e: e.path)))
        row.manifest = full.to_json()
        row.size, row.files = full.size, len(full.entries)
        row.status, row.published_at = "published", utcnow()
        return row


def do_delete_version(session: Session, *, access: DatasetAccess, label: str) -> None:
    dataset = annotated(access)
    if dataset.status == "importing":
        raise Conflict(f"dataset '{dataset.name}' is importing: wait, then delete")
    row = version(session, dataset, label)
    do_release(session, tenant_id=dataset.tenant_id, manifest=Manifest.from_json(row.manifest))
    session.delete(row)


def do_delete(session: Session, *, access: DatasetAccess) -> None:
    """Delete an annotated dataset: its versions' blobs stop counting (row 8)."""
    dataset = annotated(access)
    if dataset.status == "importing":
        raise Conflict(f"dataset '{dataset.name}' is importing: wait, then delete")
    for row in versions(session, dataset):
        do_release(session, tenant_id=dataset.tenant_id, manifest=Manifest.from_json(row.manifest))
    session.delete(dataset)


def do_copy(session: Session, *, access: DatasetAccess, name: str) -> Dataset:
    """Make a copy (row 19): a new dataset with every version, drafts stay drafts."""
    source = annotated(access)
    check_n1(name, max_length=NAME_MAX)
    name_taken(session, access.workspace, "annotated", name)
    copy = Dataset(
        tenant_id=source.tenant_id, workspace_id=source.workspace_id, kind="annotated",
        name=name, description=source.description, visibility="owner", status="created",
        mount_name="", data_type=source.data_type, template=source.template,
        created_by=access.actor.id,
    )  # fmt: skip
    session.add(copy)
    session.flush()
    copy.mount_name = default_mount_name(name, copy.id)
    for old in versions(session, source):
        new = DatasetVersion(dataset_id=copy.id, label=old.label, created_by=access.actor.id)
        session.add(new)
        session.flush()
        copy_records(session, old, new, source.tenant_id)
        if old.status == "published":
            full = Manifest.from_json(old.manifest)
            data = Manifest(tuple(e for e in full.entries if e.path == DATA_FILE))
            do_reference(session, tenant_id=source.tenant_id, manifest=data)
            new.manifest, new.size, new.files = old.manifest, old.size, old.files
            new.status, new.published_at = "published", old.published_at
    return copy


def published_files(row: DatasetVersion) -> Iterator[Entry]:
    if row.status != "published":
        raise Conflict(f"version {row.label} is a draft: publish it first")
    yield from Manifest.from_json(row.manifest).entries


def staging_dir(home: Path, dataset_id: str) -> Path:
    folder = home / "datasets" / dataset_id / "staging"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder))


def sweep_staging(home: Path) -> int:
    """Remove the staged files of imports a killed server left (run at start)."""
    swept = 0
    for folder in (home / "datasets").glob("*/staging/*"):
        shutil.rmtree(folder, ignore_errors=True)
        swept += 1
    return swept
