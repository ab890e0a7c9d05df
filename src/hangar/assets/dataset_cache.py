"""Push to cache (spec 07 §2.3, row 18): a published dataset version copied onto a faster file
system (``dataset_cache_dir``: local NVMe, a parallel FS) for training to read.

The copy is a real copy (the cache is another file system, so hard links cannot reach it),
made in a staging folder and renamed into place: a version is cached whole or not at all.
Mounts prefer the cached copy while it is there (``hangar.assets.mounts``). Only published
versions can be pushed: they never change, so the copy never goes stale. Deleting the version
or the dataset removes its copy; the cache holds nothing else.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hangar.assets import annotated
from hangar.assets.blobs import BlobStore, read_chunks
from hangar.assets.dataset_orm import DatasetVersion
from hangar.assets.datasets import access_dataset
from hangar.assets.manifests import Manifest, safe_path
from hangar.db.engine import transaction
from hangar.errors import Conflict
from hangar.tenancy.access import Actor


def cached_path(cache_dir: Path | None, row: DatasetVersion) -> Path | None:
    """The version's copy in the cache, if it is there."""
    if cache_dir is None:
        return None
    path = cache_dir / "datasets" / row.id
    return path if path.is_dir() else None


def push_version(
    sessions: sessionmaker[Session], *, actor: Actor, store: BlobStore, cache_dir: Path | None,
    dataset_id: str, label: str,
) -> Path:  # fmt: skip
    """Push version ``label`` (row 18): checked in a short transaction, copied with none
    open (a large version must not hold the database)."""
    with transaction(sessions) as session:
        found = access_dataset(session, actor, dataset_id, "dataset.push_to_cache", write=True)
        row = annotated.version(session, annotated.annotated(found), label)
        session.expunge(row)  # its loaded fields stay readable once the transaction ends
    return push(store, cache_dir, row)


def push(store: BlobStore, cache_dir: Path | None, row: DatasetVersion) -> Path:
    """Copy the published version into the cache (once; a second push finds it there)."""
    if cache_dir is None:
        raise Conflict(
            "no cache tier is configured: an operator sets dataset_cache_dir "
            "(HANGAR_DATASET_CACHE_DIR) to a faster file system first",
            fields={"cache": "not configured"},
        )
    if row.status != "published":
        raise Conflict(f"version {row.label} is a draft: publish it, then push it to the cache")
    existing = cached_path(cache_dir, row)
    if existing is not None:
        return existing
    target = cache_dir / "datasets" / row.id
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".push-"))
    try:
        for entry in Manifest.from_json(row.manifest).entries:
            dest = staging / safe_path(entry.path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with store.open(entry.sha256) as src, dest.open("wb") as out:
                for chunk in read_chunks(src, 4 * 1024 * 1024):
                    out.write(chunk)
            dest.chmod(0o444)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def evict(cache_dir: Path | None, version_ids: list[str]) -> None:
    """Remove the copies of deleted versions."""
    if cache_dir is None:
        return
    for version_id in version_ids:
        shutil.rmtree(cache_dir / "datasets" / version_id, ignore_errors=True)
