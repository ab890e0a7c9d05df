"""S3-compatible buckets (spec 07 §0, "tenant object storage"), through boto3.

A bucket is never mounted into a workload as a network file system: before a run starts,
the folder it names is *staged* (:func:`sync_down`) into the platform's object cache
(``HANGAR_HOME/object-cache/<storage>/<folder hash>/files``) and that folder is bind-mounted
read-only. Staging is incremental: an index beside the folder remembers each object's ETag
and size, so a second run fetches only what changed and removes what was deleted. Keys that
would land outside the folder (``..``, absolute) or that clash with a folder of the same name
are skipped and counted, never written.

:func:`upload_folder` copies a folder into a bucket (a basic dataset's "back up to object
storage"). The platform only ever reads a tenant's bucket, except when asked to back up into
it; it never deletes there (decision G1).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hangar.assets.manifests import safe_path
from hangar.errors import HangarError, ValidationFailed

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

INDEX = "index.json"


class ObjectStoreError(HangarError):
    """The bucket could not be read or written; the message says what the store answered."""

    code = "object_store_error"
    http_status = 502


@dataclass(frozen=True)
class Bucket:
    """One bucket and how to reach it (the secret is never printed)."""

    name: str
    endpoint_url: str | None
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass
class SyncReport:
    files: int = 0  # objects now in the folder
    fetched: int = 0  # downloaded (or uploaded) this time
    removed: int = 0
    bytes_moved: int = 0
    skipped: list[str] = field(default_factory=list)  # keys refused, with the reason

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "fetched": self.fetched, "removed": self.removed,
                "bytes": self.bytes_moved, "skipped": self.skipped[:20]}  # fmt: skip


def client(bucket: Bucket) -> S3Client:
    config = Config(
        connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if bucket.endpoint_url else None,
    )  # fmt: skip
    return boto3.client(
        "s3", endpoint_url=bucket.endpoint_url, region_name=bucket.region,
        aws_access_key_id=bucket.access_key_id, aws_secret_access_key=bucket.secret_access_key,
        config=config,
    )  # fmt: skip


def explain(bucket: Bucket, error: Exception) -> str:
    """What went wrong, in words an admin can act on."""
    where = bucket.endpoint_url or "AWS S3"
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket", "404") or status == 404:
            return f"bucket '{bucket.name}' does not exist at {where}"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return (
                f"{where} refused access key '{bucket.access_key_id}' for bucket "
                f"'{bucket.name}' ({code}): check the key, its secret and the bucket policy"
            )
        return f"{where} answered {code or status} for bucket '{bucket.name}'"
    return f"could not reach {where}: {error}"


def verify(bucket: Bucket) -> None:
    """The bucket exists and the key may read it (registration checks this)."""
    try:
        client(bucket).head_bucket(Bucket=bucket.name)
    except (ClientError, BotoCoreError) as error:
        raise ObjectStoreError(explain(bucket, error)) from error


def _prefix(folder: str) -> str:
    clean = folder.strip("/")
    return f"{clean}/" if clean else ""


def folder_exists(bucket: Bucket, folder: str) -> bool:
    """A folder exists when at least one key starts with ``folder/`` (S3 has no folders)."""
    if not folder.strip("/"):
        return True
    try:
        found = client(bucket).list_objects_v2(
            Bucket=bucket.name, Prefix=_prefix(folder), MaxKeys=1
        )
    except (ClientError, BotoCoreError) as error:
        raise ObjectStoreError(explain(bucket, error)) from error
    return int(found.get("KeyCount", 0)) > 0


def file_exists(bucket: Bucket, key: str) -> bool:
    try:
        client(bucket).head_object(Bucket=bucket.name, Key=key)
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise ObjectStoreError(explain(bucket, error)) from error
    except BotoCoreError as error:
        raise ObjectStoreError(explain(bucket, error)) from error
    return True


def list_folder(bucket: Bucket, folder: str, *, limit: int = 1000) -> list[dict[str, object]]:
    """One level of a folder: sub-folders first, then objects with their sizes."""
    prefix = _prefix(folder)
    folders: list[dict[str, object]] = []
    files: list[dict[str, object]] = []
    try:
        pages = (
            client(bucket)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=bucket.name, Prefix=prefix, Delimiter="/")
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common.get("Prefix", "")[len(prefix) :].rstrip("/")
                folders.append({"name": name, "kind": "folder", "size": None})
            for obj in page.get("Contents", []):
                name = obj.get("Key", "")[len(prefix) :]
                if name:
                    files.append({"name": name, "kind": "file", "size": obj.get("Size", 0)})
            if len(folders) + len(files) >= limit:
                break
    except (ClientError, BotoCoreError) as error:
        raise ObjectStoreError(explain(bucket, error)) from error
    return (folders + files)[:limit]


def _objects(bucket: Bucket, prefix: str) -> Iterator[tuple[str, str, int]]:
    """``(key, etag, size)`` of every object under ``prefix``."""
    pages = (
        client(bucket).get_paginator("list_objects_v2").paginate(Bucket=bucket.name, Prefix=prefix)
    )
    for page in pages:
        for obj in page.get("Contents", []):
            yield obj.get("Key", ""), obj.get("ETag", ""), int(obj.get("Size", 0))


def staging_root(home: Path, storage_id: str, folder: str) -> Path:
    """Where a bucket folder is staged: one place per storage and folder, shared by runs."""
    digest = hashlib.sha256(folder.strip("/").encode()).hexdigest()[:16]
    return home / "object-cache" / storage_id / digest


def staged_files(home: Path, storage_id: str, folder: str) -> Path:
    return staging_root(home, storage_id, folder) / "files"


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _relative(key: str, prefix: str) -> str:
    """The object's path inside the folder; ValidationFailed when it would leave it."""
    return safe_path(key[len(prefix) :], field="key")


def sync_down(bucket: Bucket, folder: str, root: Path) -> SyncReport:
    """Make ``root/files`` hold exactly the objects under ``folder`` (read by workloads)."""
    prefix = _prefix(folder)
    report = SyncReport()
    with _locked(root):
        files = root / "files"
        files.mkdir(exist_ok=True)
        for left in files.rglob(".*.part"):  # a download a killed server broke off
            left.unlink(missing_ok=True)
        index_path = root / INDEX
        old: dict[str, list[Any]] = (
            json.loads(index_path.read_text()) if index_path.is_file() else {}
        )
        new: dict[str, list[Any]] = {}
        s3 = client(bucket)
        try:
            listing = sorted(_objects(bucket, prefix))
            keys = {key[len(prefix) :] for key, _, _ in listing}
            for key, etag, size in listing:
                if key.endswith("/"):
                    continue  # a folder marker some tools write
                try:
                    rel = _relative(key, prefix)
                except ValidationFailed:
                    report.skipped.append(f"{key}: leaves the folder")
                    continue
                if any(p in keys for p in _parents_as_files(rel)):
                    report.skipped.append(f"{key}: a file of the same name is in the way")
                    continue
                target = files / rel
                new[rel] = [etag, size]
                if old.get(rel) == [etag, size] and target.is_file():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(f".{target.name}.part")
                s3.download_file(bucket.name, key, str(part))
                part.replace(target)
                report.fetched += 1
                report.bytes_moved += size
        except (ClientError, BotoCoreError) as error:
            raise ObjectStoreError(explain(bucket, error)) from error
        for rel in set(old) - set(new):
            (files / rel).unlink(missing_ok=True)
            report.removed += 1
        temp = root / f"{INDEX}.tmp"
        temp.write_text(json.dumps(new))
        temp.replace(index_path)
        report.files = len(new)
    return report


def _parents_as_files(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def upload_folder(bucket: Bucket, source: Path, folder: str) -> SyncReport:
    """Copy every regular file under ``source`` to ``folder/`` in the bucket (links are not
    followed). Objects already there with the same size and content are left alone."""
    prefix = _prefix(folder)
    report = SyncReport()
    s3 = client(bucket)
    try:
        there = {key: size for key, _, size in _objects(bucket, prefix)}
        for path in sorted(source.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            key = prefix + path.relative_to(source).as_posix()
            size = path.stat().st_size
            report.files += 1
            if there.get(key) == size and _same_content(s3, bucket, key, path):
                continue
            s3.upload_file(str(path), bucket.name, key)
            report.fetched += 1
            report.bytes_moved += size
    except (ClientError, BotoCoreError) as error:
        raise ObjectStoreError(explain(bucket, error)) from error
    return report


def _same_content(s3: S3Client, bucket: Bucket, key: str, path: Path) -> bool:
    """A single-part object's ETag is the MD5 of its bytes; multipart ETags never match."""
    etag = s3.head_object(Bucket=bucket.name, Key=key).get("ETag", "").strip('"')
    if "-" in etag:
        return False
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == etag
