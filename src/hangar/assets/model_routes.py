"""Model registry API: ``/api/v1/models`` — records, versions from an upload, files, deletion.

Uploads stream the request body into the platform's storage while hashing it (≤ 2 GB, spec
07 §1.2), checked against ``sha256`` when the client sends it: a corrupted or oversized upload
keeps nothing. Permissions follow the matrix rows for models (``registry.access_model``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.requests import ClientDisconnect

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import registry, sharing
from hangar.assets.blobs import BlobStore
from hangar.assets.manifests import Manifest, safe_path
from hangar.assets.model_schemas import (
    FromWorkload,
    ImportCreate,
    ModelCreate,
    ModelRead,
    SharedRead,
    TokenCreate,
    TokenCreated,
    TokenRef,
    VersionRead,
)
from hangar.assets.orm import ModelShareToken, ModelVersion, RegisteredModel
from hangar.db.engine import transaction
from hangar.errors import NotFound, ValidationFailed

router = APIRouter(prefix="/api/v1/models", tags=["models"])
T = TypeVar("T")


CHUNK = 1024 * 1024


class BlobResponse(FileResponse):
    """A file sent in 4 MiB pieces (Starlette's default is 64 KiB: 64 times the reads and
    sends, each read a hop to a worker thread)."""

    chunk_size = 4 * CHUNK


def store_of(settings: SettingsDep) -> BlobStore:
    return BlobStore(settings.home / "blobs")


def version_read(row: ModelVersion, *, files: bool = False) -> VersionRead:
    return VersionRead(
        id=row.id, number=row.number, label=f"V{row.number}", description=row.description,
        source=row.source, source_ref=row.source_ref, status=row.status, size=row.size,
        files=row.files, lineage=row.lineage, created_by=row.created_by,
        created_at=row.created_at, manifest=row.manifest if files else [],
        storage_id=row.storage_id, path=row.path,
    )  # fmt: skip


def _model(model: RegisteredModel, versions: list[VersionRead]) -> ModelRead:
    return ModelRead(
        id=model.id, workspace_id=model.workspace_id, name=model.name,
        description=model.description, created_by=model.created_by,
        created_at=model.created_at, versions=versions,
    )  # fmt: skip


@router.post("", response_model=ModelRead, status_code=201)
def create_model(session: SessionDep, actor: CurrentActor, body: ModelCreate) -> ModelRead:
    """A model record in a workspace (row 30): a name unique there (≤ 64, rule N1)."""
    model = registry.do_create_model(
        session, actor=actor, workspace_id=body.workspace_id, name=body.name,
        description=body.description,
    )  # fmt: skip
    return _model(model, [])


@router.get("", response_model=list[ModelRead])
def list_models(
    session: SessionDep, actor: CurrentActor, workspace: Annotated[str, Query()]
) -> list[ModelRead]:
    """The workspace's models the caller may list (row 34), with their versions."""
    return [
        _model(m, [version_read(v) for v in registry.versions(session, m)])
        for m in registry.visible_models(session, actor, workspace_id=workspace)
    ]


@router.get("/{model_id}", response_model=ModelRead)
def get_model(session: SessionDep, actor: CurrentActor, model_id: str) -> ModelRead:
    found = registry.access_model(session, actor, model_id, "model.get_record", write=False)
    return _model(found.model, [version_read(v) for v in registry.versions(session, found.model)])


@router.put("/{model_id}/versions/upload", response_model=VersionRead, status_code=201)
async def upload_version(
    request: Request,
    actor: StreamingActor,
    settings: SettingsDep,
    model_id: str,
    filename: Annotated[str, Query(min_length=1, max_length=512)],
    sha256: Annotated[str | None, Query(pattern="^[0-9a-fA-F]{64}$")] = None,
    description: str = "",
) -> VersionRead:
    """The next version from one uploaded file (the request body, ≤ 2 GB); ``sha256``
    verifies it. Rows 31 and 39. No transaction is open while the body streams."""
    safe_path(filename)
    body = BodyPump(request)

    def store() -> ModelVersion:
        return registry.add_version_from_files(
            app_state(request).sessions, actor=actor, model_id=model_id,
            point="model.upload_file",
            files=lambda: registry.upload_manifest(
                store_of(settings), body.chunks(), filename=filename, sha256=sha256
            ),
            source="upload", source_ref=filename, description=description,
        )  # fmt: skip

    row = await body.run(store)
    return version_read(row, files=True)


class BodyPump:
    """A request body read on the event loop while a worker thread stores it.

    The event loop reads the body (``request.stream()``, through the body-limit middleware)
    and hands it over in batches of ``BATCH`` bytes, at most ``DEPTH`` batches ahead; the
    worker thread (``run``'s function: the database work and ``BlobStore.put``, which hashes
    and writes) takes them from :meth:`chunks`. Receiving, hashing and writing overlap, and
    the thread meets the event loop once per batch, not once per packet. Nothing is read
    before :meth:`chunks` is first iterated (the permission check comes first); a body that
    breaks off (the client went away, the body limit) raises in the worker, so nothing
    incomplete is stored."""

    BATCH = 4 * CHUNK
    DEPTH = 2

    def __init__(self, request: Request) -> None:
        self.request = request
        self.send, self.receive = anyio.create_memory_object_stream[list[bytes]](self.DEPTH)
        self.started = anyio.Event()
        self.complete = False
        self.error: BaseException | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread, the body pumped to it meanwhile."""
        failed: Exception | None = None
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._pump)
            try:
                result = await anyio.to_thread.run_sync(work)
            except Exception as exc:  # raised below, outside the task group (not grouped)
                failed = exc
            tasks.cancel_scope.cancel()  # a refused upload's body is left unread
        self.send.close()
        self.receive.close()
        if failed is not None:
            raise failed
        return result

    async def _pump(self) -> None:
        with self.send:
            await self.started.wait()
            parts: list[bytes] = []
            size = 0
            try:
                async for part in self.request.stream():
                    parts.append(part)
                    size += len(part)
                    if size >= self.BATCH:
                        await self.send.send(parts)
                        parts, size = [], 0
                if parts:
                    await self.send.send(parts)
                self.complete = True
            except Exception as exc:
                self.error = exc

    def chunks(self) -> Iterator[bytes]:
        """The body, in the worker thread."""
        anyio.from_thread.run_sync(self.started.set)
        while True:
            try:
                parts = anyio.from_thread.run(self.receive.receive)
            except anyio.EndOfStream:
                if self.complete:
                    return
                raise self.error or ClientDisconnect() from None
            yield from parts


@router.post("/{model_id}/versions/from-workload", response_model=VersionRead, status_code=201)
def save_from_workload(
    request: Request, actor: StreamingActor, settings: SettingsDep, model_id: str,
    body: FromWorkload,
) -> VersionRead:  # fmt: skip
    """ "Save to model registry" (spec 07 §1.2): the next version from a completed training
    job's ``/work/output`` (or a folder in it) or a dev environment's ``/work/home``, with its
    lineage (workload, run, path). The folder is read with no transaction open."""
    sessions = app_state(request).sessions
    with transaction(sessions) as session:
        folder, kind, lineage = registry.workload_folder(
            session, actor, home=settings.home, workload_id=body.workload_id, path=body.path
        )
    row = registry.add_version_from_files(
        sessions, actor=actor, model_id=model_id, point="model.create_version",
        files=lambda: registry.folder_manifest(store_of(settings), folder),
        source=kind, source_ref=body.workload_id, description=body.description,
        lineage=lineage,
    )  # fmt: skip
    return version_read(row, files=True)


@router.get("/{model_id}/versions/{number}", response_model=VersionRead)
def get_version(
    session: SessionDep, actor: CurrentActor, model_id: str, number: int
) -> VersionRead:
    found = registry.access_model(session, actor, model_id, "model.list_versions", write=False)
    return version_read(registry.version(session, found.model, number), files=True)


@router.get("/{model_id}/versions/{number}/files/{path:path}")
def download_file(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, model_id: str,
    number: int, path: str,
) -> Response:  # fmt: skip
    """One file of a version, streamed (row 40)."""
    found = registry.access_model(session, actor, model_id, "model.download_file", write=False)
    row = registry.version(session, found.model, number)
    registry.on_platform(row, "downloaded from the registry")
    wanted = safe_path(path)
    entry = next((e for e in Manifest.from_json(row.manifest).entries if e.path == wanted), None)
    if entry is None:
        raise NotFound(f"V{number} of model '{found.model.name}' has no file '{wanted}'")
    return BlobResponse(
        store_of(settings).path(entry.sha256), filename=wanted.rsplit("/", 1)[-1],
        media_type="application/octet-stream",
    )  # fmt: skip


@router.delete("/{model_id}/versions/{number}", status_code=204)
def delete_version(session: SessionDep, actor: CurrentActor, model_id: str, number: int) -> None:
    found = registry.access_model(session, actor, model_id, "model.delete_version", write=True)
    registry.do_delete_version(session, access=found, number=number)


@router.delete("/{model_id}", status_code=204)
def delete_model(session: SessionDep, actor: CurrentActor, model_id: str) -> None:
    found = registry.access_model(session, actor, model_id, "model.delete_record", write=True)
    registry.do_delete_model(session, access=found)


@router.post(
    "/{model_id}/versions/{number}/share-tokens", response_model=TokenCreated, status_code=201
)
def create_share_token(
    session: SessionDep, actor: CurrentActor, model_id: str, number: int, body: TokenCreate
) -> TokenCreated:
    """A share token for one version (row 47), valid 1d, 7d, 30d or permanently; shown once."""
    found = registry.access_model(session, actor, model_id, "model.version_share_token", write=True)
    row = registry.version(session, found.model, number)
    token, value = sharing.do_create_token(
        session, access=found, version=row, validity=body.validity, now=datetime.now(UTC)
    )
    return TokenCreated(
        id=token.id, token=value, model=found.model.name, version=f"V{row.number}",
        expires_at=token.expires_at,
    )  # fmt: skip


@router.delete("/share-tokens/{token_id}", status_code=204)
def revoke_share_token(session: SessionDep, actor: CurrentActor, token_id: str) -> None:
    """Revoke a token: importing with it is refused from now on."""
    token = session.get(ModelShareToken, token_id)
    version = session.get(ModelVersion, token.version_id) if token is not None else None
    if token is None or version is None or token.tenant_id != actor.tenant_id:
        raise NotFound.of("share token", token_id)
    registry.access_model(session, actor, version.model_id, "model.version_share_token", write=True)
    sharing.do_revoke(session, token=token, now=datetime.now(UTC))


@router.post("/share-tokens/resolve", response_model=SharedRead)
def resolve_share_token(session: SessionDep, actor: CurrentActor, body: TokenRef) -> SharedRead:
    """What a token names (row 48), before importing it; expired or revoked ones are 409s."""
    shared = sharing.resolve(session, body.token, now=datetime.now(UTC))
    return SharedRead(
        model=shared.model.name, version=f"V{shared.version.number}", size=shared.version.size,
        files=shared.version.files, expires_at=shared.token.expires_at,
    )  # fmt: skip


@router.post("/import", response_model=VersionRead, status_code=201)
def import_shared(session: SessionDep, actor: CurrentActor, body: ImportCreate) -> VersionRead:
    """Import a shared version into the caller's tenant: as V1 of a new model (``workspace_id``
    and ``name``) or as the next version of one of the caller's models (``model_id``)."""
    shared = sharing.resolve(session, body.token, now=datetime.now(UTC))
    if body.model_id is not None:
        into = registry.access_model(
            session, actor, body.model_id, "model.create_version", write=True
        )
    elif body.workspace_id is not None and body.name is not None:
        model = registry.do_create_model(
            session, actor=actor, workspace_id=body.workspace_id, name=body.name,
            description=shared.model.description,
        )  # fmt: skip
        into = registry.access_model(session, actor, model.id, "model.create_version", write=True)
    else:
        raise ValidationFailed.field(
            "model_id", "give model_id (a new version) or workspace_id and name (a new model)"
        )
    row = sharing.do_import(session, shared=shared, into=into, description=body.description)
    return version_read(row, files=True)
