"""Code package API: ``/api/v1/code-packages`` — create from an upload or a dev environment's
home, list with search, files, re-upload, download, deletion (spec 07 §4).

Uploads are ``multipart/form-data``: 1 to ``FILES_MAX`` files (``files``), each ≤
``FILE_LIMIT`` bytes, kept as they are (archives are not unpacked). The form is parsed on the
event loop (Starlette spools the files to temporary files), then copied into the platform's
storage in a worker thread with no transaction open. A refused upload keeps nothing.
Permissions follow the matrix rows 55-62 and 76 (``code_packages.access_code_package``).
"""

from __future__ import annotations

import shlex
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import code_packages
from hangar.assets.code_packages import UploadedFile
from hangar.assets.code_schemas import CodeDraft, CodePackageRead, FromDevEnv, FromStorage
from hangar.assets.dataset_orm import CodePackage
from hangar.assets.model_routes import BlobResponse, store_of
from hangar.assets.secret_box import SecretBox
from hangar.db.engine import transaction
from hangar.errors import ValidationFailed
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1/code-packages", tags=["code packages"])

MAX_FIELDS = 20
MAX_PART = 64 * 1024  # a text field (the description is ≤ 1000 characters)


def package_read(
    package: CodePackage, *, creator: str | None = None, files: bool = False
) -> CodePackageRead:
    return CodePackageRead(
        id=package.id, workspace_id=package.workspace_id, name=package.name,
        description=package.description, source=package.source, source_ref=package.source_ref,
        storage="platform" if package.storage_id is None else "tenant",
        storage_id=package.storage_id, path=package.path, start_file=package.start_file,
        status=package.status, status_reason=package.status_reason, size=package.size,
        files=package.files, created_by=package.created_by, creator=creator,
        created_at=package.created_at, updated_at=package.updated_at,
        manifest=package.manifest if files else [],
    )  # fmt: skip


def _reread(sessions: sessionmaker[Session], package: CodePackage) -> CodePackageRead:
    with sessions() as session:
        names = code_packages.creators(session, [package])
    return package_read(package, creator=names.get(package.created_by or ""), files=True)


async def read_form(request: Request) -> FormData:
    """The multipart form, at most ``FILES_MAX`` files (a 422 naming the fix otherwise)."""
    most = code_packages.FILES_MAX
    try:
        return await request.form(max_files=most, max_fields=MAX_FIELDS, max_part_size=MAX_PART)
    except HTTPException as exc:  # Starlette's answer to a MultiPartException
        detail = str(exc.detail)
        what = f"more than {most} files" if "many files" in detail else detail.rstrip(".")
        raise ValidationFailed.field(
            "files", f"{what}: at most {most} files per upload (spec 07 §4); nothing was "
            f"kept: {code_packages.FIX}",
        ) from None  # fmt: skip


def text(form: FormData, name: str, *, required: bool = False) -> str:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise ValidationFailed.field(name, "is required")
        return ""
    if not isinstance(value, str):
        raise ValidationFailed.field(name, "must be a text field, not a file")
    return value.strip()


def uploads(form: FormData, name: str = "files") -> list[UploadedFile]:
    found = []
    for value in form.getlist(name):
        if not isinstance(value, UploadFile):
            raise ValidationFailed.field(name, "must be files (multipart/form-data)")
        found.append(UploadedFile(value.filename or "", value.file))
    return found


async def create_from_form(
    request: Request, actor: Actor, form: FormData, *, workspace_id: str
) -> CodePackageRead:
    """Shared by the API and the console: a package from the form's fields and files."""
    sessions = app_state(request).sessions
    store = store_of(app_state(request).settings)
    files = uploads(form)
    name = text(form, "name", required=True)
    description, start_file = text(form, "description"), text(form, "start_file")

    def work() -> CodePackageRead:
        package = code_packages.create_package(
            sessions, actor=actor, workspace_id=workspace_id, name=name,
            description=description, start_file=start_file, source="upload",
            files=lambda: code_packages.upload_manifest(store, files, start_file=start_file),
        )  # fmt: skip
        return _reread(sessions, package)

    return await run_in_threadpool(work)


async def reupload_from_form(
    request: Request, actor: Actor, package_id: str
) -> tuple[CodePackageRead, int]:
    """Shared by the API and the console: check row 57 first, then read the form and
    replace the package's files. Returns the package and how many files were uploaded."""
    sessions = app_state(request).sessions
    store = store_of(app_state(request).settings)
    await run_in_threadpool(_check_reupload, sessions, actor, package_id)
    form = await read_form(request)
    try:
        files = uploads(form)
        start_file = text(form, "start_file")

        def work() -> CodePackageRead:
            package = code_packages.reupload(
                sessions, actor=actor, package_id=package_id, start_file=start_file,
                files=lambda: code_packages.upload_manifest(store, files, start_file=start_file),
            )  # fmt: skip
            return _reread(sessions, package)

        return await run_in_threadpool(work), len(files)
    finally:
        await form.close()


def _check_reupload(sessions: sessionmaker[Session], actor: Actor, package_id: str) -> None:
    with transaction(sessions) as session:
        code_packages.access_code_package(session, actor, package_id, "code.reupload", write=True)


@router.post("", response_model=CodePackageRead, status_code=201)
async def create_package(request: Request, actor: StreamingActor) -> CodePackageRead:
    """A package from an upload (row 56): multipart fields ``workspace_id``, ``name`` (unique
    in the workspace, ≤ 64, rule N1), ``description`` (≤ 1000), ``start_file`` (one of the
    files) and 1-5 ``files`` (each ≤ 400 MB; archives are kept as they are)."""
    form = await read_form(request)
    try:
        workspace_id = text(form, "workspace_id", required=True)
        return await create_from_form(request, actor, form, workspace_id=workspace_id)
    finally:
        await form.close()


@router.get("", response_model=list[CodePackageRead])
def list_packages(
    session: SessionDep, actor: CurrentActor, workspace: Annotated[str, Query()],
    q: str = "", created_from: str = "", created_to: str = "",
) -> list[CodePackageRead]:  # fmt: skip
    """The workspace's packages the caller may list (row 55), newest first; search by name
    (``q``) and creation date (``created_from``, ``created_to``: dates, inclusive, or ISO
    8601 date-times)."""
    found = code_packages.visible_packages(
        session, actor, workspace_id=workspace, q=q, created_from=created_from,
        created_to=created_to,
    )  # fmt: skip
    names = code_packages.creators(session, found)
    return [package_read(p, creator=names.get(p.created_by or "")) for p in found]


@router.post("/from-workload", response_model=CodePackageRead, status_code=201)
def save_from_workload(
    request: Request, actor: StreamingActor, settings: SettingsDep, body: FromDevEnv
) -> CodePackageRead:
    """ "Save to code package" (row 76): a package (source ``ide``) from a dev environment's
    ``/work/home`` or a folder in it (``path``), in the dev environment's workspace. The
    folder is read with no transaction open."""
    sessions = app_state(request).sessions
    package = code_packages.save_from_dev_environment(
        sessions, actor=actor, store=store_of(settings), home=settings.home,
        workspace_id=body.workspace_id, name=body.name, description=body.description,
        workload_id=body.workload_id, path=body.path, start_file=body.start_file,
    )  # fmt: skip
    return _reread(sessions, package)


@router.post("/from-storage", response_model=CodePackageRead, status_code=201)
def create_on_storage(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, body: FromStorage
) -> CodePackageRead:
    """A package that is a folder on a registered storage (row 56; spec 07 §4 (b): no size
    limit, nothing copied, mounted as it is)."""
    package = code_packages.do_create_on_storage(
        session, actor=actor, box=SecretBox.of_home(settings.home), **body.model_dump()
    )
    return package_read(package, creator=actor.user.username)


@router.get("/{package_id}", response_model=CodePackageRead)
def get_package(session: SessionDep, actor: CurrentActor, package_id: str) -> CodePackageRead:
    """A package with its files (row 59)."""
    found = code_packages.access_code_package(session, actor, package_id, "code.view", write=False)
    names = code_packages.creators(session, [found.package])
    return package_read(
        found.package, creator=names.get(found.package.created_by or ""), files=True
    )


@router.post("/{package_id}/upload", response_model=CodePackageRead)
async def reupload(request: Request, actor: StreamingActor, package_id: str) -> CodePackageRead:
    """Re-upload (row 57): 1-5 new ``files`` (multipart, each ≤ 400 MB) replace the old ones;
    ``start_file`` optional (else the old one, if the new files still have it)."""
    package, _count = await reupload_from_form(request, actor, package_id)
    return package


@router.get("/{package_id}/files/{path:path}")
def download_file(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, package_id: str, path: str
) -> Response:
    """One file of the package, streamed (row 62)."""
    found = code_packages.access_code_package(
        session, actor, package_id, "code.download", write=False
    )
    entry = code_packages.entry(found.package, path)
    return BlobResponse(
        store_of(settings).path(entry.sha256), filename=entry.path.rsplit("/", 1)[-1],
        media_type="application/octet-stream",
    )  # fmt: skip


@router.get("/{package_id}/training-draft", response_model=CodeDraft)
def training_draft(session: SessionDep, actor: CurrentActor, package_id: str) -> CodeDraft:
    """ "Start training" (row 60): a training job with the package at /work/mount/code/<name>
    and its start file as the command."""
    found = code_packages.access_code_package(
        session, actor, package_id, "code.start_training", write=False
    )
    package = found.package
    folder = f"/work/mount/code/{code_packages.mount_name(package)}"
    start = package.start_file
    command = f"cd {folder} && python {shlex.quote(start)}" if start else f"cd {folder} && ls"
    return CodeDraft(kind="training", workspace_id=package.workspace_id,
                     name=f"{package.name}-train"[:64], command=command,
                     mounts=[{"kind": "code", "id": package.id}])  # fmt: skip


@router.get("/{package_id}/devenv-draft", response_model=CodeDraft)
def devenv_draft(session: SessionDep, actor: CurrentActor, package_id: str) -> CodeDraft:
    """ "Online coding" (row 61): a dev environment with the package mounted."""
    found = code_packages.access_code_package(
        session, actor, package_id, "code.online_coding", write=False
    )
    package = found.package
    return CodeDraft(kind="devenv", workspace_id=package.workspace_id,
                     name=f"{package.name}-dev"[:64], command=None,
                     mounts=[{"kind": "code", "id": package.id}])  # fmt: skip


@router.delete("/{package_id}", status_code=204)
def delete_package(session: SessionDep, actor: CurrentActor, package_id: str) -> None:
    """Delete the package (row 58); its blobs stop counting unless named elsewhere."""
    found = code_packages.access_code_package(session, actor, package_id, "code.delete", write=True)
    code_packages.do_delete(session, access=found)
