"""Datasets in the console (spec 07 §2): the workspace's datasets with search by name or id,
kind and status filters; the create forms (basic: storage, path, visibility; annotated: data
type and template); a dataset's page (status, mount path, versions; a basic dataset's file
browser; an annotated dataset's import form with an upload progress bar, import report, publish,
export, new version) and delete with its dependents; ``/storages`` for admins. The annotation
page is :mod:`hangar.web.pages.dataset_annotate`. Same services and matrix rows as
``/api/v1/datasets`` and ``/api/v1/storages``."""

from __future__ import annotations

import shutil
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import (
    annotated,
    basic_copies,
    dataset_cache,
    dataset_delete,
    datasets,
    mounts,
    storages,
    templates,
    usage,
)
from hangar.assets.dataset_orm import Dataset
from hangar.assets.dataset_routes import close_failed_import, open_import, stage_upload
from hangar.assets.model_routes import store_of
from hangar.assets.secret_box import SecretBox
from hangar.config import Settings
from hangar.errors import Conflict, PermissionDenied, ValidationFailed
from hangar.resources.clusters import list_clusters
from hangar.tenancy.access import Actor, access_workspace
from hangar.web.chrome import PageChrome
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/datasets", include_in_schema=False)
storage_router = APIRouter(prefix="/storages", include_in_schema=False)
Box = Annotated[str, Form()]
STATUSES = ("created", "create_failed", "importing", "import_succeeded", "import_failed")
DATA_TYPES = {"image": "Image", "llm": "LLM (text)", "cross_modal": "Cross-modal"}


def _storages(session: Session, actor: Actor) -> list[Any]:
    try:
        return list(storages.listed(session, actor))
    except PermissionDenied:
        return []


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    workspace_id: str = "", q: str = "", kind: str = "", status: str = "",
) -> Response:  # fmt: skip
    ws = chrome.chosen_workspace(workspace_id, partial(access_workspace, session, actor))
    rows = datasets.visible_datasets(
        session, actor, workspace_id=ws.id, kind=kind if kind in ("basic", "annotated") else None,
        search=q, status=status or None,
    )  # fmt: skip
    found = _storages(session, actor)
    context = {
        "chrome": chrome, "workspace": ws, "datasets": rows, "q": q, "kind": kind,
        "status": status, "statuses": STATUSES, "storages": found,
        "storage_names": {s.id: s.name for s in found}, "data_types": DATA_TYPES,
        "templates": list(templates.TEMPLATES.values()),
        "mount_path": partial(mounts.container_path, "dataset"),
        "is_admin": can(actor, "storage.manage", write=True),
        "searched": bool(q or kind or status),
    }  # fmt: skip
    return render(request, "datasets/list.html", context)


def _redirect(dataset_id: str) -> Response:
    return Response(status_code=204, headers={"HX-Redirect": f"/datasets/{dataset_id}"})


def _minutes(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed.field("audit_minutes", "must be a whole number 1-1440") from None


@router.post("", name="dataset.create_page")
def create_basic(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, workspace_id: Box = "",
    name: Box = "", description: Box = "", visibility: Box = "owner", storage_id: Box = "",
    path: Box = "", mount_name: Box = "", confidential: Box = "", output_dataset_id: Box = "",
    audit_minutes: Box = "",
) -> Response:  # fmt: skip
    row = datasets.do_create_basic(
        session, actor=actor, home=settings.home, workspace_id=workspace_id, name=name,
        description=description, visibility=visibility, storage_id=storage_id or None,
        path=path, mount_name=mount_name or None, confidential=bool(confidential),
        output_dataset_id=output_dataset_id or None, audit_minutes=_minutes(audit_minutes),
    )  # fmt: skip
    return _redirect(row.id)


@router.post("/annotated", name="dataset.create_annotated_page")
def create_annotated(
    session: SessionDep, actor: CurrentActor, workspace_id: Box = "", name: Box = "",
    description: Box = "", data_type: Box = "", template: Box = "", version: Box = "1.0",
    visibility: Box = "owner",
) -> Response:  # fmt: skip
    row, _ = annotated.do_create(
        session, actor=actor, workspace_id=workspace_id, name=name, description=description,
        data_type=data_type, template=template, version=version or "1.0", visibility=visibility,
    )  # fmt: skip
    return _redirect(row.id)


def _view(session: Session, actor: Actor, dataset_id: str) -> datasets.DatasetAccess:
    dataset = session.get(Dataset, dataset_id)
    point = (
        "basic_dataset.view" if dataset is not None and dataset.kind == "basic" else "dataset.view"
    )
    return datasets.access_dataset(session, actor, dataset_id, point, write=False)


def _detail(
    session: Session, actor: Actor, settings: Settings, dataset_id: str, path: str = ""
) -> dict[str, Any]:
    found = _view(session, actor, dataset_id)
    ds = found.dataset
    context: dict[str, Any] = {
        "dataset": ds, "mount_path": mounts.container_path("dataset", ds.mount_name),
        "path": path.strip("/"), "files": [], "versions": [], "template": None,
        "cache_tier": settings.dataset_cache_dir is not None,
    }  # fmt: skip
    if ds.kind == "basic":
        storage = storages.get(session, actor, ds.storage_id) if ds.storage_id else None
        context["storage"] = storage
        context["backup_targets"] = (  # the service checks row 29 when the form is sent
            [s for s in storages.listed(session, actor) if s.kind == "s3"]
            if can(actor, "storage.view") else []
        )  # fmt: skip
        context["files"] = datasets.list_files(session, access=found, home=settings.home,
                                               path=path)  # fmt: skip
    else:
        rows = annotated.versions(session, ds)
        context["versions"] = rows
        context["drafts"] = [v for v in rows if v.status == "draft"]
        context["latest"] = rows[-1] if rows else None
        context["template"] = templates.TEMPLATES.get(ds.template)
        context["files_max"] = annotated.FOLDER_FILES_MAX
    return context


@router.post("/{dataset_id}/accelerate", name="dataset.accelerate_page")
def accelerate(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str
) -> Response:
    report = basic_copies.accelerate(app_state(request).sessions, actor=actor,
                                     home=settings.home, dataset_id=dataset_id)  # fmt: skip
    message = (f"Staged {report.files} files ({report.fetched} fetched, {report.removed} "
               "removed): the next run starts at once.")  # fmt: skip
    return render(request, "datasets/_copy_result.html", {"message": message, "report": report})


@router.post("/{dataset_id}/backup", name="dataset.backup_page")
def backup(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str,
    storage_id: Box = "", path: Box = "",
) -> Response:  # fmt: skip
    report = basic_copies.backup(
        app_state(request).sessions, actor=actor, home=settings.home, dataset_id=dataset_id,
        storage_id=storage_id, path=path,
    )  # fmt: skip
    message = (f"Backed up {report.files} files to /{path.strip('/')} ({report.fetched} "
               f"copied, {report.bytes_moved:,} bytes).")  # fmt: skip
    return render(request, "datasets/_copy_result.html", {"message": message, "report": report})


@router.get("/{dataset_id}")
def detail_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    settings: SettingsDep, dataset_id: str, path: str = "",
) -> Response:  # fmt: skip
    context = {"chrome": chrome, **_detail(session, actor, settings, dataset_id, path)}
    return render(request, "datasets/detail.html", context)


def _versions(
    request: Request, session: Session, actor: Actor, settings: Settings, dataset_id: str,
    flash: str,
) -> Response:  # fmt: skip
    context = {**_detail(session, actor, settings, dataset_id), "flash": flash}
    return render(request, "datasets/_versions.html", context)


@router.post("/{dataset_id}/versions/{label}/import", name="dataset.import_page")
async def import_upload(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str, label: str
) -> Response:
    """The import form: several files (folder method) or one archive, staged like the API's
    import; the versions section comes back with the import report."""
    sessions = app_state(request).sessions
    await run_in_threadpool(open_import, sessions, actor, dataset_id, label)
    staging = annotated.staging_dir(settings.home, dataset_id)
    try:
        form = await request.form(max_files=annotated.FOLDER_FILES_MAX + 1, max_fields=10)
        method = str(form.get("method") or "folder")
        if method not in ("folder", "archive"):
            raise ValidationFailed.field("method", "must be folder or archive")
        uploads = [v for v in form.getlist("files") if isinstance(v, UploadFile) and v.filename]
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
    errors = int(row.report.get("error_count") or 0)
    flash = (
        f"Import refused: {errors} row error(s), nothing was imported."
        if errors
        else f"Imported {row.report.get('records', 0)} record(s) into {label}."
    )
    with sessions() as session:
        return _versions(request, session, actor, settings, dataset_id, flash)


@router.post("/{dataset_id}/versions/{label}/publish", name="dataset.publish_page")
def publish(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str, label: str
) -> Response:
    sessions = app_state(request).sessions
    row = annotated.publish(sessions, actor=actor, store=store_of(settings),
                            dataset_id=dataset_id, label=label)  # fmt: skip
    with sessions() as session:
        flash = f"Published {label}: {row.records} record(s), {row.files} file(s)."
        return _versions(request, session, actor, settings, dataset_id, flash)


@router.post("/{dataset_id}/versions/{label}/cache", name="dataset.cache_page")
def push_to_cache(
    request: Request, actor: StreamingActor, settings: SettingsDep, dataset_id: str, label: str
) -> Response:
    """Push a published version to the cache tier (row 18), with no transaction open."""
    sessions = app_state(request).sessions
    dataset_cache.push_version(sessions, actor=actor, store=store_of(settings),
                               cache_dir=settings.dataset_cache_dir, dataset_id=dataset_id,
                               label=label)  # fmt: skip
    with sessions() as session:
        return _versions(request, session, actor, settings, dataset_id,
                         f"{label} is in the cache; mounts read it there.")  # fmt: skip


@router.post("/{dataset_id}/versions", name="dataset.version_page")
def new_version(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep,
    dataset_id: str, label: Box = "", source: Box = "",
) -> Response:  # fmt: skip
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.import", write=True)
    row = annotated.do_new_version(session, access=found, label=label, source=source or None)
    session.flush()
    flash = f"Version {row.label} created" + (f" from {source}." if source else ".")
    return _versions(request, session, actor, settings, dataset_id, flash)


@router.delete("/{dataset_id}", name="dataset.delete_page")
def delete(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep,
    background: BackgroundTasks, dataset_id: str, confirm: bool = False,
) -> Response:  # fmt: skip
    """Delete; while running work mounts it (409), show the dependents and ask again."""
    dataset = session.get(Dataset, dataset_id)
    try:
        leftovers = dataset_delete.do_delete(
            session, actor=actor, home=settings.home, cache_dir=settings.dataset_cache_dir,
            dataset_id=dataset_id, confirm=confirm,
        )  # fmt: skip
    except Conflict as err:
        dependents = err.extra.get("dependents")
        if not dependents:
            raise
        context = {"dataset": dataset, "dependents": dependents, "message": err.message}
        swap = {"HX-Retarget": "#delete-dialog", "HX-Reswap": "innerHTML"}
        return render(request, "datasets/_confirm_delete.html", context, status=409, headers=swap)
    background.add_task(leftovers.remove)
    workspace = dataset.workspace_id if dataset is not None else ""
    return Response(status_code=204, headers={"HX-Redirect": f"/datasets?workspace_id={workspace}"})


# --- /storages -------------------------------------------------------------------------------


@storage_router.get("")
def storages_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome
) -> Response:
    quota = usage.quota_of(session, actor.tenant_id)
    used = usage.used_bytes(session, tenant_id=actor.tenant_id)
    context = {
        "chrome": chrome, "storages": storages.listed(session, actor),
        "clusters": list_clusters(session, actor=actor),
        "is_admin": can(actor, "storage.manage", write=True),
        "platform": {"quota": quota, "used": used, "free": max(0, quota - used)},
    }  # fmt: skip
    return render(request, "storages/list.html", context)


def _storage_rows(request: Request, session: Session, actor: Actor, flash: str) -> Response:
    context = {"storages": storages.listed(session, actor), "flash": flash,
               "is_admin": can(actor, "storage.manage", write=True)}  # fmt: skip
    return render(request, "storages/_rows.html", context)


@storage_router.post("", name="storage.create_page")
def add_storage(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep,
    cluster_id: Box = "", name: Box = "", kind: Box = "filesystem", root: Box = "",
    endpoint_url: Box = "", region: Box = "us-east-1", access_key_id: Box = "",
    secret_access_key: Box = "",
) -> Response:  # fmt: skip
    access = storages.S3Access(
        endpoint_url=endpoint_url, region=region, access_key_id=access_key_id,
        secret_access_key=secret_access_key,
    )  # fmt: skip
    row = storages.do_register(session, actor=actor, cluster_id=cluster_id, name=name,
                               kind=kind, root=root, s3=access,
                               box=SecretBox.of_home(settings.home))  # fmt: skip
    session.flush()
    return _storage_rows(request, session, actor, f"Registered storage {row.name}.")


@storage_router.delete("/{storage_id}", name="storage.delete_page")
def remove_storage(
    request: Request, session: SessionDep, actor: CurrentActor, storage_id: str
) -> Response:
    name = storages.get(session, actor, storage_id).name
    storages.do_remove(session, actor=actor, storage_id=storage_id)
    session.flush()
    return _storage_rows(request, session, actor, f"Removed storage {name}.")
