"""Datasets API: ``/api/v1/datasets`` (basic and annotated) and ``/api/v1/storages``.

Imports arrive as multipart uploads (a folder's files, or one archive) or as a link to an
archive; they are staged on disk, unpacked safely (``assets.archives``), parsed by the
dataset's template and stored with no database transaction open.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import (
    annotated,
    archives,
    basic_copies,
    dataset_cache,
    dataset_delete,
    datasets,
    mounts,
    storages,
    templates,
    transfer,
    usage,
)
from hangar.assets.dataset_orm import Dataset, DatasetRecord, DatasetVersion, ExternalStorage
from hangar.assets.dataset_schemas import (
    AnnotatedCreate,
    BackupCreate,
    BasicCreate,
    CopyCreate,
    CopyReport,
    DatasetRead,
    DatasetUpdate,
    LinkImport,
    PlatformUsage,
    RecordRead,
    RecordUpdate,
    StorageCreate,
    StorageRead,
    TemplateRead,
    VersionCreate,
    VersionRead,
)
from hangar.assets.manifests import Manifest, safe_path
from hangar.assets.model_routes import BlobResponse, store_of
from hangar.assets.secret_box import SecretBox
from hangar.db.engine import transaction
from hangar.errors import NotFound, ValidationFailed
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
storage_router = APIRouter(prefix="/api/v1/storages", tags=["storages"])


# --- storages --------------------------------------------------------------------------------


def _storage(row: ExternalStorage) -> StorageRead:
    options = row.options or {}
    return StorageRead(
        id=row.id, cluster_id=row.cluster_id, name=row.name, kind=row.kind, root=row.root,
        endpoint_url=options.get("endpoint_url", ""), region=options.get("region", ""),
        access_key_id=options.get("access_key_id", ""), created_at=row.created_at,
    )  # fmt: skip


@storage_router.post("", response_model=StorageRead, status_code=201)
def register_storage(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, body: StorageCreate
) -> StorageRead:
    """Register a storage (admins). An s3 one is checked with one request to its bucket
    before it is saved; its secret key is sealed and never returned."""
    access = storages.S3Access(
        endpoint_url=body.endpoint_url, region=body.region, access_key_id=body.access_key_id,
        secret_access_key=body.secret_access_key.get_secret_value(),
    )  # fmt: skip
    row = storages.do_register(
        session, actor=actor, cluster_id=body.cluster_id, name=body.name, kind=body.kind,
        root=body.root, s3=access, box=SecretBox.of_home(settings.home),
    )  # fmt: skip
    return _storage(row)


@storage_router.get("", response_model=list[StorageRead])
def list_storages(session: SessionDep, actor: CurrentActor) -> list[StorageRead]:
    return [_storage(r) for r in storages.listed(session, actor)]


@storage_router.get("/platform", response_model=PlatformUsage)
def platform_usage(session: SessionDep, actor: CurrentActor) -> PlatformUsage:
    """The tenant's platform storage: free quota, used and left (the forms show what is left,
    spec 07 §0)."""
    quota = usage.quota_of(session, actor.tenant_id)
    used = usage.used_bytes(session, tenant_id=actor.tenant_id)
    return PlatformUsage(quota_bytes=quota, used_bytes=used, free_bytes=max(0, quota - used))


@storage_router.get("/{storage_id}/check")
def check_path(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, storage_id: str,
    path: str = "",
) -> dict[str, str]:  # fmt: skip
    """Whether ``path`` may be used on the storage (the form checks before it submits)."""
    found = storages.locate(session, actor, storage_id=storage_id, path=path,
                            box=SecretBox.of_home(settings.home))  # fmt: skip
    return {"path": found.path, "status": "ok"}


@storage_router.delete("/{storage_id}", status_code=204)
def remove_storage(session: SessionDep, actor: CurrentActor, storage_id: str) -> None:
    storages.do_remove(session, actor=actor, storage_id=storage_id)


# --- datasets --------------------------------------------------------------------------------


def _version(
    row: DatasetVersion, *, files: bool = False, cache_dir: Path | None = None
) -> VersionRead:
    """A version as the API shows it; ``cached`` when ``cache_dir`` holds its copy."""
    return VersionRead(
        id=row.id, label=row.label, status=row.status, records=row.records, files=row.files,
        size=row.size, report=row.report, published_at=row.published_at,
        created_at=row.created_at, manifest=row.manifest if files else [],
        cached=dataset_cache.cached_path(cache_dir, row) is not None,
    )  # fmt: skip


def _dataset(d: Dataset, versions: list[VersionRead] | None = None) -> DatasetRead:
    return DatasetRead(
        id=d.id, workspace_id=d.workspace_id, kind=d.kind, name=d.name,
        description=d.description, status=d.status, status_reason=d.status_reason,
        visibility=d.visibility, storage_id=d.storage_id, path=d.path, mount_name=d.mount_name,
        mount_path=mounts.container_path("dataset", d.mount_name), confidential=d.confidential,
        output_dataset_id=d.output_dataset_id, audit_minutes=d.audit_minutes,
        data_type=d.data_type, template=d.template, created_by=d.created_by,
        created_at=d.created_at, versions=versions or [],
    )  # fmt: skip


def _record(r: DatasetRecord, template: str) -> RecordRead:
    bucket = templates.ranking_bucket(r.annotation) if template == "ranking" else None
    return RecordRead(id=r.id, seq=r.seq, source=r.source, data=r.data,
                      annotation=r.annotation, bucket=bucket, updated_at=r.updated_at)  # fmt: skip


@router.get("/templates", response_model=list[TemplateRead])
def list_templates() -> list[TemplateRead]:
    """The eight annotation templates with the JSON Schema of one record (decision G4)."""
    return [
        TemplateRead(key=t.key, title=t.title, data_type=t.data_type, formats=sorted(t.formats),
                     annotation=t.annotation, record_schema=t.record_schema)
        for t in templates.TEMPLATES.values()
    ]  # fmt: skip


@router.post("", response_model=DatasetRead, status_code=201)
def create_basic(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, body: BasicCreate
) -> DatasetRead:
    row = datasets.do_create_basic(session, actor=actor, home=settings.home,
                                   **body.model_dump())  # fmt: skip
    return _dataset(row)


@router.post("/annotated", response_model=DatasetRead, status_code=201)
def create_annotated(
    session: SessionDep, actor: CurrentActor, body: AnnotatedCreate
) -> DatasetRead:
    dataset, first = annotated.do_create(session, actor=actor, **body.model_dump())
    return _dataset(dataset, [_version(first)])


@router.get("", response_model=list[DatasetRead])
def list_datasets(
    session: SessionDep, actor: CurrentActor, workspace: str,
    kind: Annotated[str | None, Query(pattern="^(basic|annotated)$")] = None,
    q: str = "", status: str | None = None,
) -> list[DatasetRead]:  # fmt: skip
    rows = datasets.visible_datasets(session, actor, workspace_id=workspace, kind=kind,
                                     search=q, status=status)  # fmt: skip
    return [_dataset(d) for d in rows]


@router.get("/{dataset_id}", response_model=DatasetRead)
def get_dataset(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, dataset_id: str
) -> DatasetRead:
    found = _viewed(session, actor, dataset_id)
    rows = annotated.versions(session, found.dataset)
    cache_dir = settings.dataset_cache_dir
    return _dataset(found.dataset, [_version(v, cache_dir=cache_dir) for v in rows])


def _viewed(session: SessionDep, actor: Actor, dataset_id: str) -> datasets.DatasetAccess:
    dataset = session.get(Dataset, dataset_id)
    point = (
        "basic_dataset.view" if dataset is not None and dataset.kind == "basic" else "dataset.view"
    )
    return datasets.access_dataset(session, actor, dataset_id, point, write=False)


@router.patch("/{dataset_id}", response_model=DatasetRead)
def update_dataset(
    session: SessionDep, actor: CurrentActor, dataset_id: str, body: DatasetUpdate
) -> DatasetRead:
    """Rename, describe, change visibility (share/unshare) or the mount folder's name."""
    found = _viewed(session, actor, dataset_id)
    if found.dataset.kind == "basic":
        row = datasets.do_update_basic(session, actor=actor, dataset_id=dataset_id,
                                       **body.model_dump(exclude_none=True))  # fmt: skip
    else:
        row = datasets.do_update_annotated(session, actor=actor, dataset_id=dataset_id,
                                           **body.model_dump(exclude_none=True))  # fmt: skip
    return _dataset(row)


@router.get("/{dataset_id}/files")
def view_files(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, dataset_id: str,
    path: str = "",
) -> list[dict[str, object]]:  # fmt: skip
    """One folder of a basic dataset (row 27)."""
    found = datasets.access_dataset(session, actor, dataset_id, "basic_dataset.view_files",
                                    write=False)  # fmt: skip
    if found.dataset.kind != "basic":
        raise ValidationFailed.field("dataset", "an annotated dataset lists its versions' files")
    return datasets.list_files(session, access=found, home=settings.home, path=path)


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, background: BackgroundTasks,
    dataset_id: str, confirm: bool = False,
) -> None:  # fmt: skip
    """Delete a dataset (rows 8, 26); its platform files go once the deletion has committed."""
    leftovers = dataset_delete.do_delete(
        session, actor=actor, home=settings.home, cache_dir=settings.dataset_cache_dir,
        dataset_id=dataset_id, confirm=confirm,
    )  # fmt: skip
    background.add_task(leftovers.remove)


@router.post("/{dataset_id}/copy", response_model=DatasetRead, status_code=201)
def copy_dataset(
    session: SessionDep, actor: CurrentActor, dataset_id: str, body: CopyCreate
) -> DatasetRead:
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.copy", write=True)
    row = annotated.do_copy(session, access=found, name=body.name)
    return _dataset(row, [_version(v) for v in annotated.versions(session, row)])


# --- versions --------------------------------------------------------------------------------


@router.post("/{dataset_id}/versions", response_model=VersionRead, status_code=201)
def new_version(
    session: SessionDep, actor: CurrentActor, dataset_id: str, body: VersionCreate
) -> VersionRead:
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.import", write=True)
    return _version(annotated.do_new_version(session, access=found, label=body.label,
                                             source=body.source))  # fmt: skip


@router.get("/{dataset_id}/versions/{label}", response_model=VersionRead)
def get_version(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, dataset_id: str, label: str
) -> VersionRead:
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.view", write=False)
    row = annotated.version(session, annotated.annotated(found), label)
    cached = dataset_cache.cached_path(settings.dataset_cache_dir, row) is not None
    return _version(row, files=True).model_copy(update={"cached": cached})


@router.post("/{dataset_id}/accelerate", response_model=CopyReport)
def accelerate(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str
) -> CopyReport:
    """Stage a dataset in a bucket into the object cache now (row 28), so the next workload
    that mounts it starts without waiting for the copy."""
    sessions = app_state(request).sessions
    report = basic_copies.accelerate(sessions, actor=actor, home=settings.home,
                                     dataset_id=dataset_id)  # fmt: skip
    return CopyReport(**report.as_dict())


@router.post("/{dataset_id}/backup", response_model=CopyReport)
def backup(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str,
    body: BackupCreate,
) -> CopyReport:  # fmt: skip
    """Copy a dataset's files into a folder of an s3 storage (row 29); objects already there
    with the same content are kept, nothing there is deleted."""
    sessions = app_state(request).sessions
    report = basic_copies.backup(sessions, actor=actor, home=settings.home,
                                 dataset_id=dataset_id, storage_id=body.storage_id,
                                 path=body.path)  # fmt: skip
    return CopyReport(**report.as_dict())


@router.post("/{dataset_id}/versions/{label}/cache", response_model=VersionRead)
def push_to_cache(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str, label: str
) -> VersionRead:
    """Copy a published version to the cache tier (row 18); mounts then read it there."""
    sessions = app_state(request).sessions
    dataset_cache.push_version(sessions, actor=actor, store=store_of(settings),
                               cache_dir=settings.dataset_cache_dir, dataset_id=dataset_id,
                               label=label)  # fmt: skip
    with sessions() as session:
        found = datasets.access_dataset(session, actor, dataset_id, "dataset.view", write=False)
        row = annotated.version(session, annotated.annotated(found), label)
        return _version(row, files=True).model_copy(update={"cached": True})


@router.delete("/{dataset_id}/versions/{label}", status_code=204)
def delete_version(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, background: BackgroundTasks,
    dataset_id: str, label: str,
) -> None:  # fmt: skip
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.delete", write=True)
    row = annotated.version(session, annotated.annotated(found), label)
    annotated.do_delete_version(session, access=found, label=label)
    background.add_task(dataset_cache.evict, settings.dataset_cache_dir, [row.id])


@router.post("/{dataset_id}/versions/{label}/import", response_model=VersionRead)
async def import_upload(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str,
    label: str, method: Annotated[str, Query(pattern="^(folder|archive)$")] = "folder",
) -> VersionRead:  # fmt: skip
    """Import a folder's files (multipart ``files``, their names relative paths; ≤ 100 files,
    ≤ 1 GB, duplicates dropped) or one archive (``method=archive``), all rows or none."""
    sessions = app_state(request).sessions
    await run_in_threadpool(open_import, sessions, actor, dataset_id, label)
    staging = annotated.staging_dir(settings.home, dataset_id)
    try:
        form = await request.form(max_files=annotated.FOLDER_FILES_MAX + 1, max_fields=10)
        uploads = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
        staged = await run_in_threadpool(stage_upload, staging, uploads, method)
        await form.close()
        row = await run_in_threadpool(
            annotated.do_import, sessions, actor=actor, store=store_of(settings),
            dataset_id=dataset_id, label=label, staged=staged,
        )  # fmt: skip
    except BaseException as exc:
        await run_in_threadpool(close_failed_import, sessions, actor, dataset_id, label, exc)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _version(row)


@router.post("/{dataset_id}/versions/{label}/import-link", response_model=VersionRead)
def import_link(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str,
    label: str, body: LinkImport,
) -> VersionRead:  # fmt: skip
    """Import an archive fetched from ``url`` (spec 07 §2.3 "via share link")."""
    sessions = app_state(request).sessions
    open_import(sessions, actor, dataset_id, label)
    staging = annotated.staging_dir(settings.home, dataset_id)
    try:
        archive = transfer.fetch_archive(body.url, staging)
        root = staging / "files"
        archives.extract(archive, root)
        return _version(annotated.do_import(sessions, actor=actor, store=store_of(settings),
                                            dataset_id=dataset_id, label=label,
                                            staged=annotated.stage_tree(root, "link")))  # fmt: skip
    except BaseException as exc:
        close_failed_import(sessions, actor, dataset_id, label, exc)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def open_import(sessions: sessionmaker[Session], actor: Actor, dataset_id: str, label: str) -> None:
    with transaction(sessions) as session:
        annotated.begin_import(session, actor, dataset_id, label)


def close_failed_import(
    sessions: sessionmaker[Session], actor: Actor, dataset_id: str, label: str,
    exc: BaseException,
) -> None:  # fmt: skip
    annotated.mark_failed(sessions, dataset_id, str(exc) or type(exc).__name__)


def stage_upload(staging: Path, uploads: list[UploadFile], method: str) -> annotated.Staged:
    if not uploads:
        raise ValidationFailed.field("files", "send at least one file (multipart field 'files')")
    if method == "archive":
        if len(uploads) != 1:
            raise ValidationFailed.field("files", "an archive import takes exactly one file")
        name = uploads[0].filename or "upload"
        suffix = transfer.archive_suffix(name)
        if suffix is None:
            raise ValidationFailed.field(
                "files", f"{name!r} is not an archive ({', '.join(transfer.ARCHIVE_SUFFIXES)})"
            )
        archive = staging / ("archive" + suffix)
        with archive.open("wb") as out:
            shutil.copyfileobj(uploads[0].file, out, 1024 * 1024)
        root = staging / "files"
        archives.extract(archive, root)
        return annotated.stage_tree(root, "archive")
    incoming = staging / "incoming"
    incoming.mkdir()
    named: list[tuple[str, Path]] = []
    for i, upload in enumerate(uploads):
        rel = safe_path(upload.filename or f"file-{i}", field="files")
        temp = incoming / str(i)
        with temp.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1024 * 1024)
        named.append((rel, temp))
    root = staging / "files"
    root.mkdir()
    return annotated.stage_folder(root, named)


@router.post("/{dataset_id}/versions/{label}/publish", response_model=VersionRead)
def publish_version(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str, label: str
) -> VersionRead:
    row = annotated.publish(app_state(request).sessions, actor=actor, store=store_of(settings),
                            dataset_id=dataset_id, label=label)  # fmt: skip
    return _version(row, files=True)


@router.get("/{dataset_id}/versions/{label}/records", response_model=list[RecordRead])
def list_records(
    session: SessionDep, actor: CurrentActor, dataset_id: str, label: str,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RecordRead]:  # fmt: skip
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.view", write=False)
    dataset = annotated.annotated(found)
    row = annotated.version(session, dataset, label)
    return [_record(r, dataset.template)
            for r in annotated.records(session, row, offset=offset, limit=limit)]  # fmt: skip


@router.patch("/{dataset_id}/versions/{label}/records/{record_id}", response_model=RecordRead)
def annotate_record(
    session: SessionDep, actor: CurrentActor, dataset_id: str, label: str, record_id: str,
    body: RecordUpdate,
) -> RecordRead:  # fmt: skip
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.annotate", write=True)
    row = annotated.do_annotate(session, access=found, label=label, record_id=record_id,
                                edits=body.edits, annotation=body.annotation)  # fmt: skip
    return _record(row, found.dataset.template)


@router.delete("/{dataset_id}/versions/{label}/records/{record_id}", status_code=204)
def delete_record(
    session: SessionDep, actor: CurrentActor, dataset_id: str, label: str, record_id: str
) -> None:
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.annotate", write=True)
    annotated.do_delete_record(session, access=found, label=label, record_id=record_id)


@router.get("/{dataset_id}/versions/{label}/files/{path:path}")
def download_file(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, dataset_id: str,
    label: str, path: str,
) -> Response:  # fmt: skip
    """One file of a published version, or an image of a draft (row 15)."""
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.download", write=False)
    row = annotated.version(session, annotated.annotated(found), label)
    wanted = safe_path(path)
    entry = next((e for e in Manifest.from_json(row.manifest).entries if e.path == wanted), None)
    if entry is None:
        raise NotFound(f"version {label} of '{found.dataset.name}' has no file '{wanted}'")
    return BlobResponse(store_of(settings).path(entry.sha256),
                        filename=wanted.rsplit("/", 1)[-1],
                        media_type="application/octet-stream")  # fmt: skip


@router.get("/{dataset_id}/versions/{label}/export")
def export_version(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, dataset_id: str, label: str
) -> StreamingResponse:
    """A published version as a zip archive (row 14)."""
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.export", write=False)
    row = annotated.version(session, annotated.annotated(found), label)
    entries = list(annotated.published_files(row))
    store = store_of(settings)
    name = f"{found.dataset.name}-{label}.zip"

    body = transfer.zip_stream(store, entries)
    return StreamingResponse(body, media_type="application/zip", headers=transfer.attachment(name))
