"""The model registry (``/api/v1/models``): records, versions, uploads, downloads, sharing."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

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
from hangar.client.errors import HangarLookupError
from hangar.client.transport import Transport, payload, segment

MODELS = "/api/v1/models"
CHUNK = 1024 * 1024
Progress = Callable[[int], None]  # called with the bytes just sent or received


class ModelsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, workspace: str) -> builtins.list[ModelRead]:
        return self._t.get_list(ModelRead, MODELS, params={"workspace": workspace})

    def get(self, model_id: str) -> ModelRead:
        return self._t.get(ModelRead, f"{MODELS}/{segment(model_id)}")

    def find(self, ref: str, *, workspace: str) -> ModelRead:
        """By id or name, in ``workspace``."""
        for model in self.list(workspace=workspace):
            if ref in (model.id, model.name):
                return model
        raise HangarLookupError("model", ref)

    def create(self, *, workspace_id: str, name: str, description: str = "") -> ModelRead:
        body = payload(ModelCreate, workspace_id=workspace_id, name=name, description=description)
        return self._t.send(ModelRead, "POST", MODELS, json=body)

    def upload(
        self, model_id: str, file: Path, *, name: str | None = None, description: str = "",
        progress: Progress | None = None,
    ) -> VersionRead:  # fmt: skip
        """The next version from ``file``, streamed; its SHA-256 (computed first) lets the
        server refuse a corrupted upload."""
        digest = hashlib.sha256()
        with file.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)

        def body() -> Iterator[bytes]:
            with file.open("rb") as f:
                while chunk := f.read(CHUNK):
                    if progress is not None:
                        progress(len(chunk))
                    yield chunk

        params = {"filename": name or file.name, "sha256": digest.hexdigest(),
                  "description": description}  # fmt: skip
        response = self._t.request(
            "PUT", f"{MODELS}/{segment(model_id)}/versions/upload", params=params, content=body()
        )
        return self._t.parse(VersionRead, response)

    def save_from_workload(
        self, model_id: str, *, workload_id: str, path: str = "", description: str = ""
    ) -> VersionRead:
        body = payload(FromWorkload, workload_id=workload_id, path=path, description=description)
        return self._t.send(
            VersionRead, "POST", f"{MODELS}/{segment(model_id)}/versions/from-workload", json=body
        )

    def version(self, model_id: str, number: int) -> VersionRead:
        return self._t.get(VersionRead, f"{MODELS}/{segment(model_id)}/versions/{number}")

    def download(
        self, model_id: str, number: int, path: str, dest: Path, *,
        progress: Progress | None = None,
    ) -> Path:  # fmt: skip
        """One file of a version into ``dest``, streamed."""
        url = f"{MODELS}/{segment(model_id)}/versions/{number}/files/{path}"
        with self._t.stream("GET", url) as response, dest.open("wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        return dest

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
