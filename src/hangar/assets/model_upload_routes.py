"""Resumable model uploads over HTTP (``hangar.assets.resumable``):

- ``POST /api/v1/models/{id}/uploads {filename, size, description}`` opens a session (row 39);
- ``PUT /api/v1/models/uploads/{upload}?offset=N`` appends the body (409 with the server's
  ``offset`` when N is not it); ``GET`` says how much the server holds;
- ``POST …/{upload}/complete {sha256}`` checks the file and makes it the next version;
- ``GET /api/v1/models/{id}/uploads`` lists the caller's unfinished sessions (to resume after
  the client itself was restarted); ``DELETE …/{upload}`` abandons one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import registry, resumable
from hangar.assets.model_routes import BodyPump, version_read
from hangar.assets.model_schemas import UploadComplete, UploadCreate, UploadRead, VersionRead
from hangar.db.engine import transaction

router = APIRouter(prefix="/api/v1/models", tags=["models"])


def _read(data: dict[str, Any]) -> UploadRead:
    return UploadRead.model_validate(data)


@router.post("/{model_id}/uploads", response_model=UploadRead, status_code=201)
def open_upload(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, model_id: str,
    body: UploadCreate,
) -> UploadRead:  # fmt: skip
    registry.access_model(session, actor, model_id, "model.upload_file", write=True)
    registry.check_description(body.description)
    return _read(resumable.begin(settings.home, actor=actor, model_id=model_id,
                                 filename=body.filename, size=body.size,
                                 description=body.description))  # fmt: skip


@router.get("/{model_id}/uploads", response_model=list[UploadRead])
def list_uploads(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, model_id: str
) -> list[UploadRead]:
    registry.access_model(session, actor, model_id, "model.upload_file", write=True)
    return [_read(u) for u in resumable.pending(settings.home, actor=actor, model_id=model_id)]


@router.get("/uploads/{upload_id}", response_model=UploadRead)
def upload_status(actor: CurrentActor, settings: SettingsDep, upload_id: str) -> UploadRead:
    return _read(resumable.status(settings.home, actor=actor, upload_id=upload_id))


@router.put("/uploads/{upload_id}", response_model=UploadRead)
async def append(
    request: Request, actor: StreamingActor, settings: SettingsDep, upload_id: str,
    offset: Annotated[int, Query(ge=0)],
) -> UploadRead:  # fmt: skip
    """Append the request body at ``offset``; answers once the bytes are on disk."""
    home = settings.home
    meta = await run_in_threadpool(resumable.status, home, actor=actor, upload_id=upload_id)
    await run_in_threadpool(_check_model, request, actor, str(meta["model_id"]))
    body = BodyPump(request)
    total = await body.run(lambda: resumable.append(
        home, actor=actor, upload_id=upload_id, offset=offset, chunks=body.chunks()))  # fmt: skip
    return _read({**meta, "offset": total})


def _check_model(request: Request, actor: CurrentActor, model_id: str) -> None:
    with transaction(app_state(request).sessions) as session:
        registry.access_model(session, actor, model_id, "model.upload_file", write=True)


@router.post("/uploads/{upload_id}/complete", response_model=VersionRead, status_code=201)
def complete(
    request: Request, actor: StreamingActor, settings: SettingsDep, upload_id: str,
    body: UploadComplete,
) -> VersionRead:  # fmt: skip
    """Check the whole file against ``sha256`` and add it as the model's next version."""
    meta = resumable.status(settings.home, actor=actor, upload_id=upload_id)
    _check_model(request, actor, str(meta["model_id"]))
    manifest, meta = resumable.finish(settings.home, actor=actor, upload_id=upload_id,
                                      sha256=body.sha256)  # fmt: skip
    with transaction(app_state(request).sessions) as session:
        access = registry.access_model(session, actor, str(meta["model_id"]),
                                       "model.create_version", write=True)  # fmt: skip
        row = registry.do_add_version(
            session, access=access, manifest=manifest, source="upload",
            source_ref=str(meta["filename"]), description=str(meta.get("description", "")),
        )  # fmt: skip
        return version_read(row, files=True)


@router.delete("/uploads/{upload_id}", status_code=204)
def abort(actor: CurrentActor, settings: SettingsDep, upload_id: str) -> None:
    resumable.abort(settings.home, actor=actor, upload_id=upload_id)
