"""Resumable model uploads against a real ``hangar server`` process: offsets must match, a
connection that breaks mid-body keeps what arrived, a server killed mid-upload resumes after
its restart (the running hash rebuilt from disk), the SDK continues an unfinished upload of the
same file, and a wrong checksum keeps nothing."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hangar.client import HangarClient
from tests.server_process import Server
from tests.support import ADMIN_PASSWORD

pytestmark = pytest.mark.slow
MODELS = "/api/v1/models"
MIB = 1024 * 1024


def login(server: Server) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=server.url, timeout=60)
    token = client.post("/api/v1/auth/token",
                        json={"username": "admin", "password": ADMIN_PASSWORD}).json()  # fmt: skip
    return client, {"Authorization": f"Bearer {token['token']}"}


def new_model(client: httpx.Client, auth: dict[str, str]) -> str:
    ws = next(w for w in client.get("/api/v1/workspaces", headers=auth).json() if w["is_default"])
    made = client.post(MODELS, headers=auth, json={"workspace_id": ws["id"], "name": "big"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def half_then_hang_up(server: Server, auth: dict[str, str], upload: str, data: bytes) -> None:
    """A PUT announcing the whole file that sends half of it and closes the connection."""
    head = (
        f"PUT /api/v1/models/uploads/{upload}?offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head.encode() + data[: len(data) // 2])


def test_uploads_resume_after_a_broken_connection_and_a_killed_server(tmp_path: Path) -> None:
    data = os.urandom(12 * MIB)
    file = tmp_path / "weights.bin"
    file.write_bytes(data)
    server = Server(tmp_path / "home", None)
    server.start()
    try:
        client, auth = login(server)
        model = new_model(client, auth)
        opened = client.post(f"{MODELS}/{model}/uploads", headers=auth,
                             json={"filename": "weights.bin", "size": len(data)})  # fmt: skip
        assert opened.status_code == 201 and opened.json()["offset"] == 0
        upload = opened.json()["id"]
        wrong = client.put(f"{MODELS}/uploads/{upload}", params={"offset": 5}, headers=auth,
                           content=data[:10])  # fmt: skip
        assert wrong.status_code == 409 and "continue from offset 0" in wrong.json()["message"]

        half_then_hang_up(server, auth, upload, data)
        held = wait_for_offset(client, auth, upload)
        assert 0 < held <= len(data) // 2

        server.kill()  # mid-upload: the in-memory hash is gone with it
        server.start()
        client, auth = login(server)
        status = client.get(f"{MODELS}/uploads/{upload}", headers=auth).json()
        assert status["offset"] == held

        sent: list[int] = []
        sdk = HangarClient(server.url, token=auth["Authorization"].split()[1])
        version = sdk.models.upload(model, file, progress=sent.append)  # resumes at `held`
        assert (version.label, version.size) == ("V1", len(data))
        assert sum(sent) == len(data) and sent[0] == held
        got = client.get(f"{MODELS}/{model}/versions/1/files/weights.bin", headers=auth)
        assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
        assert list((server.home / "blobs" / "uploads").iterdir()) == []
    finally:
        server.stop()


def wait_for_offset(client: httpx.Client, auth: dict[str, str], upload: str) -> int:
    deadline = time.monotonic() + 30
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = client.get(f"{MODELS}/uploads/{upload}", headers=auth).json()
        if last["offset"]:
            time.sleep(0.3)  # let the server finish writing what arrived
            return int(client.get(f"{MODELS}/uploads/{upload}", headers=auth).json()["offset"])
        time.sleep(0.05)
    raise AssertionError(f"nothing arrived: {last}")


def test_a_wrong_checksum_or_size_keeps_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path / "home", None)
    server.start()
    try:
        client, auth = login(server)
        model = new_model(client, auth)
        too_big = client.post(f"{MODELS}/{model}/uploads", headers=auth,
                              json={"filename": "x.bin", "size": 3 * 1024**3})  # fmt: skip
        assert too_big.status_code == 422 and "2 GB" in too_big.json()["message"]
        upload = client.post(f"{MODELS}/{model}/uploads", headers=auth,
                             json={"filename": "x.bin", "size": 4}).json()["id"]  # fmt: skip
        over = client.put(f"{MODELS}/uploads/{upload}", params={"offset": 0}, headers=auth,
                          content=b"12345")  # fmt: skip
        assert over.status_code == 422
        early = client.post(f"{MODELS}/uploads/{upload}/complete", headers=auth,
                            json={"sha256": "0" * 64})  # fmt: skip
        assert early.status_code == 409 and "send the rest" in early.json()["message"]
        done = client.put(f"{MODELS}/uploads/{upload}", params={"offset": 0}, headers=auth,
                          content=b"1234")  # fmt: skip
        assert done.json()["offset"] == 4
        bad = client.post(f"{MODELS}/uploads/{upload}/complete", headers=auth,
                          json={"sha256": "0" * 64})  # fmt: skip
        assert bad.status_code == 422 and "nothing was kept" in bad.json()["message"]
        assert client.get(f"{MODELS}/uploads/{upload}", headers=auth).status_code == 404
        assert client.get(f"{MODELS}/{model}", headers=auth).json()["versions"] == []
    finally:
        server.stop()
