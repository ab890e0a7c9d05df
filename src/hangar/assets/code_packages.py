"""Code packages (spec 07 §4): the files a training job or service runs, kept in the
platform's storage, and who may do what with them (matrix rows 55-62 and 76).

A package lives in a workspace: the caller must be able to enter it (else 404, so ids of
other teams never leak); the matrix cell for their roles there decides, the *own* or
*others'* column chosen by the package's creator (as for models, ``registry.access_model``).

Its files are a manifest of content-addressed blobs, counted once per tenant in its storage
usage (``assets.usage``) and released when the package is re-uploaded or deleted. They come
from an upload (≤ ``FILES_MAX`` files, each ≤ ``FILE_LIMIT`` bytes; archives are kept as they
are, the start command unpacks them) or from a dev environment's ``/work/home`` ("save to
code package", row 76). A package is created *importing* and becomes *succeeded* once its
files are stored; files are stored with no transaction open, so a large upload never holds
the database. A refused import keeps nothing; one that breaks unexpectedly is marked
*failed* with the reason.

Packages on tenant storage (``storage_id``/``path``) are another engineer's part; here every
package is on the platform's storage.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hangar.assets import registry, storages
from hangar.assets.blobs import BlobStore, read_chunks
from hangar.assets.dataset_orm import CodePackage, ExternalStorage
from hangar.assets.manifests import Entry, Manifest, safe_path
from hangar.assets.secret_box import SecretBox
from hangar.assets.usage import do_reference, do_release
from hangar.audit.context import note_target, note_workspace
from hangar.backends.spec import SAFE_NAME
from hangar.db.engine import transaction
from hangar.errors import AlreadyExists, Conflict, HangarError, NotFound, ValidationFailed
from hangar.jobs.access import access_job, access_workspace_for_create
from hangar.naming import check_n1
from hangar.tenancy.access import Actor, access_workspace, check_point, decide, workspace_roles
from hangar.tenancy.matrix import BY_KEY, Role
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.orm import Workload

NAME_MAX = 64  # G7
DESCRIPTION_MAX = 1000
START_FILE_MAX = 255
FILES_MAX = 5  # spec 07 §4: ≤ 5 files per upload …
FILE_LIMIT = 400 * 1024**2  # … each ≤ 400 MB
SOURCES = ("upload", "ide", "storage")
REASON_MAX = 1000
TENANT_STORAGE = "use a package on tenant storage, which has no size limit"
FIX = (
    "put many files into one archive (zip, tar.gz: the start command unpacks it), or "
    + TENANT_STORAGE
)


@dataclass(frozen=True)
class CodeAccess:
    actor: Actor
    package: CodePackage
    workspace: Workspace
    roles: frozenset[Role]


@dataclass(frozen=True)
class UploadedFile:
    """One file of an upload: its name as sent and its bytes (a seekable file)."""

    filename: str
    file: BinaryIO


def check_description(text: str) -> str:
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed.field(
            "description", f"must be at most {DESCRIPTION_MAX} characters (got {len(text)})"
        )
    return text


def access_code_package(
    session: Session, actor: Actor, package_id: str, point: str, *, write: bool
) -> CodeAccess:
    """The package ``package_id`` if ``point`` allows the caller to act on it (404 when it
    is not theirs to see: another tenant's, or in a workspace they cannot enter)."""
    package = session.get(CodePackage, package_id)
    if package is None or package.tenant_id != actor.tenant_id:
        raise NotFound.of("code package", package_id)
    try:
        ws = access_workspace(session, actor, package.workspace_id)
    except NotFound:
        raise NotFound.of("code package", package_id) from None
    note_workspace(ws.id)
    note_target("code_package", package.id, package.name, workspace_id=ws.id)
    roles = workspace_roles(session, actor, ws)
    check_point(actor, point, roles, owner_id=package.created_by or "", write=write)
    return CodeAccess(actor, package, ws, roles)


def _check_free(session: Session, ws: Workspace, name: str) -> None:
    taken = session.scalar(
        select(CodePackage.id).where(CodePackage.workspace_id == ws.id, CodePackage.name == name)
    )
    if taken is not None:
        raise _taken(ws, name)


def _taken(ws: Workspace, name: str) -> AlreadyExists:
    return AlreadyExists(
        f"workspace '{ws.name}' already has a code package named '{name}': pick another name, "
        "or re-upload that package's files",
        fields={"name": "already used in this workspace"},
    )


def check_new(
    session: Session, actor: Actor, *, workspace_id: str, name: str, description: str
) -> Workspace:
    """The workspace a new package goes to, if the caller may import there (row 56) and the
    name and description are acceptable."""
    ws = access_workspace_for_create(session, actor, workspace_id, point="code.import")
    check_n1(name, max_length=NAME_MAX)
    check_description(description)
    _check_free(session, ws, name)
    return ws


# --- listing --------------------------------------------------------------------------------
def parse_bound(text: str, *, field: str, end: bool) -> datetime | None:
    """A date (``2026-11-24``: the whole day, so an end bound includes it) or a date and
    time (ISO 8601, UTC unless it names a zone) of the search's date range."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(
            field, f"{text!r} is not a date (2026-11-24) or an ISO 8601 date and time"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment + timedelta(microseconds=1) if end else moment


def visible_packages(
    session: Session, actor: Actor, *, workspace_id: str, q: str = "",
    created_from: str = "", created_to: str = "",
) -> list[CodePackage]:  # fmt: skip
    """The workspace's packages the caller may list (row 55), newest first; ``q`` matches
    names (any case), ``created_from``/``created_to`` bound the creation date (inclusive)."""
    start = parse_bound(created_from, field="created_from", end=False)
    stop = parse_bound(created_to, field="created_to", end=True)
    ws = access_workspace(session, actor, workspace_id)
    roles = workspace_roles(session, actor, ws)
    stmt = select(CodePackage).where(CodePackage.workspace_id == ws.id)
    if start is not None:
        stmt = stmt.where(CodePackage.created_at >= start)
    if stop is not None:
        stmt = stmt.where(CodePackage.created_at < stop)
    rows = session.scalars(stmt.order_by(CodePackage.created_at.desc(), CodePackage.id)).all()
    point = BY_KEY["code.list"]
    needle = q.strip().lower()
    return [
        p for p in rows
        if decide(point, roles, owner_is_actor=p.created_by == actor.id)
        and needle in p.name.lower()
    ]  # fmt: skip


def creators(session: Session, packages: Sequence[CodePackage]) -> dict[str, str]:
    """User id → username for the packages' creators (the list's *creator* column)."""
    ids = {p.created_by for p in packages if p.created_by}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    return {user_id: username for user_id, username in rows}


def manifest_of(package: CodePackage) -> Manifest:
    return Manifest.from_json(package.manifest)


def paths_of(manifest: Manifest) -> list[str]:
    return [e.path for e in manifest.entries]


def entry(package: CodePackage, path: str) -> Entry:
    wanted = safe_path(path)
    found = next((e for e in manifest_of(package).entries if e.path == wanted), None)
    if found is None:
        raise NotFound(f"code package '{package.name}' has no file '{wanted}'")
    return found


# --- files ----------------------------------------------------------------------------------
def _size(file: BinaryIO) -> int:
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def check_uploads(files: Sequence[UploadedFile]) -> list[str]:
    """The upload's paths, once the count (≤ ``FILES_MAX``), each file's size (≤
    ``FILE_LIMIT``) and the names are checked: nothing is stored before all pass."""
    limit, most = FILE_LIMIT, FILES_MAX  # read now: tests lower them
    if not files:
        raise ValidationFailed.field("files", f"give 1 to {most} files (spec 07 §4)")
    if len(files) > most:
        raise ValidationFailed.field(
            "files", f"{len(files)} files: at most {most} per upload (spec 07 §4); nothing was "
            f"kept: {FIX}",
        )  # fmt: skip
    paths: list[str] = []
    for upload in files:
        try:
            path = safe_path(upload.filename)
        except ValidationFailed:
            raise ValidationFailed.field(
                "files", f"{upload.filename!r} is not a usable file name; rename the file"
            ) from None
        size = _size(upload.file)
        if size > limit:
            raise ValidationFailed.field(
                "files", f"{path}: {size:,} bytes, over the limit of {limit:,} bytes per file "
                f"(spec 07 §4); nothing was kept: split or compress it, or {TENANT_STORAGE}",
            )  # fmt: skip
        if path in paths:
            raise ValidationFailed.field(
                "files", f"{path} is given twice; every file of a package needs its own name"
            )
        paths.append(path)
    return paths


def upload_manifest(
    store: BlobStore, files: Sequence[UploadedFile], *, start_file: str = ""
) -> Manifest:
    """Store the uploaded files as they are (archives are not unpacked) and return their
    manifest, once their count, sizes, names and ``start_file`` are checked; each is limited
    to ``FILE_LIMIT`` while it is copied, too."""
    paths = check_uploads(files)
    check_start_file(start_file, paths)
    limit = FILE_LIMIT
    entries = []
    for path, upload in zip(paths, files, strict=True):
        upload.file.seek(0)
        try:
            blob = store.put(read_chunks(upload.file), limit=limit)
        except ValidationFailed:
            raise ValidationFailed.field(
                "files", f"{path}: over the limit of {limit:,} bytes per file (spec 07 §4); "
                "nothing was kept",
            ) from None  # fmt: skip
        entries.append(Entry(path, blob.sha256, blob.size))
    return Manifest(tuple(sorted(entries, key=lambda e: e.path)))


def check_start_file(start_file: str, paths: Sequence[str]) -> str:
    """``start_file`` as one of ``paths`` (the package's files), or "" when not given."""
    if not start_file:
        return ""
    if len(start_file) > START_FILE_MAX:
        raise ValidationFailed.field("start_file", f"must be at most {START_FILE_MAX} characters")
    try:
        path = safe_path(start_file)
    except ValidationFailed:
        raise ValidationFailed.field(
            "start_file", f"{start_file!r} must be a relative path"
        ) from None
    if path not in paths:
        shown = ", ".join(paths[:5]) + (", …" if len(paths) > 5 else "")
        raise ValidationFailed.field(
            "start_file", f"{path!r} is not one of the package's files ({shown}); name one of "
            "them, or leave it empty",
        )  # fmt: skip
    return path


def _store(package: CodePackage, manifest: Manifest, start_file: str) -> None:
    package.manifest = manifest.to_json()
    package.size = manifest.size
    package.files = len(manifest.entries)
    package.start_file = start_file
    package.status = "succeeded"
    package.status_reason = ""


# --- create, re-upload, save from a dev environment ----------------------------------------
def create_package(
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    workspace_id: str,
    name: str,
    description: str,
    start_file: str,
    source: str,
    source_ref: str = "",
    files: Callable[[], Manifest],
) -> CodePackage:
    """A new package, *importing* while ``files()`` stores its files with no transaction
    open, then *succeeded*. A refused import (a 4xx) keeps nothing; an unexpected error marks
    the package *failed* with the reason and is raised again."""
    if source not in SOURCES:
        raise ValidationFailed.field("source", f"one of {', '.join(SOURCES)}")
    with transaction(sessions) as session:
        ws = check_new(session, actor, workspace_id=workspace_id, name=name,
                       description=description)  # fmt: skip
        package = CodePackage(
            tenant_id=actor.tenant_id, workspace_id=ws.id, name=name, description=description,
            source=source, source_ref=source_ref, status="importing", created_by=actor.id,
        )  # fmt: skip
        session.add(package)
        try:
            session.flush()
        except IntegrityError:  # a concurrent create took the name
            raise _taken(ws, name) from None
        note_target("code_package", package.id, package.name, workspace_id=ws.id)
        package_id = package.id
    try:
        manifest = files()
        if not manifest.entries:
            raise ValidationFailed.field("files", "a code package needs at least one file")
        start = check_start_file(start_file, paths_of(manifest))
        with transaction(sessions) as session:
            access = access_code_package(session, actor, package_id, "code.view", write=True)
            do_reference(session, tenant_id=actor.tenant_id, manifest=manifest)
            _store(access.package, manifest, start)
            return access.package
    except HangarError:
        _discard(sessions, package_id)
        raise
    except Exception as exc:
        _fail(sessions, package_id, exc)
        raise


def _discard(sessions: sessionmaker[Session], package_id: str) -> None:
    with transaction(sessions) as session:
        package = session.get(CodePackage, package_id)
        if package is not None and package.status == "importing":
            session.delete(package)


def _fail(sessions: sessionmaker[Session], package_id: str, exc: Exception) -> None:
    with transaction(sessions) as session:
        package = session.get(CodePackage, package_id)
        if package is not None and package.status == "importing":
            package.status = "failed"
            package.status_reason = f"{type(exc).__name__}: {exc}"[:REASON_MAX]


def reupload(
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    package_id: str,
    start_file: str,
    files: Callable[[], Manifest],
) -> CodePackage:
    """Replace the package's files (row 57): the new ones are stored with no transaction
    open, then take the old ones' place; blobs only the old files named stop counting. The
    start file is the one given, else the old one if the new files still have it."""
    with transaction(sessions) as session:
        _replaceable(access_code_package(session, actor, package_id, "code.reupload", write=True))
    manifest = files()
    with transaction(sessions) as session:
        access = access_code_package(session, actor, package_id, "code.reupload", write=True)
        package = access.package
        _replaceable(access)
        old = manifest_of(package)
        if start_file:
            start = check_start_file(start_file, paths_of(manifest))
        else:
            start = (
                package.start_file
                if package.start_file in {e.path for e in manifest.entries}
                else ""
            )
        do_reference(session, tenant_id=package.tenant_id, manifest=manifest)
        do_release(session, tenant_id=package.tenant_id, manifest=old)
        _store(package, manifest, start)
        package.source, package.source_ref = "upload", ""
        return package


def _replaceable(access: CodeAccess) -> None:
    package = access.package
    if package.storage_id is not None:
        raise Conflict(
            f"code package '{package.name}' is a path on tenant storage: change the files "
            "there, they are mounted as they are",
            fields={"storage_id": package.storage_id},
        )
    if package.status == "importing":
        raise Conflict(
            f"code package '{package.name}' is still importing: wait until it is done",
            fields={"status": package.status},
        )


def dev_environment_folder(
    session: Session, actor: Actor, *, home: Path, workload_id: str, path: str
) -> tuple[Path, Workload]:
    """The folder "save to code package" takes (row 76): a dev environment's ``/work/home``
    or a folder inside it."""
    workload = session.get(Workload, workload_id)
    if workload is None or workload.tenant_id != actor.tenant_id:
        raise NotFound.of("dev environment", workload_id)
    if workload.kind != "ide":
        raise ValidationFailed.field(
            "workload_id", f"'{workload.name}' is a {workload.kind} workload: only a dev "
            "environment's /work/home can be saved as a code package",
        )  # fmt: skip
    access_job(session, actor, workload_id, "devenv.save_to_code", write=True, kind="ide",
               label="dev environment")  # fmt: skip
    folder, _kind, _lineage = registry.workload_folder(
        session, actor, home=home, workload_id=workload_id, path=path
    )
    return folder, workload


def save_from_dev_environment(
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    store: BlobStore,
    home: Path,
    workspace_id: str | None,
    name: str,
    description: str,
    workload_id: str,
    path: str,
    start_file: str,
) -> CodePackage:
    """A new package (source ``ide``) from a dev environment's home, in its workspace."""
    with transaction(sessions) as session:
        folder, workload = dev_environment_folder(
            session, actor, home=home, workload_id=workload_id, path=path
        )
        if workspace_id and workspace_id != workload.workspace_id:
            raise ValidationFailed.field(
                "workspace_id", f"dev environment '{workload.name}' is in another workspace: "
                "save it to a code package there (leave workspace_id out)",
            )  # fmt: skip
        target = workload.workspace_id
    return create_package(
        sessions, actor=actor, workspace_id=target, name=name, description=description,
        start_file=start_file, source="ide", source_ref=workload_id,
        files=lambda: registry.folder_manifest(store, folder),
    )  # fmt: skip


def do_delete(session: Session, *, access: CodeAccess) -> None:
    """Delete the package (row 58); blobs no other manifest of the tenant names stop counting."""
    package = access.package
    do_release(session, tenant_id=package.tenant_id, manifest=manifest_of(package))
    session.delete(package)


def do_create_on_storage(
    session: Session, *, actor: Actor, workspace_id: str, name: str, description: str,
    storage_id: str, path: str, start_file: str, box: SecretBox | None = None,
) -> CodePackage:  # fmt: skip
    """A package that points at a folder on a registered storage (spec 07 §4 (b): no size
    limit, nothing copied). The path is checked like a dataset's; ``start_file`` must be a
    file in it. Deleting the package never touches the folder (decision G1)."""
    ws = check_new(session, actor, workspace_id=workspace_id, name=name,
                   description=description)  # fmt: skip
    location = storages.locate(session, actor, storage_id=storage_id, path=path, box=box)
    if start_file:
        wanted = safe_path(start_file, field="start_file")
        if not location.has_file(wanted):
            raise ValidationFailed.field(
                "start_file", f"'{wanted}' is not a file in '{location.path or '/'}' on storage "
                f"'{location.storage.name if location.storage else ''}'",
            )  # fmt: skip
        start_file = wanted
    package = CodePackage(
        tenant_id=actor.tenant_id, workspace_id=ws.id, name=name, description=description,
        source="storage", source_ref=location.storage.name if location.storage else "",
        storage_id=storage_id, path=location.path, start_file=start_file, status="succeeded",
        created_by=actor.id,
    )  # fmt: skip
    session.add(package)
    session.flush()
    note_target("code_package", package.id, package.name, workspace_id=ws.id)
    return package


def storage_of(session: Session, package: CodePackage) -> ExternalStorage | None:
    """The registered storage a package lives on (None: the platform's storage)."""
    if package.storage_id is None:
        return None
    storage = session.get(ExternalStorage, package.storage_id)
    if storage is None:
        raise NotFound.of("storage", package.storage_id)
    return storage


def mount_name(package: CodePackage) -> str:
    """The folder under /work/mount/code/ (the name, or the id when the name cannot be one)."""
    return package.name if SAFE_NAME.match(package.name) else package.id


def do_recover_imports(session: Session) -> int:
    """Packages a killed server left ``importing`` become ``failed`` (run at start): their
    files were never all stored; re-upload or delete them."""
    stuck = list(session.scalars(select(CodePackage).where(CodePackage.status == "importing")))
    for package in stuck:
        package.status = "failed"
        package.status_reason = "the server stopped during the import: upload the files again"
    return len(stuck)
