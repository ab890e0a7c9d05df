"""Staging object-storage mounts before a launch.

A mount from an s3 storage carries ``{"stage": {"storage_id", "path"}}`` (see
``assets.mounts``). Before its run is launched, the run reconciler asks the :class:`Stager`
to copy those folders into the object cache (``object_store.sync_down``). Staging runs on
its own threads so a large bucket never holds up the reconciler's other workloads: the
workload stays PREPARING, and each pass asks whether its staging is done, still going, or
failed (the run then fails with the store's answer). A server killed mid-staging starts it
again on restart; the copy is incremental, so finished files are not fetched twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hangar.assets import object_store, storages
from hangar.assets.dataset_orm import ExternalStorage
from hangar.assets.object_store import Bucket, SyncReport
from hangar.assets.secret_box import SecretBox
from hangar.errors import HangarError

log = logging.getLogger("hangar.staging")


class StagingFailed(HangarError):
    code = "staging_failed"
    http_status = 502


@dataclass(frozen=True)
class Stage:
    """One folder of a bucket to copy into the object cache for a mount."""

    mount: str  # /work/mount/<kind>/<name>, for messages
    bucket: Bucket
    folder: str
    root: Path


def plan(session: Session, home: Path, mounts: Sequence[dict[str, Any]]) -> list[Stage]:
    """The stages a run's mounts need (raises StagingFailed when a storage is gone)."""
    box = SecretBox.of_home(home)
    stages: list[Stage] = []
    for mount in mounts:
        wanted = mount.get("stage")
        if not wanted:
            continue
        where = f"/work/mount/{mount['kind']}/{mount['name']}"
        storage = session.get(ExternalStorage, wanted["storage_id"])
        if storage is None:
            raise StagingFailed(f"{where}: its storage was removed; register it again")
        try:
            bucket = storages.bucket_of(storage, box)
        except HangarError as error:
            raise StagingFailed(f"{where}: {error.message}") from error
        root = object_store.staging_root(home, storage.id, wanted["path"])
        stages.append(Stage(where, bucket, wanted["path"], root))
    return stages


def run(stages: Sequence[Stage]) -> list[SyncReport]:
    reports = []
    for stage in stages:
        try:
            reports.append(object_store.sync_down(stage.bucket, stage.folder, stage.root))
        except HangarError as error:
            raise StagingFailed(f"{stage.mount}: {error.message}") from error
        except OSError as error:  # the cache's disk: full, read-only, ...
            raise StagingFailed(f"{stage.mount}: writing {stage.root}: {error}") from error
    return reports


class Stager:
    """Runs stagings in the background, one per launch attempt, and says how each went."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="staging")
        self._running: dict[str, Future[list[SyncReport]]] = {}
        self._lock = threading.Lock()

    def poll(self, attempt: str, stages: Sequence[Stage]) -> str | None:
        """``None`` once staged (launch now), ``"staging"`` while it runs; raises
        StagingFailed when it failed (the attempt can be tried again after that)."""
        if not stages:
            return None
        with self._lock:
            future = self._running.get(attempt)
            if future is None:
                self._running[attempt] = self._pool.submit(run, stages)
                return "staging"
            if not future.done():
                return "staging"
            del self._running[attempt]
        reports = future.result()  # re-raises StagingFailed
        for stage, report in zip(stages, reports, strict=True):
            log.info("staged %s: %s", stage.mount, report.as_dict())
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
