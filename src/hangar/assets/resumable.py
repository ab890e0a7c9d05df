"""Resumable model uploads (issue 7: "local upload ≤ 2 GB, resumable or chunked,
checksum-verified").

An upload session is a folder ``HANGAR_HOME/blobs/uploads/<id>`` holding ``meta.json`` (who,
which model, file name, declared size) and ``data``, the bytes received so far. The client
appends with ``PUT …?offset=N`` (N must be what the server holds: a mismatch answers 409 with
the server's offset, so a client that lost a connection asks and continues from there),
possibly in one request for the whole file, and finishes with the file's SHA-256. The server
hashes as the bytes arrive (the running hash is kept in memory between requests; after a
restart it is rebuilt from ``data``), so the client need not hash before sending: it hashes
while it sends. A wrong checksum discards the session, keeping nothing. Sessions untouched for
a day are swept at start-up. Appends are fsynced before they are acknowledged.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hangar.assets.blobs import Blob, BlobStore, read_chunks, write_hashed
from hangar.assets.manifests import Entry, Manifest, safe_path
from hangar.assets.registry import UPLOAD_LIMIT
from hangar.errors import Conflict, NotFound, ValidationFailed
from hangar.tenancy.access import Actor

STALE_SECONDS = 24 * 3600


@dataclass
class _Running:
    digest: Any  # hashlib's sha256 object
    offset: int
    lock: threading.Lock


_running: dict[str, _Running] = {}
_guard = threading.Lock()


def folder(home: Path) -> Path:
    return home / "blobs" / "uploads"


def begin(
    home: Path, *, actor: Actor, model_id: str, filename: str, size: int, description: str
) -> dict[str, Any]:
    """A new session for a file of ``size`` bytes (≤ 2 GB)."""
    safe_path(filename)
    if not 0 < size <= UPLOAD_LIMIT:
        raise ValidationFailed.field(
            "size", f"must be 1 to {UPLOAD_LIMIT:,} bytes (a model file is ≤ 2 GB, spec 07 "
            f"§1.2; got {size:,}): larger models go on tenant storage or a job's output",
        )  # fmt: skip
    upload_id = secrets.token_hex(12)
    path = folder(home) / upload_id
    path.mkdir(parents=True)
    meta = {
        "id": upload_id, "model_id": model_id, "tenant_id": actor.tenant_id,
        "user_id": actor.id, "filename": filename, "size": size, "description": description,
        "created_at": time.time(),
    }  # fmt: skip
    (path / "data").touch()
    _write_json(path / "meta.json", meta)
    return {**meta, "offset": 0}


def pending(home: Path, *, actor: Actor, model_id: str) -> list[dict[str, Any]]:
    """The caller's unfinished sessions for a model, with what the server holds."""
    found = []
    root = folder(home)
    for meta_file in sorted(root.glob("*/meta.json")) if root.is_dir() else ():
        meta = json.loads(meta_file.read_text())
        if meta["user_id"] == actor.id and meta["model_id"] == model_id:
            found.append({**meta, "offset": (meta_file.parent / "data").stat().st_size})
    return found


def status(home: Path, *, actor: Actor, upload_id: str) -> dict[str, Any]:
    path, meta = _session(home, actor, upload_id)
    return {**meta, "offset": (path / "data").stat().st_size}


def append(
    home: Path, *, actor: Actor, upload_id: str, offset: int, chunks: Iterable[bytes]
) -> int:
    """Append the body at ``offset`` (which must be what the server holds); returns the new
    offset once the bytes are on disk."""
    path, meta = _session(home, actor, upload_id)
    running = _state(upload_id)
    if not running.lock.acquire(blocking=False):
        raise Conflict(f"upload {upload_id} is receiving already: wait, then ask its offset")
    try:
        data = path / "data"
        held = data.stat().st_size
        if offset != held:
            raise Conflict(
                f"upload {upload_id} holds {held:,} bytes, not {offset:,}: continue from "
                f"offset {held}", offset=held,
            )  # fmt: skip
        if running.offset != held:  # a restart (or a crash mid-append): hash what is held
            running.digest = _hash_of(data)
            running.offset = held
        fd = os.open(data, os.O_WRONLY | os.O_APPEND)
        try:
            total = write_hashed(fd, chunks, running.digest, limit=int(meta["size"]),
                                 start=held)  # fmt: skip
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, held)  # a failed write is undone: the hash did not keep it
            running.digest, running.offset = _hash_of(data), held
            raise
        except BaseException:
            # The body broke off (or went past the declared size): what arrived was written
            # and hashed in full, so it stays, and the client continues from there.
            os.fsync(fd)
            running.offset = os.fstat(fd).st_size
            raise
        finally:
            os.close(fd)
        running.offset = total
        os.utime(path / "meta.json")
        return total
    finally:
        running.lock.release()


def finish(
    home: Path, *, actor: Actor, upload_id: str, sha256: str
) -> tuple[Manifest, dict[str, Any]]:
    """Check the whole file against ``sha256`` and store it as a blob; the session goes
    either way (a corrupted upload keeps nothing)."""
    path, meta = _session(home, actor, upload_id)
    data = path / "data"
    held = data.stat().st_size
    if held != int(meta["size"]):
        raise Conflict(
            f"upload {upload_id} holds {held:,} of {int(meta['size']):,} bytes: send the rest "
            f"from offset {held}", offset=held,
        )  # fmt: skip
    running = _state(upload_id)
    digest = running.digest.hexdigest() if running.offset == held else _hash_of(data).hexdigest()
    try:
        if digest != sha256.lower():
            raise ValidationFailed.field(
                "sha256", f"the bytes received hash to {digest}, not {sha256}: the upload was "
                "corrupted; nothing was kept, upload again",
            )  # fmt: skip
        store = BlobStore(home / "blobs")
        blob = store.adopt(data, Blob(digest, held))
        manifest = Manifest((Entry(safe_path(str(meta["filename"])), blob.sha256, blob.size),))
        return manifest, meta
    finally:
        discard(home, upload_id)


def abort(home: Path, *, actor: Actor, upload_id: str) -> None:
    _session(home, actor, upload_id)
    discard(home, upload_id)


def discard(home: Path, upload_id: str) -> None:
    with _guard:
        _running.pop(upload_id, None)
    shutil.rmtree(folder(home) / upload_id, ignore_errors=True)


def sweep(home: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove sessions untouched for ``older_than`` seconds (run at start)."""
    root = folder(home)
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than
    swept = 0
    for session in root.iterdir():
        meta = session / "meta.json"
        if not meta.exists() or meta.stat().st_mtime < cutoff:
            shutil.rmtree(session, ignore_errors=True)
            swept += 1
    return swept


def _session(home: Path, actor: Actor, upload_id: str) -> tuple[Path, dict[str, Any]]:
    path = folder(home) / upload_id
    if not upload_id.isalnum() or not (path / "meta.json").is_file():
        raise NotFound.of("upload", upload_id)
    meta: dict[str, Any] = json.loads((path / "meta.json").read_text())
    if meta["user_id"] != actor.id:
        raise NotFound.of("upload", upload_id)
    return path, meta


def _state(upload_id: str) -> _Running:
    with _guard:
        running = _running.get(upload_id)
        if running is None:
            running = _running[upload_id] = _Running(hashlib.sha256(), -1, threading.Lock())
        return running


def _hash_of(path: Path) -> Any:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in read_chunks(f, 4 * 1024 * 1024):
            digest.update(chunk)
    return digest


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data))
    temp.replace(path)
