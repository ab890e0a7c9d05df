"""Code packages in the console (spec 07 §4): the workspace's packages with search by name and
creation date, the create form (1-5 files, uploaded as one multipart form), the form linking a
folder on a registered tenant storage, a package's page with its files (download links), the
re-upload form and the delete button. Same services and matrix rows as
``/api/v1/code-packages``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import code_packages, storages
from hangar.assets.code_routes import create_from_form, read_form, reupload_from_form, text
from hangar.assets.code_schemas import FromStorage
from hangar.assets.secret_box import SecretBox
from hangar.tenancy.access import Actor, access_workspace
from hangar.web.chrome import PageChrome
from hangar.web.forms import parse
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/code", include_in_schema=False)
SOURCES = {"upload": "Import to platform storage", "ide": "Dev environment (save to code package)",
           "storage": "Tenant storage"}  # fmt: skip
Box = Annotated[str, Form()]


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    workspace_id: str = "", q: str = "", created_from: str = "", created_to: str = "",
) -> Response:  # fmt: skip
    ws = chrome.chosen_workspace(workspace_id, partial(access_workspace, session, actor))
    packages = code_packages.visible_packages(
        session, actor, workspace_id=ws.id, q=q, created_from=created_from,
        created_to=created_to,
    )  # fmt: skip
    context = {
        "chrome": chrome, "workspace": ws, "packages": packages, "q": q,
        "created_from": created_from, "created_to": created_to, "sources": SOURCES,
        "creators": code_packages.creators(session, packages),
        "searched": bool(q or created_from or created_to),
        "files_max": code_packages.FILES_MAX, "file_limit_mb": code_packages.FILE_LIMIT // 2**20,
        # The link form lists the tenant's storages; without storage.view it is not shown.
        "storages": storages.listed(session, actor) if can(actor, "storage.view") else None,
    }  # fmt: skip
    return render(request, "code/list.html", context)


@router.post("", name="code.import_page")
async def create(request: Request, actor: StreamingActor) -> Response:
    """The create form: multipart fields and 1-5 files, stored like the API's upload."""
    form = await read_form(request)
    try:
        workspace_id = text(form, "workspace_id", required=True)
        made = await create_from_form(request, actor, form, workspace_id=workspace_id)
    finally:
        await form.close()
    return Response(status_code=204, headers={"HX-Redirect": f"/code/{made.id}"})


@router.post("/from-storage", name="code.link_page")
def link(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, workspace_id: Box = "",
    name: Box = "", storage_id: Box = "", path: Box = "", start_file: Box = "",
    description: Box = "",
) -> Response:  # fmt: skip
    """The link form: the form version of ``POST /api/v1/code-packages/from-storage`` (same
    model, same service); nothing is copied, the folder is mounted as it is."""
    body = parse(
        FromStorage, workspace_id=workspace_id, name=name.strip(), storage_id=storage_id,
        path=path.strip(), start_file=start_file.strip(), description=description.strip(),
    )  # fmt: skip
    made = code_packages.do_create_on_storage(
        session, actor=actor, box=SecretBox.of_home(settings.home), **body.model_dump()
    )
    return Response(status_code=204, headers={"HX-Redirect": f"/code/{made.id}"})


def _detail(session: Session, actor: Actor, package_id: str) -> dict[str, object]:
    found = code_packages.access_code_package(session, actor, package_id, "code.view", write=False)
    package = found.package
    return {
        "package": package, "files": code_packages.manifest_of(package).entries,
        "sources": SOURCES, "creators": code_packages.creators(session, [package]),
        "files_max": code_packages.FILES_MAX, "file_limit_mb": code_packages.FILE_LIMIT // 2**20,
    }  # fmt: skip


@router.get("/{package_id}")
def detail_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    package_id: str,
) -> Response:  # fmt: skip
    context = {"chrome": chrome, **_detail(session, actor, package_id)}
    return render(request, "code/detail.html", context)


@router.post("/{package_id}/upload", name="code.reupload_page")
async def reupload(request: Request, actor: StreamingActor, package_id: str) -> Response:
    """The re-upload form: the files replace the package's; the files section is swapped."""
    _made, count = await reupload_from_form(request, actor, package_id)
    with app_state(request).sessions() as session:
        context = {**_detail(session, actor, package_id),
                   "flash": f"Uploaded {count} file(s); they replace the old ones."}  # fmt: skip
        return render(request, "code/_files.html", context)


@router.delete("/{package_id}", name="code.delete_page")
def delete(session: SessionDep, actor: CurrentActor, package_id: str) -> Response:
    found = code_packages.access_code_package(session, actor, package_id, "code.delete", write=True)
    code_packages.do_delete(session, access=found)
    return Response(headers={"HX-Redirect": f"/code?workspace_id={found.workspace.id}"})
