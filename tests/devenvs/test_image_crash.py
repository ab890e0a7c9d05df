"""Crash safety of "make image": a real ``hangar server`` killed (SIGKILL) while it copies an
environment's software layer builds the image completely after a restart, with nothing half
copied left behind."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hangar.images.layers import software_host_dir
from hangar.runtimes.software import layer_site_packages
from tests.devenvs.support import DEVENVS, env_body
from tests.server_process import Server
from tests.support import ADMIN_PASSWORD

FILES = 4000  # enough that a copy takes a moment on this machine


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    process = Server(tmp_path / "home", None, extra_env={"HANGAR_DEVENV_LOOP_SECONDS": "0.2"})
    process.start()
    yield process
    process.stop()


def login(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    answer = client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


def fake_installs(home: Path, env_id: str) -> Path:
    """A software layer as pip leaves it (the environment never has to run for the copy)."""
    packages = layer_site_packages(software_host_dir(home, env_id))
    for i in range(FILES):
        module = packages / f"pkg{i % 40}" / f"mod{i}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(f"VALUE = {i}\n" + "# padding\n" * 50)
    return packages


def test_a_server_killed_mid_copy_finishes_the_image_after_restart(server: Server) -> None:
    client = login(server)
    ws = client.get("/api/v1/workspaces").json()[0]
    env = client.post(DEVENVS, json=env_body(ws["id"], "src")).json()
    fake_installs(server.home, env["id"])
    made = client.post(f"{DEVENVS}/{env['id']}/image", json={"name": "big"})
    assert made.status_code == 202, made.text
    image_id = made.json()["id"]
    partial = server.home / "images" / f"{image_id}.partial"
    final = server.home / "images" / image_id

    deadline = time.monotonic() + 30
    while not partial.exists():  # the builder loop started copying
        assert time.monotonic() < deadline and not final.exists(), "the copy was not caught"
        time.sleep(0.005)
    server.kill()
    copied = sum(len(files) for _, _, files in os.walk(partial))
    assert partial.exists() and not final.exists() and copied < FILES, copied

    server.start()  # the row is still "building": the loop copies again from scratch
    client = login(server)
    deadline = time.monotonic() + 60
    while (image := client.get(f"/api/v1/images/{image_id}").json())["status"] == "building":
        assert time.monotonic() < deadline, image
        time.sleep(0.1)
    assert image["status"] == "ready", image["status_reason"]
    assert image["status_reason"].startswith(f"{FILES} files")
    assert not partial.exists()
    assert sum(len(files) for _, _, files in os.walk(final / "site-packages")) == FILES
