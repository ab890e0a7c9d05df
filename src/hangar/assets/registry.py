"""The model registry (spec 07 §1): model records in workspaces, versions V1, V2, … whose
files live in the platform's storage, and who may do what (matrix rows 30-49).

A model lives in a workspace: the caller must be able to enter it (else 404, so ids of other
teams never leak); the matrix cell for their roles there decides, the *own* or *others'*
column chosen by the model's creator. Versions are numbered in order and never renumbered; a
version's files are a manifest of content-addressed blobs, counted once per tenant in its
storage usage (``assets.usage``) and released when the version goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hangar.assets import storages
from hangar.assets.blobs import BlobStore
from hangar.assets.manifests import Entry, Manifest, build, safe_path
from hangar.assets.orm import ModelVersion, RegisteredModel
from hangar.assets.secret_box import SecretBox
from hangar.assets.usage import do_reference, do_release
from hangar.audit.context import note_target, note_workspace
from hangar.db.engine import transaction
from hangar.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from hangar.jobs.access import access_job, access_workspace_for_create
from hangar.naming import check_n1
from hangar.tenancy.access import (
    Actor,
    access_workspace,
    check_point,
    decide,
    workspace_roles,
)
from hangar.tenancy.matrix import BY_KEY, Role
from hangar.tenancy.orm import Workspace
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Workload
from hangar.workloads.runspec import host_dirs
from hangar.workloads.service import current_run

NAME_MAX = 64  # G7
DESCRIPTION_MAX = 100  # spec 07 §1.1, §1.2
UPLOAD_LIMIT = 2 * 1024**3  # spec 07 §1.2: local upload ≤ 2 GB
SOURCES = ("upload", "training", "ide", "token", "link", "storage")
STORAGE_PATH_MAX = 4096  # spec 07 §1.2: a tenant-storage model's source path


@dataclass(frozen=True)
class ModelAccess:
    actor: Actor
    model: RegisteredModel
    workspace: Workspace
    roles: frozenset[Role]


def check_description(text: str) -> str:
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed.field(
            "description", f"must be at most {DESCRIPTION_MAX} characters (got {len(text)})"
        )
    return text


def access_model(
    session: Session, actor: Actor, model_id: str, point: str, *, write: bool
) -> ModelAccess:
    """The model ``model_id`` if ``point`` allows the caller to act on it (404 otherwise
    when it is not theirs to see)."""
    model = session.get(RegisteredModel, model_id)
    if model is None or model.tenant_id != actor.tenant_id:
        raise NotFound.of("model", model_id)
    try:
        ws = access_workspace(session, actor, model.workspace_id)
    except NotFound:
        raise NotFound.of("model", model_id) from None
    note_workspace(ws.id)
    note_target("model", model.id, model.name, workspace_id=ws.id)
    roles = workspace_roles(session, actor, ws)
    check_point(actor, point, roles, owner_id=model.created_by or "", write=write)
    return ModelAccess(actor, model, ws, roles)


def do_create_model(
    session: Session, *, actor: Actor, workspace_id: str, name: str, description: str
) -> RegisteredModel:
    ws = access_workspace_for_create(session, actor, workspace_id, point="model.create_record")
    check_n1(name, max_length=NAME_MAX)
    check_description(description)
    taken = session.scalar(
        select(RegisteredModel.id).where(
            RegisteredModel.workspace_id == ws.id, RegisteredModel.name == name
        )
    )
    if taken is not None:
        raise AlreadyExists(
            f"workspace '{ws.name}' already has a model named '{name}': pick another name or "
            "add a version to it",
            fields={"name": "already used in this workspace"},
        )
    model = RegisteredModel(
        tenant_id=actor.tenant_id, workspace_id=ws.id, name=name, description=description,
        created_by=actor.id,
    )  # fmt: skip
    session.add(model)
    session.flush()
    note_target("model", model.id, model.name, workspace_id=ws.id)
    return model


def visible_models(session: Session, actor: Actor, *, workspace_id: str) -> list[RegisteredModel]:
    """The workspace's models the caller may list (row 34), newest first."""
    ws = access_workspace(session, actor, workspace_id)
    roles = workspace_roles(session, actor, ws)
    rows = session.scalars(
        select(RegisteredModel)
        .where(RegisteredModel.workspace_id == ws.id)
        .order_by(RegisteredModel.created_at.desc(), RegisteredModel.id)
    ).all()
    point = BY_KEY["model.list_records"]
    return [m for m in rows if decide(point, roles, owner_is_actor=m.created_by == actor.id)]


def versions(session: Session, model: RegisteredModel) -> Sequence[ModelVersion]:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.number)
    ).all()


def version(session: Session, model: RegisteredModel, number: int) -> ModelVersion:
    found = session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.number == number)
    )
    if found is None:
        raise NotFound(f"model '{model.name}' has no version V{number}")
    return found


def do_add_version(
    session: Session,
    *,
    access: ModelAccess,
    manifest: Manifest,
    source: str,
    source_ref: str = "",
    description: str = "",
    lineage: dict[str, Any] | None = None,
    quota_bytes: int | None = None,
) -> ModelVersion:
    """Version N+1 of the model holding ``manifest`` (its blobs already stored), charged to
    the tenant's platform storage (refused over ``quota_bytes``)."""
    if source not in SOURCES:
        raise ValidationFailed.field("source", f"one of {', '.join(SOURCES)}")
    check_description(description)
    if not manifest.entries:
        raise ValidationFailed.field("files", "a version needs at least one file")
    model = access.model
    do_reference(session, tenant_id=model.tenant_id, manifest=manifest, quota_bytes=quota_bytes)
    last = session.scalar(
        select(func.max(ModelVersion.number)).where(ModelVersion.model_id == model.id)
    )
    row = ModelVersion(
        model_id=model.id, number=(last or 0) + 1, description=description, source=source,
        source_ref=source_ref, status="ready", manifest=manifest.to_json(), size=manifest.size,
        files=len(manifest.entries), lineage=lineage or {}, created_by=access.actor.id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def do_add_storage_version(
    session: Session, *, access: ModelAccess, storage_id: str, path: str, description: str = "",
    box: SecretBox,
) -> ModelVersion:  # fmt: skip
    """Version N+1 as a folder on a registered storage (spec 07 §1.2 (b), "recommended: no
    size limit"): the path is checked like a dataset's (it must exist; empty only for admins)
    and nothing is copied; workloads mount the folder read-only. Such a version cannot be
    shared by token or exported (another tenant cannot read this tenant's storage)."""
    check_description(description)
    location = storages.locate(session, access.actor, storage_id=storage_id, path=path,
                               box=box, max_length=STORAGE_PATH_MAX)  # fmt: skip
    storage = location.storage
    assert storage is not None
    last = session.scalar(
        select(func.max(ModelVersion.number)).where(ModelVersion.model_id == access.model.id)
    )
    row = ModelVersion(
        model_id=access.model.id, number=(last or 0) + 1, description=description,
        source="storage", source_ref=storage.name[:128], status="ready", manifest=[],
        size=0, files=0, lineage={"storage": storage.name, "path": location.path},
        storage_id=storage.id, path=location.path, created_by=access.actor.id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def on_platform(row: ModelVersion, what: str) -> None:
    """Refuse ``what`` (share, export, download) for a version on tenant storage."""
    if row.storage_id is not None:
        raise Conflict(
            f"V{row.number} is a folder on tenant storage '{row.source_ref}' "
            f"(/{row.path}): it cannot be {what}; read it on that storage, or save a copy "
            "into the registry from a workload that mounts it",
        )


def add_version_from_files(
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    model_id: str,
    point: str,
    files: Callable[[], Manifest],
    **fields: Any,
) -> ModelVersion:
    """Check ``point`` on the model, store the files (``files()``: uploads, a job's output)
    with no transaction open — a 2 GB upload must not hold the database (on SQLite, its write
    lock) — then add the version in a transaction of its own, checking again. Blobs of a
    version refused at the end are left unreferenced, for ``usage.unreferenced`` to list."""
    with transaction(sessions) as session:
        access_model(session, actor, model_id, point, write=True)
    manifest = files()
    with transaction(sessions) as session:
        access = access_model(session, actor, model_id, "model.create_version", write=True)
        return do_add_version(session, access=access, manifest=manifest, **fields)


def upload_manifest(
    store: BlobStore, chunks: Iterable[bytes], *, filename: str, sha256: str | None
) -> Manifest:
    """One uploaded file (≤ 2 GB, checked against ``sha256`` when given) as a manifest."""
    path = safe_path(filename)
    blob = store.put(chunks, limit=UPLOAD_LIMIT, expect=sha256)
    return Manifest((Entry(path, blob.sha256, blob.size),))


def folder_manifest(store: BlobStore, folder: Path) -> Manifest:
    """The files under ``folder`` (a job's output, a dev environment's directory)."""
    if not folder.is_dir():
        raise ValidationFailed.field("path", f"{folder.name}: no such folder")
    return build(store, folder, limit=UPLOAD_LIMIT)


def do_delete_version(session: Session, *, access: ModelAccess, number: int) -> None:
    row = version(session, access.model, number)
    do_release(session, tenant_id=access.model.tenant_id, manifest=Manifest.from_json(row.manifest))
    session.delete(row)


def do_delete_model(session: Session, *, access: ModelAccess) -> None:
    for row in versions(session, access.model):
        do_release(
            session, tenant_id=access.model.tenant_id, manifest=Manifest.from_json(row.manifest)
        )
    session.delete(access.model)


def workload_folder(
    session: Session, actor: Actor, *, home: Path, workload_id: str, path: str
) -> tuple[Path, str, dict[str, Any]]:
    """The folder "save to model registry" takes (spec 07 §1.2 "from the current platform"):
    a completed training job's ``/work/output`` or a dev environment's ``/work/home``, or a
    folder inside it; with the source kind and the lineage to record."""
    workload = session.get(Workload, workload_id)
    if workload is None or workload.tenant_id != actor.tenant_id:
        raise NotFound.of("workload", workload_id)
    if workload.kind == "training":
        found = access_job(session, actor, workload_id, "training.view", write=False)
        if found.job.state != State.SUCCEEDED.value:
            raise Conflict(
                f"job '{workload.name}' is {workload.state.lower()}: only a completed job's "
                "output can become a model version (spec 07 §1.2)",
                fields={"workload_id": workload.state},
            )
        base = host_dirs(home, workload).output
    elif workload.kind == "ide":
        access_job(session, actor, workload_id, "devenv.view", write=False, kind="ide",
                   label="dev environment")  # fmt: skip
        base = host_dirs(home, workload).home
    else:
        raise ValidationFailed.field(
            "workload_id", f"a {workload.kind} workload has no folder to save from"
        )
    folder = base / safe_path(path) if path else base
    if not folder.resolve().is_relative_to(base.resolve()):
        raise ValidationFailed.field("path", f"{path!r} leaves the workload's folder")
    run = current_run(session, workload)
    lineage = {
        "workload_id": workload.id, "workload_name": workload.name, "kind": workload.kind,
        "run_id": run.id if run else None, "run_number": run.number if run else None,
        "path": path or "",
        "mounts": [
            {k: m.get(k) for k in ("kind", "asset_id", "asset_name", "version")}
            for m in (workload.spec or {}).get("mounts") or ()
        ],
    }  # fmt: skip
    return folder, workload.kind, lineage
