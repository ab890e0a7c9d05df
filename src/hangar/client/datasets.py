"""Datasets (``/api/v1/datasets``): basic datasets (mounted folders on the platform's or a
registered storage, incl. confidential ones) and annotated datasets (templates, versions,
imports with per-row errors, online annotation, publish, export); and external storages
(``/api/v1/storages``)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
from hangar.client import multipart
from hangar.client.errors import by_name_or_id
from hangar.client.multipart import CHUNK, Progress
from hangar.client.transport import UNSET, Transport, Unset, payload, segment

DATASETS = "/api/v1/datasets"
STORAGES = "/api/v1/storages"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def folder_files(folder: Path) -> list[tuple[str, Path]]:
    """Every file under ``folder`` with its path relative to it (``/``-separated), sorted;
    hidden files and folders (``.name``) are left out."""
    found: list[tuple[str, Path]] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found.append((rel.as_posix(), path))
    return found


class DatasetsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    # --- datasets ------------------------------------------------------------------------
    def list(
        self, *, workspace: str, kind: str | None = None, q: str = "", status: str | None = None
    ) -> builtins.list[DatasetRead]:
        """The workspace's datasets the caller may see, newest first; ``q`` matches the name
        or the id, ``kind`` is ``basic`` or ``annotated``."""
        params = {"workspace": workspace, "kind": kind, "q": q or None, "status": status}
        return self._t.get_list(DatasetRead, DATASETS, params=params)

    def get(self, dataset_id: str) -> DatasetRead:
        """A dataset with its versions (annotated datasets)."""
        return self._t.get(DatasetRead, f"{DATASETS}/{segment(dataset_id)}")

    def find(self, ref: str, *, workspace: str) -> DatasetRead:
        """By name or id, in ``workspace``."""
        return by_name_or_id(self.list(workspace=workspace), ref, "dataset")

    def create_basic(
        self, *, workspace_id: str, name: str, description: str = "", visibility: str = "owner",
        storage_id: str | None = None, path: str = "", mount_name: str | None = None,
        confidential: bool = False, output_dataset_id: str | None = None,
        audit_minutes: int | None = None,
    ) -> DatasetRead:  # fmt: skip
        """A basic dataset: a folder on a registered storage (``storage_id`` + ``path``) or,
        with neither, on the platform's storage."""
        body = payload(
            BasicCreate, workspace_id=workspace_id, name=name, description=description,
            visibility=visibility, storage_id=storage_id, path=path, mount_name=mount_name,
            confidential=confidential, output_dataset_id=output_dataset_id,
            audit_minutes=audit_minutes,
        )  # fmt: skip
        return self._t.send(DatasetRead, "POST", DATASETS, json=body)

    def create_annotated(
        self, *, workspace_id: str, name: str, data_type: str, template: str,
        description: str = "", version: str = "1.0", visibility: str = "owner",
    ) -> DatasetRead:  # fmt: skip
        """An annotated dataset of ``template`` (see :meth:`templates`) with an empty draft
        version ``version``."""
        body = payload(
            AnnotatedCreate, workspace_id=workspace_id, name=name, data_type=data_type,
            template=template, description=description, version=version, visibility=visibility,
        )  # fmt: skip
        return self._t.send(DatasetRead, "POST", f"{DATASETS}/annotated", json=body)

    def update(
        self, dataset_id: str, *, name: str | Unset = UNSET, description: str | Unset = UNSET,
        visibility: str | Unset = UNSET, mount_name: str | Unset = UNSET,
    ) -> DatasetRead:  # fmt: skip
        """Rename, describe, share (``visibility="workspace"``) or unshare (``"owner"``), or
        change the mount folder's name."""
        body = payload(DatasetUpdate, name=name, description=description,
                       visibility=visibility, mount_name=mount_name)  # fmt: skip
        return self._t.send(DatasetRead, "PATCH", f"{DATASETS}/{segment(dataset_id)}", json=body)

    def delete(self, dataset_id: str, *, confirm: bool = False) -> None:
        """Delete a dataset; while running work mounts it the server answers 409 (naming the
        dependents) unless ``confirm``. Tenant storage is never touched."""
        self._t.request("DELETE", f"{DATASETS}/{segment(dataset_id)}",
                        params={"confirm": confirm or None})  # fmt: skip

    def files(self, dataset_id: str, path: str = "") -> builtins.list[dict[str, Any]]:
        """One folder of a basic dataset: ``{"name", "kind", "size"}`` entries."""
        response = self._t.request("GET", f"{DATASETS}/{segment(dataset_id)}/files",
                                   params={"path": path or None})  # fmt: skip
        return builtins.list(response.json())

    def accelerate(self, dataset_id: str) -> CopyReport:
        """Stage a dataset in a bucket into the object cache now (the next run starts at
        once)."""
        return self._t.send(CopyReport, "POST", f"{DATASETS}/{segment(dataset_id)}/accelerate")

    def backup(self, dataset_id: str, *, storage_id: str, path: str) -> CopyReport:
        """Copy a basic dataset's files into folder ``path`` of an s3 storage."""
        body = payload(BackupCreate, storage_id=storage_id, path=path)
        return self._t.send(CopyReport, "POST", f"{DATASETS}/{segment(dataset_id)}/backup",
                            json=body)  # fmt: skip

    def templates(self) -> builtins.list[TemplateRead]:
        """The annotation templates with the JSON Schema of one record."""
        return self._t.get_list(TemplateRead, f"{DATASETS}/templates")

    def copy(self, dataset_id: str, *, name: str) -> DatasetRead:
        """A copy of an annotated dataset with every version (drafts stay drafts)."""
        body = payload(CopyCreate, name=name)
        return self._t.send(DatasetRead, "POST", f"{DATASETS}/{segment(dataset_id)}/copy",
                            json=body)  # fmt: skip

    # --- versions ------------------------------------------------------------------------
    def _v(self, dataset_id: str, label: str) -> str:
        return f"{DATASETS}/{segment(dataset_id)}/versions/{segment(label)}"

    def new_version(self, dataset_id: str, label: str, *, source: str | None = None) -> VersionRead:
        """A new draft version: empty, or a copy of version ``source``'s records."""
        body = payload(VersionCreate, label=label, source=source)
        return self._t.send(VersionRead, "POST", f"{DATASETS}/{segment(dataset_id)}/versions",
                            json=body)  # fmt: skip

    def version(self, dataset_id: str, label: str) -> VersionRead:
        """A version with its files (``manifest``) and its last import report."""
        return self._t.get(VersionRead, self._v(dataset_id, label))

    def delete_version(self, dataset_id: str, label: str) -> None:
        self._t.request("DELETE", self._v(dataset_id, label))

    def import_files(
        self, dataset_id: str, label: str, files: Sequence[Path | tuple[str, Path]], *,
        archive: bool = False, progress: Progress | None = None,
    ) -> VersionRead:  # fmt: skip
        """Import into draft ``label``: a folder's files (``(relative name, path)`` pairs, or
        paths sent under their own names; ≤ 100 files, ≤ 1 GB) or, with ``archive``, one
        archive file. All rows or none: a refused import comes back as the version with
        ``report["errors"]`` (file, row, field, message) and the dataset ``import_failed``."""
        named = [(f.name, f) if isinstance(f, Path) else f for f in files]
        url = f"{self._v(dataset_id, label)}/import"
        params = {"method": "archive" if archive else "folder"}
        response = multipart.post(self._t, url, fields={}, files=named, params=params,
                                  progress=progress)  # fmt: skip
        return self._t.parse(VersionRead, response)

    def import_folder(
        self, dataset_id: str, label: str, folder: Path, *, progress: Progress | None = None
    ) -> VersionRead:
        """Every (non-hidden) file under ``folder``, named by its path relative to it."""
        return self.import_files(dataset_id, label, folder_files(folder), progress=progress)

    def import_archive(
        self, dataset_id: str, label: str, archive: Path, *, progress: Progress | None = None
    ) -> VersionRead:
        return self.import_files(dataset_id, label, [archive], archive=True, progress=progress)

    def import_link(self, dataset_id: str, label: str, url: str) -> VersionRead:
        """Import an archive the server fetches from ``url`` (http or https)."""
        body = payload(LinkImport, url=url)
        return self._t.send(VersionRead, "POST", f"{self._v(dataset_id, label)}/import-link",
                            json=body)  # fmt: skip

    def records(
        self, dataset_id: str, label: str, *, offset: int = 0, limit: int = 50
    ) -> builtins.list[RecordRead]:
        """A page of a version's records, in import order."""
        return self._t.get_list(RecordRead, f"{self._v(dataset_id, label)}/records",
                                params={"offset": offset, "limit": limit})  # fmt: skip

    def annotate(
        self, dataset_id: str, label: str, record_id: str, *,
        edits: dict[str, Any] | None = None, annotation: dict[str, Any] | None = None,
    ) -> RecordRead:  # fmt: skip
        """Edit a draft record's content (``edits``; ``None`` removes an optional field)
        and/or set its annotation (shape per the template's annotation kind)."""
        body = payload(RecordUpdate, edits=edits, annotation=annotation)
        url = f"{self._v(dataset_id, label)}/records/{segment(record_id)}"
        return self._t.send(RecordRead, "PATCH", url, json=body)

    def delete_record(self, dataset_id: str, label: str, record_id: str) -> None:
        self._t.request("DELETE", f"{self._v(dataset_id, label)}/records/{segment(record_id)}")

    def publish(self, dataset_id: str, label: str) -> VersionRead:
        """Freeze draft ``label``: its records are written as ``data.jsonl``."""
        return self._t.send(VersionRead, "POST", f"{self._v(dataset_id, label)}/publish")

    def push_to_cache(self, dataset_id: str, label: str) -> VersionRead:
        """Copy a published version to the cache tier; mounts then read it there."""
        return self._t.send(VersionRead, "POST", f"{self._v(dataset_id, label)}/cache")

    def download_file(
        self, dataset_id: str, label: str, path: str, dest: Path, *,
        progress: Progress | None = None,
    ) -> Path:  # fmt: skip
        """One file of a published version (or an image of a draft) into ``dest``, streamed."""
        return self._stream(f"{self._v(dataset_id, label)}/files/{path}", dest, progress)

    def export(
        self, dataset_id: str, label: str, dest: Path, *, progress: Progress | None = None
    ) -> Path:
        """A published version as a zip archive, streamed into ``dest``."""
        return self._stream(f"{self._v(dataset_id, label)}/export", dest, progress)

    def _stream(self, url: str, dest: Path, progress: Progress | None) -> Path:
        with self._t.stream("GET", url) as response, dest.open("wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        return dest


class StoragesAPI:
    """External storages (tenant-owned folders mounted on the nodes, or S3-compatible
    buckets) datasets and code packages may point at; registering and removing needs an
    admin."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def register(
        self, *, cluster_id: str, name: str, root: str, kind: str = "filesystem",
        endpoint_url: str = "", region: str = "us-east-1", access_key_id: str = "",
        secret_access_key: str = "",
    ) -> StorageRead:  # fmt: skip
        """``root``: the absolute folder (filesystem) or the bucket name (s3). An s3 storage
        also takes its endpoint (empty for AWS), region and access key; the server checks
        the bucket with them and keeps the secret sealed."""
        body = payload(StorageCreate, cluster_id=cluster_id, name=name, kind=kind, root=root)
        if kind == "s3":
            body |= {
                "endpoint_url": endpoint_url, "region": region,
                "access_key_id": access_key_id, "secret_access_key": secret_access_key,
            }  # fmt: skip
        return self._t.send(StorageRead, "POST", STORAGES, json=body)

    def list(self) -> builtins.list[StorageRead]:
        return self._t.get_list(StorageRead, STORAGES)

    def find(self, ref: str) -> StorageRead:
        """By name or id."""
        return by_name_or_id(self.list(), ref, "storage")

    def check(self, storage_id: str, path: str = "") -> str:
        """The normalised ``path`` if it may be used on the storage (an existing folder inside
        it; empty only for admins), else a 422 saying why."""
        response = self._t.request("GET", f"{STORAGES}/{segment(storage_id)}/check",
                                   params={"path": path})  # fmt: skip
        return str(response.json()["path"])

    def remove(self, storage_id: str) -> None:
        """Forget a storage (its data stays); refused while datasets use it."""
        self._t.request("DELETE", f"{STORAGES}/{segment(storage_id)}")

    def platform(self) -> PlatformUsage:
        """The tenant's free platform storage: ``quota_bytes``, ``used_bytes``, ``free_bytes``."""
        return self._t.get(PlatformUsage, f"{STORAGES}/platform")
