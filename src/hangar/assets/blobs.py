"""Content-addressed blob storage under ``HANGAR_HOME/blobs``: identical files are kept once.

A blob is named by the SHA-256 of its bytes (``blobs/ab/cdef…``). Writing streams into a
temporary file in the same file system while hashing and counting, checks the size limit and
an expected checksum if one was given, fsyncs, then renames it into place — atomic: a reader
sees a whole blob or none, and a crash leaves at most a temporary file (removed by
:meth:`BlobStore.sweep_temporary`). A blob already present is not written again. Blobs are
read-only on disk; nothing here deletes one that a manifest still references (the caller's
accounting in ``assets.usage`` decides).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hangar.errors import ValidationFailed

CHUNK = 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Blob:
    sha256: str
    size: int


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise ValidationFailed.field("sha256", f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(
        self, chunks: Iterable[bytes], *, limit: int | None = None, expect: str | None = None
    ) -> Blob:
        """Store the bytes of ``chunks``. ``limit``: refuse more bytes than this (nothing is
        kept); ``expect``: the SHA-256 they must have (a corrupted upload keeps nothing).

        This thread hashes while a writer thread writes (hashlib and ``os.write`` let go of
        the GIL, so the two overlap) and starts the write-back to disk as it goes, so the
        closing ``fsync`` has little left to do. ``chunks`` must not change once yielded."""
        digest = hashlib.sha256()
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="put-")
        temp = Path(name)
        try:
            try:
                size = write_hashed(fd, chunks, digest, limit=limit)
                os.fsync(fd)
            finally:
                os.close(fd)
            sha = digest.hexdigest()
            if expect is not None and sha != expect.lower():
                raise ValidationFailed.field(
                    "sha256", f"the bytes received hash to {sha}, not {expect}: the upload was "
                    "corrupted or incomplete; nothing was kept",
                )  # fmt: skip
            return self.adopt(temp, Blob(sha, size))
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def adopt(self, finished: Path, blob: Blob) -> Blob:
        """Move ``finished`` (a complete, fsynced file on this file system whose SHA-256 the
        caller computed: ``blob``) into place; a blob already there is kept instead."""
        final = self.path(blob.sha256)
        if final.is_file():
            finished.unlink()
        else:
            final.parent.mkdir(exist_ok=True)
            finished.chmod(0o444)
            finished.replace(final)
        return blob

    def put_file(self, source: Path, *, limit: int | None = None) -> Blob:
        with source.open("rb") as f:
            return self.put(read_chunks(f), limit=limit)

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def sweep_temporary(self, older_than_seconds: float = 3600) -> int:
        """Remove temporary files a crash left behind; returns how many."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for leftover in self.tmp.iterdir():
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed


class _Writer:
    """Writes chunks to ``fd`` in a thread of its own, in order, at most ``AHEAD`` bytes
    behind; every ``FLUSH_EVERY`` bytes it waits for the disk (``fdatasync``), which also
    keeps the file's dirty pages from piling up for the final ``fsync``. A write error is
    raised by the next :meth:`write` or by :meth:`close`."""

    AHEAD = 16 * 1024 * 1024
    FLUSH_EVERY = 64 * 1024 * 1024

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.error: OSError | None = None
        self.pending: deque[bytes | None] = deque()
        self.pending_bytes = 0
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="blob-writer", daemon=True)
        self.thread.start()

    def write(self, chunk: bytes) -> None:
        with self.changed:
            while self.pending_bytes >= self.AHEAD and self.error is None:
                self.changed.wait()
            if self.error is not None:
                raise self.error
            self.pending.append(chunk)
            self.pending_bytes += len(chunk)
            self.changed.notify_all()

    def close(self) -> None:
        """Wait for the writes queued so far (also on the way out of an error)."""
        with self.changed:
            self.pending.append(None)
            self.changed.notify_all()
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        unflushed = 0
        while True:
            with self.changed:
                while not self.pending:
                    self.changed.wait()
                chunk = self.pending.popleft()
            if chunk is None:
                return
            if self.error is None:
                try:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(self.fd, view) :]
                    unflushed += len(chunk)
                    if unflushed >= self.FLUSH_EVERY:
                        os.fdatasync(self.fd)
                        unflushed = 0
                except OSError as exc:
                    self.error = exc
            with self.changed:
                self.pending_bytes -= len(chunk)
                self.changed.notify_all()


def write_hashed(
    fd: int, chunks: Iterable[bytes], digest: hashlib._Hash, *, limit: int | None = None,
    start: int = 0,
) -> int:  # fmt: skip
    """Write ``chunks`` to ``fd`` while this thread hashes them into ``digest`` (a writer
    thread writes meanwhile: hashlib and ``os.write`` let go of the GIL, so the two overlap).
    ``start`` bytes are there already; refuses going past ``limit`` in total. Returns the new
    total. ``chunks`` must not change once yielded."""
    size = start
    writer = _Writer(fd)
    try:
        for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                raise ValidationFailed.field(
                    "file", f"larger than the limit of {limit:,} bytes; nothing was kept"
                )
            writer.write(chunk)
            digest.update(chunk)  # meanwhile the writer thread writes it
    finally:
        writer.close()
    return size


def read_chunks(f: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    while chunk := f.read(size):
        yield chunk
