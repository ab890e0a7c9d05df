"""Model upload and download throughput through the API against a plain file copy.

    .venv/bin/python bench/model_transfer.py [--mib 1024]

Writes a file of ``--mib`` MiB of random bytes, starts Hangar (uvicorn on loopback, SQLite,
a fresh HANGAR_HOME on the same disk), and with the SDK — as ``hangar model upload`` and
``hangar model download`` do — uploads it as a model version (streamed, SHA-256 computed by
the client first and verified by the server, stored content-addressed) and downloads it back.
The baseline, in the same run and on the same disk, is ``shutil.copyfile`` of the file then
``fsync`` (the upload leaves its blob fsynced; the copy into the page cache alone is printed
too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from hangar.app import create_app
from hangar.client import HangarClient
from hangar.config import Settings

PASSWORD = "bench-admin-password"  # a throwaway server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="hangar-bench-transfer-", dir=Path.home()) as tmp:
        work = Path(tmp)
        source = work / "model.bin"
        with source.open("wb") as out:
            for _ in range(args.mib):
                out.write(os.urandom(1024 * 1024))
        started = time.perf_counter()
        shutil.copyfile(source, work / "copy.bin")
        cached = time.perf_counter() - started
        with (work / "copy.bin").open("rb+") as f:
            os.fsync(f.fileno())  # durably on disk, as the blob store leaves an upload
        copy = time.perf_counter() - started
        (work / "copy.bin").unlink()

        port = free_port()
        settings = Settings(home=work / "home", admin_password=PASSWORD, port=port)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with HangarClient(f"http://127.0.0.1:{port}", timeout=600) as client:
                client.login("admin", PASSWORD, "bench")
                ws = next(w.id for w in client.workspaces.list() if w.is_default)
                model = client.models.create(workspace_id=ws, name="bench-model")
                started = time.perf_counter()
                client.models.upload(model.id, source)
                upload = time.perf_counter() - started
                started = time.perf_counter()
                client.models.download(model.id, 1, "model.bin", work / "back.bin")
                download = time.perf_counter() - started
            assert (work / "back.bin").stat().st_size == size
        finally:
            server.should_exit = True
            thread.join(timeout=30)

    mib = args.mib
    print(f"{mib} MiB of random bytes, same disk:")
    print(f"  plain file copy   {copy:6.2f} s  {mib / copy:8.1f} MiB/s  (baseline: copy + fsync; "
          f"{cached:.2f} s into the page cache alone)")  # fmt: skip
    print(f"  API upload        {upload:6.2f} s  {mib / upload:8.1f} MiB/s  "
          f"{copy / upload:.2f}× the copy (client hash, stream, server hash, store)")  # fmt: skip
    print(f"  API download      {download:6.2f} s  {mib / download:8.1f} MiB/s  "
          f"{copy / download:.2f}× the copy")  # fmt: skip


if __name__ == "__main__":
    main()
