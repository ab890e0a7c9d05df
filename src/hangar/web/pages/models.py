"""The model registry in the console (spec 07 §1): the workspace's models with search, the
create form, a model's page with its versions, file downloads, an upload form and the share
dialog. Same services and matrix rows as ``/api/v1/models``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import model_aliases, model_transfer_routes, registry, sharing, storages, usage
from hangar.assets.model_routes import CHUNK, store_of
from hangar.assets.model_schemas import AliasSet
from hangar.assets.secret_box import SecretBox
from hangar.tenancy.access import Actor, access_workspace
from hangar.web.chrome import PageChrome
from hangar.web.forms import parse
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/models", include_in_schema=False)
Box = Annotated[str, Form()]


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    workspace_id: str = "", q: str = "",
) -> Response:  # fmt: skip
    ws = chrome.chosen_workspace(workspace_id, partial(access_workspace, session, actor))
    models = registry.visible_models(session, actor, workspace_id=ws.id)
    if q:
        models = [m for m in models if q.lower() in m.name.lower()]
    counts = {m.id: len(registry.versions(session, m)) for m in models}
    context = {"chrome": chrome, "workspace": ws, "models": models, "counts": counts, "q": q}
    return render(request, "models/list.html", context)


@router.post("", name="model.create_page")
def create(
    request: Request, session: SessionDep, actor: CurrentActor, workspace_id: Box = "",
    name: Box = "", description: Box = "",
) -> Response:  # fmt: skip
    model = registry.do_create_model(
        session, actor=actor, workspace_id=workspace_id, name=name, description=description
    )
    response = Response(status_code=204)
    response.headers["HX-Redirect"] = f"/models/{model.id}"
    return response


def _detail(session: Session, actor: Actor, model_id: str) -> dict[str, object]:
    found = registry.access_model(session, actor, model_id, "model.get_record", write=False)
    quota = usage.quota_of(session, actor.tenant_id)
    return {
        "model": found.model, "versions": registry.versions(session, found.model),
        "aliases": model_aliases.aliases(session, found.model),
        "free_bytes": max(0, quota - usage.used_bytes(session, tenant_id=actor.tenant_id)),
        "storages": storages.listed(session, actor) if can(actor, "storage.view") else [],
    }  # fmt: skip


@router.get("/{model_id}")
def detail_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    model_id: str,
) -> Response:  # fmt: skip
    context = {"chrome": chrome, **_detail(session, actor, model_id)}
    return render(request, "models/detail.html", context)


@router.post("/{model_id}/upload", name="model.upload_page")
def upload(
    request: Request, actor: StreamingActor, settings: SettingsDep, model_id: str,
    file: Annotated[UploadFile, File()], description: Box = "",
) -> Response:  # fmt: skip
    """The form version of the upload: the browser's multipart file, copied into storage with
    no transaction open (``registry.add_version_from_files``)."""

    def chunks() -> Iterator[bytes]:
        while chunk := file.file.read(CHUNK):
            yield chunk

    sessions = app_state(request).sessions
    row = registry.add_version_from_files(
        sessions, actor=actor, model_id=model_id, point="model.upload_file",
        files=lambda: registry.upload_manifest(
            store_of(settings), chunks(), filename=file.filename or "model.bin", sha256=None
        ),
        source="upload", source_ref=file.filename or "", description=description,
    )  # fmt: skip
    with sessions() as session:
        context = {**_detail(session, actor, model_id),
                   "flash": f"Uploaded {row.files} file(s) as V{row.number}."}  # fmt: skip
        return render(request, "models/_versions.html", context)


@router.post("/{model_id}/versions/{number}/share", name="model.share_page")
def share(
    request: Request, session: SessionDep, actor: CurrentActor, model_id: str, number: int,
    validity: Box = "permanent",
) -> Response:  # fmt: skip
    found = registry.access_model(session, actor, model_id, "model.version_share_token", write=True)
    version = registry.version(session, found.model, number)
    token, value = sharing.do_create_token(
        session, access=found, version=version, validity=validity, now=datetime.now(UTC)
    )
    context = {"model": found.model, "version": version, "token": token, "value": value}
    return render(request, "models/_token.html", context)


@router.post("/{model_id}/from-link", name="model.link_page")
def from_link(
    request: Request, actor: StreamingActor, settings: SettingsDep, model_id: str,
    url: Box = "",
) -> Response:  # fmt: skip
    """The next version from an archive at ``url`` (the API's ``from-link``)."""
    row = model_transfer_routes.import_from_link(
        request, actor, settings, model_id, model_transfer_routes.LinkImport(url=url)
    )
    sessions = app_state(request).sessions
    with sessions() as session:
        context = {**_detail(session, actor, model_id),
                   "flash": f"Imported {row.files} file(s) as {row.label}."}  # fmt: skip
        return render(request, "models/_versions.html", context)


@router.post("/{model_id}/from-storage", name="model.storage_page")
def from_storage(
    request: Request, session: SessionDep, actor: CurrentActor, settings: SettingsDep,
    model_id: str, storage_id: Box = "", path: Box = "", description: Box = "",
) -> Response:  # fmt: skip
    """The next version as a folder on tenant storage (the API's ``from-storage``)."""
    found = registry.access_model(session, actor, model_id, "model.create_version", write=True)
    row = registry.do_add_storage_version(
        session, access=found, storage_id=storage_id, path=path.strip(),
        description=description.strip(), box=SecretBox.of_home(settings.home),
    )  # fmt: skip
    session.flush()
    context = {**_detail(session, actor, model_id),
               "flash": f"V{row.number} is /{row.path} on storage {row.source_ref}."}  # fmt: skip
    return render(request, "models/_versions.html", context)


@router.post("/{model_id}/aliases", name="model.alias_page")
def set_alias(
    request: Request, session: SessionDep, actor: CurrentActor, model_id: str,
    alias: Box = "", version: Box = "",
) -> Response:  # fmt: skip
    body = parse(AliasSet, version=version)
    model_aliases.set_alias(session, actor, model_id, alias, body)
    context = {**_detail(session, actor, model_id),
               "flash": f"{alias} now points at V{body.version}."}  # fmt: skip
    return render(request, "models/_versions.html", context)
