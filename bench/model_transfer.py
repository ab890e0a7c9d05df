"""Model upload and download throughput through the API against a plain file copy.

    .venv/bin/python bench/model_transfer.py [--mib 1024] [--runs 3]

Writes a file of ``--mib`` MiB of random bytes, starts Hangar as ``hangar serve`` runs it
(``hangar.serve``: uvicorn with httptools and uvloop, on loopback, SQLite, a fresh HANGAR_HOME
on the same disk) in a process of its own, and with the SDK — as ``hangar model upload`` and
``hangar model download`` do — uploads it as a model version (a resumable upload session, the
file streamed in one request while the client hashes it in a second thread; the server hashes
as it receives, stores content-addressed and fsynced, and checks the client's SHA-256 at the
end) and downloads it back. The baseline, on the same disk, is ``shutil.copyfile`` of the file then
``fsync`` (the upload leaves its blob fsynced; the copy into the page cache alone is printed
too). Each of ``--runs`` rounds measures all three; the best of each is printed (the machine
may be shared, and the best is the least disturbed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from hangar.client import HangarClient

PASSWORD = "bench-admin-password"  # a throwaway server
SERVE = """
import sys
from pathlib import Path
from hangar.config import Settings
from hangar.serve import serve
serve(Settings(home=Path(sys.argv[1]), port=int(sys.argv[2])), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def copy_once(source: Path, work: Path) -> tuple[float, float]:
    """``shutil.copyfile`` then ``fsync``: the seconds into the page cache, and in all."""
    target = work / "copy.bin"
    started = time.perf_counter()
    shutil.copyfile(source, target)
    cached = time.perf_counter() - started
    with target.open("rb+") as f:
        os.fsync(f.fileno())  # durably on disk, as the blob store leaves an upload
    copy = time.perf_counter() - started
    target.unlink()
    return cached, copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    copies: list[tuple[float, float]] = []
    uploads: list[float] = []
    downloads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hangar-bench-transfer-", dir=Path.home()) as tmp:
        work = Path(tmp)
        source = work / "model.bin"
        with source.open("wb") as out:
            for _ in range(args.mib):
                out.write(os.urandom(1024 * 1024))

        port = free_port()
        # The server as `hangar serve` runs it (hangar.serve: uvicorn, httptools, uvloop), in
        # a process of its own, as in production: the client does not share its interpreter.
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(work / "home"), str(port)],
            env={**os.environ, "HANGAR_ADMIN_PASSWORD": PASSWORD},
        )
        deadline = time.monotonic() + 60
        while not ready(port):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the Hangar server did not start")
            time.sleep(0.1)
        try:
            with HangarClient(f"http://127.0.0.1:{port}", timeout=600) as client:
                client.login("admin", PASSWORD, "bench")
                ws = next(w.id for w in client.workspaces.list() if w.is_default)
                model = client.models.create(workspace_id=ws, name="bench-model")
                for _ in range(args.runs):
                    copies.append(copy_once(source, work))
                    started = time.perf_counter()
                    made = client.models.upload(model.id, source)
                    uploads.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    client.models.download(model.id, made.number, "model.bin", work / "back.bin")
                    downloads.append(time.perf_counter() - started)
                    assert (work / "back.bin").stat().st_size == size
                    (work / "back.bin").unlink()
        finally:
            server.terminate()
            server.wait(timeout=30)

    mib = args.mib
    cached, copy = min(copies, key=lambda c: c[1])
    upload, download = min(uploads), min(downloads)
    every = "; ".join(
        f"copy {c:.2f} s, upload {u:.2f} s, download {d:.2f} s"
        for (_, c), u, d in zip(copies, uploads, downloads, strict=True)
    )
    print(f"{mib} MiB of random bytes, same disk, best of {args.runs} runs ({every}):")
    print(f"  plain file copy   {copy:6.2f} s  {mib / copy:8.1f} MiB/s  (baseline: copy + fsync; "
          f"{cached:.2f} s into the page cache alone)")  # fmt: skip
    print(f"  API upload        {upload:6.2f} s  {mib / upload:8.1f} MiB/s  "
          f"{copy / upload:.2f}× the copy (client hash, stream, server hash, store)")  # fmt: skip
    print(f"  API download      {download:6.2f} s  {mib / download:8.1f} MiB/s  "
          f"{copy / download:.2f}× the copy")  # fmt: skip


if __name__ == "__main__":
    main()
