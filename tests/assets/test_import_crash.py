"""A ``hangar server`` SIGKILLed in the middle of a dataset import: after the restart the
dataset says the import failed and can be imported again, the records already there are
intact, and the staged files are gone."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import Server
from tests.support import ADMIN_PASSWORD

pytestmark = pytest.mark.slow
ROWS = b'{"instruction": "a", "input": "", "output": "b"}\n' * 2
BOUNDARY = "hangar-crash-boundary"


def slow_body(stop: threading.Event) -> Iterator[bytes]:
    """A multipart upload that sends its first bytes and then stalls until told to stop."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="more.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    yield ROWS
    while not stop.wait(0.2):
        yield b""
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_a_server_killed_during_an_import_loses_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path / "home", None)
    server.start()
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        token = client.post("/api/v1/auth/token",
                            json={"username": "admin", "password": ADMIN_PASSWORD}).json()  # fmt: skip
        auth = {"Authorization": f"Bearer {token['token']}"}
        ws = next(w for w in client.get("/api/v1/workspaces", headers=auth).json()
                  if w["is_default"])  # fmt: skip
        made = client.post(
            "/api/v1/datasets/annotated",
            headers=auth,
            json={"workspace_id": ws["id"], "name": "sft", "data_type": "llm", "template": "sft"},
        )
        dataset = made.json()["id"]
        url = f"/api/v1/datasets/{dataset}/versions/1.0/import"
        first = client.post(url, headers=auth, files=[("files", ("a.jsonl", ROWS))])
        assert first.status_code == 200 and first.json()["records"] == 2, first.text

        stop = threading.Event()
        headers = {**auth, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(server.url + url, headers=headers, content=slow_body(stop), timeout=60)

        sender = threading.Thread(target=upload, daemon=True)
        sender.start()
        deadline = time.monotonic() + 30
        while client.get(f"/api/v1/datasets/{dataset}", headers=auth).json()["status"] != (
            "importing"
        ):  # fmt: skip
            assert time.monotonic() < deadline, "the import never started"
            time.sleep(0.05)
        server.kill()
        stop.set()
        sender.join(timeout=30)

        server.start()
        client = httpx.Client(base_url=server.url, timeout=30)
        got = client.get(f"/api/v1/datasets/{dataset}", headers=auth).json()
        assert got["status"] == "import_failed", got
        assert "server stopped during the import" in got["status_reason"]
        assert got["versions"][0]["records"] == 2
        staging = server.home / "datasets" / dataset / "staging"
        assert not staging.exists() or list(staging.iterdir()) == []
        again = client.post(url, headers=auth, files=[("files", ("b.jsonl", ROWS + ROWS))])
        assert again.status_code == 200, again.text
        assert again.json()["records"] == 6
        records = client.get(f"{url.rsplit('/', 1)[0]}/records", headers=auth,
                             params={"limit": 100}).json()  # fmt: skip
        assert len(records) == 6 and json.dumps(records)
    finally:
        server.stop()
