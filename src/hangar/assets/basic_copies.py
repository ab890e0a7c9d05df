"""Copies of a basic dataset's files between storage tiers (spec 07 §2.1, rows 28 and 29).

- **Accelerate** (``basic_dataset.accelerate``): a dataset in a bucket is staged into the
  platform's object cache now, so the next workload that mounts it starts without waiting
  for the copy (later stagings fetch only what changed).
- **Back up to object storage** (``basic_dataset.backup``): a dataset on a file system or on
  the platform is copied into a folder of a registered s3 storage. Objects already there with
  the same content are kept; nothing in the bucket is ever deleted (decision G1).

Both check in a short transaction and copy with none open (a large dataset must not hold the
database). Each is written to the audit log with what it moved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hangar.assets import datasets, object_store, storages
from hangar.assets.manifests import safe_path
from hangar.assets.object_store import SyncReport
from hangar.assets.secret_box import SecretBox
from hangar.audit.context import note_target
from hangar.db.engine import transaction
from hangar.errors import Conflict, ValidationFailed
from hangar.tenancy.access import Actor


def accelerate(
    sessions: sessionmaker[Session], *, actor: Actor, home: Path, dataset_id: str
) -> SyncReport:
    box = SecretBox.of_home(home)
    with transaction(sessions) as session:
        found = datasets.access_dataset(
            session, actor, dataset_id, "basic_dataset.accelerate", write=True
        )
        storage = datasets.storage_of(session, found.dataset)
        if storage is None or storage.kind != "s3":
            raise Conflict(
                f"dataset '{found.dataset.name}' is already on a file system workloads mount "
                "directly: only datasets in a bucket are accelerated"
            )
        bucket = storages.bucket_of(storage, box)
        folder, root = (
            found.dataset.path,
            object_store.staging_root(home, storage.id, found.dataset.path),
        )
        note_target("dataset", found.dataset.id, found.dataset.name)
    return _copy(lambda: object_store.sync_down(bucket, folder, root))


def backup(
    sessions: sessionmaker[Session], *, actor: Actor, home: Path, dataset_id: str,
    storage_id: str, path: str,
) -> SyncReport:  # fmt: skip
    box = SecretBox.of_home(home)
    with transaction(sessions) as session:
        found = datasets.access_dataset(
            session, actor, dataset_id, "basic_dataset.backup", write=True
        )
        source = datasets.storage_of(session, found.dataset)
        if source is not None and source.kind == "s3":
            raise Conflict(f"dataset '{found.dataset.name}' is already in a bucket")
        target = storages.get(session, actor, storage_id)
        if target.kind != "s3":
            raise ValidationFailed.field(
                "storage_id", f"storage '{target.name}' is a {target.kind}: back up to an s3 "
                "storage (register one first)",
            )  # fmt: skip
        if not path.strip("/"):
            raise ValidationFailed.field(
                "path", f"name the folder of bucket '{target.root}' to copy into, e.g. "
                f"backups/{found.dataset.name}",
            )  # fmt: skip
        folder = safe_path(path.strip("/"), field="path")
        bucket = storages.bucket_of(target, box)
        source_folder = datasets.host_folder(home, found.dataset, session)
        note_target("dataset", found.dataset.id, found.dataset.name)
    if not source_folder.is_dir():
        raise Conflict(f"dataset '{found.dataset.name}': its folder is missing")
    return _copy(lambda: object_store.upload_folder(bucket, source_folder, folder))


def _copy(run: Callable[[], SyncReport]) -> SyncReport:
    """Run the copy; a local disk error becomes a 409 naming it (the store's own errors
    already say what it answered)."""
    try:
        return run()
    except OSError as error:
        raise Conflict(f"the copy stopped: {error}") from error
