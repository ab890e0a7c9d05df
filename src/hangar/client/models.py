"""The model registry (``/api/v1/models``): records, versions, uploads, downloads, sharing;
and code packages (``/api/v1/code-packages``): multipart uploads of up to 5 files, re-upload,
save from a dev environment, downloads."""

from __future__ import annotations

import builtins
import hashlib
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from hangar.assets.code_schemas import CodePackageRead, FromDevEnv, FromStorage
from hangar.assets.model_schemas import (
    AliasRead,
    FromWorkload,
    ImportCreate,
    ModelCreate,
    ModelRead,
    SharedRead,
    TokenCreate,
    TokenCreated,
    TokenRef,
    UploadComplete,
    UploadCreate,
    UploadRead,
    VersionRead,
)
from hangar.assets.model_schemas import (
    FromStorage as ModelFromStorage,
)
from hangar.client import multipart
from hangar.client.errors import HangarAPIError, HangarConnectionError, by_name_or_id
from hangar.client.multipart import CHUNK, Progress
from hangar.client.transport import Transport, payload, segment

MODELS = "/api/v1/models"
CODE = "/api/v1/code-packages"
RETRIES = 5


class _Digest:
    """The SHA-256 of a file, computed in a thread of its own while the file is sent
    (hashlib lets go of the GIL, so hashing overlaps with sending)."""

    def __init__(self, file: Path) -> None:
        self._value = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(file,), daemon=True)
        self._thread.start()

    def _run(self, file: Path) -> None:
        try:
            with file.open("rb") as f:
                self._value = hashlib.file_digest(f, "sha256").hexdigest()
        except BaseException as exc:  # raised in the caller's thread by result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class ModelsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, workspace: str) -> builtins.list[ModelRead]:
        return self._t.get_list(ModelRead, MODELS, params={"workspace": workspace})

    def get(self, model_id: str) -> ModelRead:
        return self._t.get(ModelRead, f"{MODELS}/{segment(model_id)}")

    def find(self, ref: str, *, workspace: str) -> ModelRead:
        """By name or id, in ``workspace``."""
        return by_name_or_id(self.list(workspace=workspace), ref, "model")

    def create(self, *, workspace_id: str, name: str, description: str = "") -> ModelRead:
        body = payload(ModelCreate, workspace_id=workspace_id, name=name, description=description)
        return self._t.send(ModelRead, "POST", MODELS, json=body)

    def upload(
        self, model_id: str, file: Path, *, name: str | None = None, description: str = "",
        progress: Progress | None = None, attempts: int = RETRIES,
    ) -> VersionRead:  # fmt: skip
        """The next version from ``file``, through a resumable upload: an unfinished upload of
        the same file name and size is continued; a broken connection is retried from what the
        server holds (``attempts`` times). The file's SHA-256 is computed while it is sent and
        checked by the server at the end, so a corrupted upload keeps nothing."""
        size = file.stat().st_size
        filename = name or file.name
        base = f"{MODELS}/{segment(model_id)}/uploads"
        session = next((u for u in self._t.get_list(UploadRead, base)
                        if u.filename == filename and u.size == size), None)  # fmt: skip
        if session is None:
            body = payload(UploadCreate, filename=filename, size=size, description=description)
            session = self._t.send(UploadRead, "POST", base, json=body)
        hashing = _Digest(file)
        offset, failures = session.offset, 0
        if progress is not None and offset:
            progress(offset)
        while offset < size:
            try:
                with file.open("rb") as f:
                    f.seek(offset)
                    response = self._t.upload(
                        "PUT", f"{MODELS}/uploads/{session.id}", params={"offset": offset},
                        source=f, progress=progress,
                    )  # fmt: skip
                offset = self._t.parse(UploadRead, response).offset
            except (HangarConnectionError, HangarAPIError) as exc:
                if isinstance(exc, HangarAPIError) and exc.status not in (409, 500, 502, 503):
                    raise
                failures += 1
                if failures > attempts:
                    raise
                time.sleep(min(0.5 * 2**failures, 10))
                held = self._t.get(UploadRead, f"{MODELS}/uploads/{session.id}").offset
                if progress is not None:
                    progress(held - offset)  # negative when the server kept less than sent
                offset = held
        body = payload(UploadComplete, sha256=hashing.result())
        return self._t.send(VersionRead, "POST", f"{MODELS}/uploads/{session.id}/complete",
                            json=body)  # fmt: skip

    def save_from_workload(
        self, model_id: str, *, workload_id: str, path: str = "", description: str = ""
    ) -> VersionRead:
        body = payload(FromWorkload, workload_id=workload_id, path=path, description=description)
        return self._t.send(
            VersionRead, "POST", f"{MODELS}/{segment(model_id)}/versions/from-workload", json=body
        )

    def link_storage(
        self, model_id: str, *, storage_id: str, path: str = "", description: str = ""
    ) -> VersionRead:
        """The next version as a folder on a registered storage (mounted, never copied)."""
        body = payload(ModelFromStorage, storage_id=storage_id, path=path,
                       description=description)  # fmt: skip
        return self._t.send(
            VersionRead, "POST", f"{MODELS}/{segment(model_id)}/versions/from-storage", json=body
        )

    def version(self, model_id: str, number: int) -> VersionRead:
        return self._t.get(VersionRead, f"{MODELS}/{segment(model_id)}/versions/{number}")

    def download(
        self, model_id: str, number: int, path: str, dest: Path, *,
        progress: Progress | None = None,
    ) -> Path:  # fmt: skip
        """One file of a version into ``dest``, streamed."""
        url = f"{MODELS}/{segment(model_id)}/versions/{number}/files/{path}"
        self._t.download(url, dest, progress=progress)
        return dest

    def export(
        self, model_id: str, number: int, dest: Path, *, progress: Progress | None = None
    ) -> Path:
        """The whole version as a zip archive into ``dest``, streamed."""
        self._t.download(f"{MODELS}/{segment(model_id)}/versions/{number}/export", dest,
                         progress=progress)  # fmt: skip
        return dest

    def import_link(self, model_id: str, url: str, *, description: str = "") -> VersionRead:
        """The next version from an archive at ``url``, fetched and unpacked by the server."""
        return self._t.send(
            VersionRead, "POST", f"{MODELS}/{segment(model_id)}/versions/from-link",
            json={"url": url, "description": description},
        )  # fmt: skip

    def aliases(self, model_id: str) -> builtins.list[AliasRead]:
        return self._t.get_list(AliasRead, f"{MODELS}/{segment(model_id)}/aliases")

    def set_alias(self, model_id: str, alias: str, number: int) -> builtins.list[AliasRead]:
        """Point ``alias`` (e.g. ``prod``) at version ``number``; returns all aliases."""
        path = f"{MODELS}/{segment(model_id)}/aliases/{segment(alias)}"
        response = self._t.request("PUT", path, json={"version": number})
        return [AliasRead.model_validate(a) for a in response.json()]

    def remove_alias(self, model_id: str, alias: str) -> None:
        self._t.request("DELETE", f"{MODELS}/{segment(model_id)}/aliases/{segment(alias)}")

    def delete(self, model_id: str, *, version: int | None = None) -> None:
        path = f"{MODELS}/{segment(model_id)}"
        self._t.request("DELETE", path if version is None else f"{path}/versions/{version}")

    def share(self, model_id: str, number: int, *, validity: str = "permanent") -> TokenCreated:
        body = payload(TokenCreate, validity=validity)
        url = f"{MODELS}/{segment(model_id)}/versions/{number}/share-tokens"
        return self._t.send(TokenCreated, "POST", url, json=body)

    def revoke(self, token_id: str) -> None:
        self._t.request("DELETE", f"{MODELS}/share-tokens/{segment(token_id)}")

    def resolve(self, token: str) -> SharedRead:
        body = payload(TokenRef, token=token)
        return self._t.send(SharedRead, "POST", f"{MODELS}/share-tokens/resolve", json=body)

    def import_token(
        self, token: str, *, workspace_id: str | None = None, name: str | None = None,
        model_id: str | None = None,
    ) -> VersionRead:  # fmt: skip
        body = payload(
            ImportCreate, token=token, workspace_id=workspace_id, name=name, model_id=model_id
        )
        return self._t.send(VersionRead, "POST", f"{MODELS}/import", json=body)


class CodePackagesAPI:
    """Code packages (spec 07 §4): files of a training job or service, ≤ 5 per upload and
    each ≤ 400 MB (archives are kept as they are: unpack them in the start command)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(
        self, *, workspace: str, q: str = "", created_from: str = "", created_to: str = ""
    ) -> builtins.list[CodePackageRead]:
        """The workspace's packages, newest first; ``q`` searches names, ``created_from`` and
        ``created_to`` (dates, inclusive, or ISO 8601 date-times) the creation time."""
        params = {"workspace": workspace, "q": q or None, "created_from": created_from or None,
                  "created_to": created_to or None}  # fmt: skip
        return self._t.get_list(CodePackageRead, CODE, params=params)

    def get(self, package_id: str) -> CodePackageRead:
        """A package with its files (``manifest``)."""
        return self._t.get(CodePackageRead, f"{CODE}/{segment(package_id)}")

    def find(self, ref: str, *, workspace: str) -> CodePackageRead:
        """By name or id, in ``workspace``."""
        return by_name_or_id(self.list(workspace=workspace), ref, "code package")

    def create(
        self, *, workspace_id: str, name: str, files: Sequence[Path], description: str = "",
        start_file: str = "", progress: Progress | None = None,
    ) -> CodePackageRead:  # fmt: skip
        """A package from 1-5 local files, streamed as one multipart upload."""
        fields = {"workspace_id": workspace_id, "name": name, "description": description,
                  "start_file": start_file}  # fmt: skip
        return self._upload(CODE, fields, files, progress)

    def reupload(
        self, package_id: str, files: Sequence[Path], *, start_file: str = "",
        progress: Progress | None = None,
    ) -> CodePackageRead:  # fmt: skip
        """Replace the package's files with 1-5 local files."""
        url = f"{CODE}/{segment(package_id)}/upload"
        return self._upload(url, {"start_file": start_file}, files, progress)

    def save_from_workload(
        self, *, workload_id: str, name: str, path: str = "", description: str = "",
        start_file: str = "", workspace_id: str | None = None,
    ) -> CodePackageRead:  # fmt: skip
        """Save to code package: a new package from a dev environment's home (or ``path``)."""
        body = payload(FromDevEnv, workload_id=workload_id, name=name, path=path,
                       description=description, start_file=start_file,
                       workspace_id=workspace_id)  # fmt: skip
        return self._t.send(CodePackageRead, "POST", f"{CODE}/from-workload", json=body)

    def create_on_storage(
        self, *, workspace_id: str, name: str, storage_id: str, path: str = "",
        description: str = "", start_file: str = "",
    ) -> CodePackageRead:  # fmt: skip
        """A package that is a folder on a registered storage (mounted as it is)."""
        body = payload(FromStorage, workspace_id=workspace_id, name=name, storage_id=storage_id,
                       path=path, description=description, start_file=start_file)  # fmt: skip
        return self._t.send(CodePackageRead, "POST", f"{CODE}/from-storage", json=body)

    def download(
        self, package_id: str, path: str, dest: Path, *, progress: Progress | None = None
    ) -> Path:
        """One file of the package into ``dest``, streamed."""
        url = f"{CODE}/{segment(package_id)}/files/{path}"
        with self._t.stream("GET", url) as response, dest.open("wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        return dest

    def delete(self, package_id: str) -> None:
        self._t.request("DELETE", f"{CODE}/{segment(package_id)}")

    def _upload(
        self, url: str, fields: dict[str, str], files: Sequence[Path], progress: Progress | None
    ) -> CodePackageRead:
        """POST ``fields`` and ``files`` as ``multipart/form-data``, the files read in 1 MiB
        chunks as they are sent (never held in memory whole)."""
        named = [(path.name, path) for path in files]
        response = multipart.post(self._t, url, fields=fields, files=named, progress=progress)
        return self._t.parse(CodePackageRead, response)
