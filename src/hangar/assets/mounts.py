"""Assets mounted into workloads: ``/work/mount/{dataset,model,code}/<name>`` (spec 03 §1.3,
spec 04 §1, issue 7 §6).

A job or dev environment names what it mounts when it is submitted: datasets (≤ 10 for a
training job, ≤ 5 for a dev environment), model versions (≤ 5) and a code package. Each is
checked then (the caller must be allowed to read it; an annotated dataset must be
*published*) and resolved to a host folder recorded in the workload's spec, so a restart
mounts exactly the same files:

- a **basic dataset** is its folder (registered storage or platform folder); a dev
  environment of its owner mounts it read-write, which is the spec's "write-back";
- a **published dataset version**, a **model version** and an uploaded **code package** are
  immutable manifests, materialised once as a read-only tree of hard links to their blobs
  under ``HANGAR_HOME/mounts`` and shared by every workload that mounts them;
- a **confidential dataset** (spec 07 §2.2) is mounted read-only, its output dataset
  read-write, and the workload runs with no network; its ``/work/output`` and ``/work/home``
  are folders of the output dataset, so nothing it writes lands anywhere else. Each mount is
  written to the audit log, and ``audit_running`` records its processes every
  ``audit_minutes`` while it runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets import (
    annotated,
    code_packages,
    dataset_cache,
    datasets,
    model_aliases,
    registry,
    storages,
)
from hangar.assets.blobs import BlobStore
from hangar.assets.dataset_orm import Dataset, DatasetVersion, ExternalStorage
from hangar.assets.manifests import Manifest, materialize
from hangar.audit.service import do_record
from hangar.backends.spec import SAFE_NAME
from hangar.errors import Conflict, ValidationFailed
from hangar.tenancy.access import Actor
from hangar.workloads.lifecycle import ACTIVE
from hangar.workloads.orm import Workload

KINDS = ("dataset", "model", "code")
LIMITS: dict[str, dict[str, int]] = {
    "training": {"dataset": 10, "model": 5, "code": 1},  # spec 04 §1
    "ide": {"dataset": 5, "model": 5, "code": 1},  # spec 03
}


def container_path(kind: str, name: str) -> str:
    return f"/work/mount/{kind}/{name}"


def resolve(
    session: Session, actor: Actor, *, home: Path, workload_kind: str,
    requests: list[dict[str, Any]], cache_dir: Path | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Check and resolve a workload's mount requests (``{"kind", "id", "version", "name"}``)
    into what its spec keeps: ``{"kind", "name", "host_path", "read_only", "asset_id", ...}``."""
    limits = LIMITS.get(workload_kind, LIMITS["training"])
    counts = {k: 0 for k in KINDS}
    resolved: list[dict[str, Any]] = []
    store = BlobStore(home / "blobs")
    for i, raw in enumerate(requests):
        kind = str(raw.get("kind", ""))
        if kind not in KINDS:
            raise ValidationFailed.field(
                f"mounts[{i}].kind", f"must be one of {', '.join(KINDS)} (got {kind!r})"
            )
        counts[kind] += 1
        if counts[kind] > limits[kind]:
            what = "training job" if workload_kind == "training" else "dev environment"
            plural = "s" if limits[kind] > 1 else ""
            raise ValidationFailed.field(
                "mounts", f"a {what} mounts at most {limits[kind]} {kind}{plural}"
            )
        asset_id = str(raw.get("id") or "")
        version = raw.get("version")
        if kind == "dataset":
            resolved.extend(_dataset(session, actor, home, store, workload_kind, asset_id,
                                     version, cache_dir))  # fmt: skip
        elif kind == "model":
            resolved.append(_model(session, actor, home, store, asset_id, version))
        else:
            resolved.append(_code(session, actor, home, store, asset_id))
        if raw.get("name"):
            resolved[-1]["name"] = _check_name(str(raw["name"]), f"mounts[{i}].name")
    seen: set[tuple[str, str]] = set()
    for m in resolved:
        key = (m["kind"], m["name"])
        if key in seen:
            raise ValidationFailed.field(
                "mounts", f"two mounts would share {container_path(*key)}: give one a 'name'"
            )
        seen.add(key)
    return resolved


def _check_name(name: str, field: str) -> str:
    if not SAFE_NAME.match(name) or len(name) > 64:
        raise ValidationFailed.field(
            field, f"{name!r} must be letters, digits, '.', '_' or '-' (a folder name)"
        )
    return name


def _dataset(
    session: Session, actor: Actor, home: Path, store: BlobStore, workload_kind: str,
    dataset_id: str, version: Any, cache_dir: Path | None,
) -> list[dict[str, Any]]:  # fmt: skip
    ds = session.get(Dataset, dataset_id)
    point = "basic_dataset.view" if ds is not None and ds.kind == "basic" else "dataset.view"
    access = datasets.access_dataset(session, actor, dataset_id, point, write=False)
    dataset = access.dataset
    base = {"kind": "dataset", "asset_id": dataset.id, "asset_name": dataset.name,
            "name": dataset.mount_name}  # fmt: skip
    if dataset.kind == "annotated":
        row = _published(session, dataset, version)
        tree = dataset_cache.cached_path(cache_dir, row) or tree_for(
            store, home, "dataset", row.id, Manifest.from_json(row.manifest)
        )
        return [{**base, "version": row.label, "host_path": str(tree), "read_only": True}]
    folder = datasets.host_folder(home, dataset, session)
    storage = datasets.storage_of(session, dataset)
    staged = _staged(storage, dataset.path)
    if staged:
        base = {**base, **staged}
    elif not folder.is_dir():
        raise Conflict(f"dataset '{dataset.name}': its folder {dataset.path or ''} is missing")
    if not dataset.confidential:
        # Write-back (spec 03) is for the owner's dev environment on a file system; a
        # bucket's staged copy is read-only, so nothing written could be lost silently.
        writable = workload_kind == "ide" and dataset.created_by == actor.id and not staged
        return [{**base, "version": None, "host_path": str(folder), "read_only": not writable}]
    output = session.get(Dataset, dataset.output_dataset_id or "")
    if output is None:
        raise Conflict(f"confidential dataset '{dataset.name}' has no output dataset")
    datasets.access_dataset(session, actor, output.id, "basic_dataset.view", write=False)
    out_folder = datasets.host_folder(home, output, session)
    do_record(
        session, tenant_id=actor.tenant_id, user_id=actor.id, username=actor.user.username,
        workspace_id=dataset.workspace_id, action="dataset.confidential_mount", method="-",
        path=container_path("dataset", dataset.mount_name), target_type="dataset",
        target_id=dataset.id, target_name=dataset.name, result="success", status_code=200,
        level="warning", details={"output_dataset": output.name, "workload_kind": workload_kind},
    )  # fmt: skip
    return [
        {**base, "version": None, "host_path": str(folder), "read_only": True,
         "confidential": True, "audit_minutes": dataset.audit_minutes},
        {"kind": "dataset", "asset_id": output.id, "asset_name": output.name,
         "name": output.mount_name, "version": None, "host_path": str(out_folder),
         "read_only": False, "confidential_output": True},
    ]  # fmt: skip


def _published(session: Session, dataset: Dataset, version: Any) -> DatasetVersion:
    if version:
        row = annotated.version(session, dataset, str(version))
        if row.status != "published":
            raise Conflict(
                f"version {row.label} of '{dataset.name}' is a draft: only published versions "
                "feed training, fine-tuning and evaluation (spec 07 §2.3); publish it first",
            )
        return row
    published = [v for v in annotated.versions(session, dataset) if v.status == "published"]
    if not published:
        raise Conflict(
            f"dataset '{dataset.name}' has no published version: publish one first (spec 07 §2.3)"
        )
    return max(published, key=lambda v: (v.published_at or v.created_at, v.id))


def _model(
    session: Session, actor: Actor, home: Path, store: BlobStore, model_id: str, version: Any
) -> dict[str, Any]:
    access = registry.access_model(session, actor, model_id, "model.download_file", write=False)
    rows = list(registry.versions(session, access.model))
    if not rows:
        raise Conflict(f"model '{access.model.name}' has no version yet")
    if version:
        row = model_aliases.version_by_ref(session, access.model, str(version))
    else:
        row = max(rows, key=lambda v: v.number)
    name = access.model.name if SAFE_NAME.match(access.model.name) else access.model.id
    base = {"kind": "model", "asset_id": access.model.id, "asset_name": access.model.name,
            "name": name, "version": f"V{row.number}", "read_only": True}  # fmt: skip
    if row.storage_id is not None:  # a folder on tenant storage, mounted as it is
        storage = session.get(ExternalStorage, row.storage_id)
        if storage is None:
            raise Conflict(f"V{row.number} of model '{access.model.name}': its storage is gone")
        folder = storages.host_folder(home, storage, row.path)
        staged = _staged(storage, row.path)
        if not staged and not folder.is_dir():
            raise Conflict(f"V{row.number} of model '{access.model.name}': its folder "
                           f"/{row.path} is missing on storage '{storage.name}'")  # fmt: skip
        return {**base, "host_path": str(folder), **staged}
    tree = tree_for(store, home, "model", row.id, Manifest.from_json(row.manifest))
    return {**base, "host_path": str(tree)}


def _code(
    session: Session, actor: Actor, home: Path, store: BlobStore, package_id: str
) -> dict[str, Any]:
    access = code_packages.access_code_package(session, actor, package_id, "code.view", write=False)
    package = access.package
    if package.status != "succeeded":
        raise Conflict(f"code package '{package.name}' is {package.status}: wait for the import")
    storage = code_packages.storage_of(session, package)
    if storage is not None:
        on_storage = storages.host_folder(home, storage, package.path)
        staged = _staged(storage, package.path)
        if not staged and not on_storage.is_dir():
            raise Conflict(f"code package '{package.name}': its folder {package.path} is missing")
        return {"kind": "code", "asset_id": package.id, "asset_name": package.name,
                "name": code_packages.mount_name(package), "version": None,
                "host_path": str(on_storage), "read_only": True,
                "start_file": package.start_file, **staged}  # fmt: skip
    manifest = Manifest.from_json(package.manifest)
    key = hashlib.sha256(json.dumps(package.manifest, sort_keys=True).encode()).hexdigest()[:16]
    tree = tree_for(store, home, "code", f"{package.id}-{key}", manifest)
    name = code_packages.mount_name(package)
    return {"kind": "code", "asset_id": package.id, "asset_name": package.name, "name": name,
            "version": key, "host_path": str(tree), "read_only": True,
            "start_file": package.start_file}  # fmt: skip


def _staged(storage: ExternalStorage | None, path: str) -> dict[str, Any]:
    """A mount from an object storage names what to stage before each launch
    (``hangar.assets.staging``); nothing for one that is mounted as it is."""
    if storage is None or storage.kind != "s3":
        return {}
    return {"stage": {"storage_id": storage.id, "path": path}}


def tree_for(store: BlobStore, home: Path, kind: str, key: str, manifest: Manifest) -> Path:
    """The read-only tree of an immutable manifest, made once (atomically) and shared."""
    target = home / "mounts" / kind / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tree-"))
    try:
        materialize(store, manifest, staging / "t")
        (staging / "t").rename(target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        _remove_tree(staging)
    return target


def _remove_tree(path: Path) -> None:
    """Remove a (possibly read-only, 0555) tree."""
    for folder, _dirs, _files in os.walk(path):
        Path(folder).chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)


def users_of(session: Session, kind: str, asset_id: str) -> list[str]:
    """Names of the workloads not yet ended that mount the asset."""
    rows = session.scalars(select(Workload).where(Workload.state.in_([s.value for s in ACTIVE])))
    return [
        f"{w.kind} '{w.name}'"
        for w in rows
        if any(m.get("kind") == kind and m.get("asset_id") == asset_id
               for m in (w.spec or {}).get("mounts", []))
    ]  # fmt: skip
