"""Model versions in and out as archives: export a version as a zip (row 41) and import a
version from a download link to an archive (spec 07 §1.2 "download link"), unpacked safely
(``assets.archives``) with no transaction open."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from hangar.api.deps import CurrentActor, SessionDep, SettingsDep, StreamingActor, app_state
from hangar.assets import archives, registry, transfer
from hangar.assets.manifests import Manifest
from hangar.assets.model_routes import store_of, version_read
from hangar.assets.model_schemas import FromStorage, VersionRead
from hangar.assets.secret_box import SecretBox
from hangar.tenancy.schemas import Input

router = APIRouter(prefix="/api/v1/models", tags=["models"])


class LinkImport(Input):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    description: str = ""


@router.post("/{model_id}/versions/from-storage", response_model=VersionRead, status_code=201)
def link_storage_version(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, model_id: str,
    body: FromStorage,
) -> VersionRead:  # fmt: skip
    """The next version as a folder on a registered storage (spec 07 §1.2 (b): no size limit,
    nothing copied; mounted read-only into workloads). The path must exist there."""
    found = registry.access_model(session, actor, model_id, "model.create_version", write=True)
    row = registry.do_add_storage_version(
        session, access=found, storage_id=body.storage_id, path=body.path,
        description=body.description, box=SecretBox.of_home(settings.home),
    )  # fmt: skip
    return version_read(row)


@router.get("/{model_id}/versions/{number}/export")
def export_version(
    session: SessionDep, actor: CurrentActor, settings: SettingsDep, model_id: str, number: int
) -> StreamingResponse:
    """The version's files as a zip archive, streamed (row 41, "export to local")."""
    found = registry.access_model(session, actor, model_id, "model.export_local", write=False)
    row = registry.version(session, found.model, number)
    registry.on_platform(row, "exported")
    entries = Manifest.from_json(row.manifest).entries
    name = f"{found.model.name}-V{row.number}.zip"
    return StreamingResponse(
        transfer.zip_stream(store_of(settings), entries), media_type="application/zip",
        headers=transfer.attachment(name),
    )  # fmt: skip


@router.post("/{model_id}/versions/from-link", response_model=VersionRead, status_code=201)
def import_from_link(
    request: Request, actor: StreamingActor, settings: SettingsDep, model_id: str,
    body: LinkImport,
) -> VersionRead:  # fmt: skip
    """The next version from an archive fetched by URL (source ``link``): ≤ 10 GB, unpacked
    with the archive rules, then ≤ 2 GB of files like any upload."""
    sessions = app_state(request).sessions
    staging_root = settings.home / "blobs" / "tmp"
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(dir=staging_root, prefix="link-")
    try:

        def files() -> Manifest:
            folder = Path(staging)
            archive = transfer.fetch_archive(body.url, folder)
            archives.extract(archive, folder / "files")
            return registry.folder_manifest(store_of(settings), folder / "files")

        row = registry.add_version_from_files(
            sessions, actor=actor, model_id=model_id, point="model.create_version", files=files,
            source="link", source_ref=body.url[:128], description=body.description,
            lineage={"url": body.url},
        )  # fmt: skip
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return version_read(row, files=True)
