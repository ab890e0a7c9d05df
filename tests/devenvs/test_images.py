""" "Make image" end to end (spec 03 §1.7): a package pip-installed in a real JupyterLab
environment becomes an image; another environment and a training job selected with it import
the package; /work/home, /work/cache and the environment's other files stay out of it. The
image builder is stepped by the test (the server's loops run once an hour here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.devenvs.loop import DevEnvLoop
from hangar.images.making import ImageBuilder
from tests import support
from tests.devenvs.support import (
    DEVENVS,
    env_body,
    run_code,
    start_kernel,
    wait_answering,
    wait_for,
)
from tests.support import Hangar, assert_error, running_hangar

IMAGES = "/api/v1/images"
JOBS = "/api/v1/jobs"

INSTALL = """
import pathlib, subprocess, sys
src = pathlib.Path('/work/home/src/tinypkg')
src.mkdir(parents=True, exist_ok=True)
(src / '__init__.py').write_text('X = 42\\n')
(src.parent / 'pyproject.toml').write_text(
    '[project]\\nname = "tinypkg"\\nversion = "0.1"\\n'
    '[project.scripts]\\ntinycmd = "tinypkg:X"\\n'
    '[build-system]\\nrequires = ["setuptools"]\\nbuild-backend = "setuptools.build_meta"\\n')
pathlib.Path('/work/cache/big.bin').write_bytes(b'x' * 4096)
pathlib.Path('/work/home/data.txt').write_text('mine')
done = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index',
                       '--no-build-isolation', str(src.parent)], capture_output=True, text=True)
print(sys.prefix, done.returncode, done.stderr[-2000:])
"""


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    settings = support.test_settings(tmp_path / "home", db_url, devenv_loop_seconds=3600)
    with running_hangar(settings) as h:
        try:
            yield h
        finally:
            delete_every_env(h)


def running_env(h: Hangar, name: str, **changes: Any) -> dict[str, Any]:
    ws = h.default_workspace()
    env = h.admin.call("POST", DEVENVS, 201, json=env_body(ws["id"], name, start=True, **changes))
    env = wait_for(h.admin, env["id"], "Running", "Failed")
    assert env["status"] == "Running", env["state_reason"]
    wait_answering(h.admin, f"/dev/{env['id']}/api/status")
    return env


def run(h: Hangar, env_id: str, code: str) -> str:
    return run_code(h.client, h.admin, env_id, start_kernel(h.admin, env_id), code)


def test_an_installed_package_becomes_an_image_that_environments_and_jobs_use(
    live: Hangar,
) -> None:
    h = live
    source = running_env(h, "builder")
    prefix, code, errors = run(h, source["id"], INSTALL).split(" ", 2)
    assert (prefix, code) == ("/work/software", "0"), errors

    made = h.admin.call("POST", f"{DEVENVS}/{source['id']}/image", 202,
                        json={"name": "tiny-env", "description": "with tinypkg"})  # fmt: skip
    assert (made["status"], made["version"], made["kind"]) == ("building", 1, "custom")
    assert "ssh" not in made["tags"]  # spec 03 §1.9: custom images do not support SSH
    assert ImageBuilder(h.state.sessions, h.settings.home).step().built == 1
    image = h.admin.call("GET", f"{IMAGES}/{made['id']}")
    assert image["status"] == "ready", image["status_reason"]
    assert image["size_bytes"] > 0 and image["source_workload_id"] == source["id"]

    layer = h.settings.home / "images" / image["id"]
    assert (layer / "site-packages" / "tinypkg" / "__init__.py").read_text() == "X = 42\n"
    assert (layer / "bin" / "tinycmd").read_bytes().startswith(b"#!/usr/bin/env python3\n")
    files = {p.name for p in layer.rglob("*")}
    assert not files & {"big.bin", "data.txt", "pyvenv.cfg", "_hangar_image.pth"}

    again = h.admin.call("POST", f"{DEVENVS}/{source['id']}/image", 202, json={"name": "tiny-env"})
    assert again["version"] == 2  # the same name: a new version

    user = running_env(h, "user", image="tiny-env")
    out = run(h, user["id"], "import tinypkg, sys; print(tinypkg.X, tinypkg.__file__)")
    value, path = out.split()
    assert value == "42" and path.startswith("/work/image/0/site-packages/")
    for env in (source, user):  # the job needs their CPU (2 cores here)
        h.admin.call("POST", f"{DEVENVS}/{env['id']}/stop")
        wait_for(h.admin, env["id"], "Not started")

    job = h.admin.call("POST", JOBS, 201, json={
        "workspace_id": h.default_workspace()["id"], "name": "uses-image", "mode": "single",
        "image": image["id"], "resources": {"cpu_cores": 0.5, "mem_gib": 0.5},
        "command": "python -c 'import tinypkg; print(\"job\", tinypkg.X)'",
    })  # fmt: skip
    deadline = time.monotonic() + 60
    while job["state"] not in ("SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, job["state_reason"]
        time.sleep(0.2)
        job = h.admin.call("GET", f"{JOBS}/{job['id']}")
    [attempt] = job["runs"]
    log = h.admin.call("GET", f"{JOBS}/{job['id']}/runs/{attempt['id']}/logs")["data"]
    assert job["state"] == "SUCCEEDED" and "job 42" in log, log


def test_bad_requests_are_refused_and_a_cancelled_build_leaves_nothing(live: Hangar) -> None:
    h = live
    ws = h.default_workspace()
    fresh = h.admin.call("POST", DEVENVS, 201, json=env_body(ws["id"], "fresh"))
    err = assert_error(h.admin.post(f"{DEVENVS}/{fresh['id']}/image", json={"name": "never"}), 409)
    assert "start it once" in err["message"]
    assert_error(h.admin.post(f"{DEVENVS}/{fresh['id']}/image", json={"name": "-bad"}), 422)
    assert_error(h.admin.post(f"{DEVENVS}/{fresh['id']}/image", json={}), 422)
    assert_error(h.admin.get(f"{IMAGES}/nope"), 404)
    assert_error(h.admin.post(DEVENVS, json=env_body(ws["id"], "x", image="no-such")), 404)

    env = running_env(h, "src")
    made = h.admin.call("POST", f"{DEVENVS}/{env['id']}/image", 202, json={"name": "gone"})
    err = assert_error(h.admin.post(f"{DEVENVS}/{env['id']}/image", json={"name": "g2"}), 409)
    assert "already being made" in err["message"]
    cancelled = h.admin.call("POST", f"{IMAGES}/{made['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    assert_error(h.admin.post(f"{IMAGES}/{made['id']}/cancel"), 409)
    ImageBuilder(h.state.sessions, h.settings.home).step()
    assert not (h.settings.home / "images" / made["id"]).exists()
    err = assert_error(h.admin.post(DEVENVS, json=env_body(ws["id"], "y", image=made["id"])), 409)
    assert "cancelled" in err["message"]


def delete_every_env(h: Hangar) -> None:
    """Delete every environment, even after a failure, so that no IDE outlives the test."""
    for env in h.admin.call("GET", f"{DEVENVS}?limit=500")["items"]:
        h.admin.delete(f"{DEVENVS}/{env['id']}")
    loop = DevEnvLoop(h.state.sessions, h.state.backend, h.settings)
    deadline = time.monotonic() + 60
    while h.admin.call("GET", f"{DEVENVS}?limit=500")["items"]:
        assert time.monotonic() < deadline, "environments were not deleted"
        loop.step()  # deletes what stopped (the server's own loop runs hourly here)
        time.sleep(0.2)


def test_unsandboxed_the_software_layer_is_the_host_directory(tmp_path: Path, db_url: str) -> None:
    """Without the sandbox, /work is a view of symlinks: the layer is made at its real path."""
    settings = support.test_settings(tmp_path / "home", db_url, sandbox="off")
    with running_hangar(settings) as h:
        try:
            env = running_env(h, "plain")
            prefix = run(h, env["id"], "import sys; print(sys.prefix)").strip()
            assert prefix == str(settings.home / "devenvs" / env["id"] / "software")
        finally:
            delete_every_env(h)
