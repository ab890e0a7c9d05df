"""A JupyterLab environment end to end: the real scheduler, run reconciler and local backend
start real JupyterLab (sandboxed where bubblewrap works); it is reached only through the
authenticated proxy; a kernel runs code over the proxied WebSocket; /work/home survives a
stop and a start; another workspace's user gets 404."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.devenvs.support import DEVENVS, env_body, wait_answering, wait_for
from tests.support import Api, Hangar, running_hangar


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Any:
    settings = support.test_settings(tmp_path / "home", db_url, devenv_loop_seconds=0.5)
    with running_hangar(settings) as h:
        yield h


def execute(h: Hangar, api: Api, env_id: str, code: str) -> str:
    """Run ``code`` in a new kernel through the proxied kernel WebSocket; return its stdout."""
    prefix = f"/dev/{env_id}/"
    kernel = api.call("POST", f"{prefix}api/kernels", 201, json={"name": "python3"})
    session = uuid.uuid4().hex
    msg_id = uuid.uuid4().hex
    message = {
        "header": {"msg_id": msg_id, "username": "test", "session": session,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }  # fmt: skip
    url = f"{prefix}api/kernels/{kernel['id']}/channels?session_id={session}"
    out = []
    with h.client.websocket_connect(url, headers=api.headers) as ws:
        ws.send_text(json.dumps(message))
        for _ in range(200):
            reply = json.loads(ws.receive_text())
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if reply["msg_type"] == "stream":
                out.append(reply["content"]["text"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                break
    api.call("DELETE", f"{prefix}api/kernels/{kernel['id']}", 204)
    return "".join(out)


def test_jupyterlab_through_the_proxy_with_persistent_home(live: Hangar) -> None:
    h, admin = live, live.admin
    ws = h.default_workspace()
    env = admin.call("POST", DEVENVS, 201, json=env_body(ws["id"], start=True))
    assert env["status"] == "Starting"
    env = wait_for(admin, env["id"], "Running", "Failed")
    assert env["status"] == "Running", env["state_reason"]
    assert env["open_url"] == f"/dev/{env['id']}/"
    status = wait_answering(admin, f"/dev/{env['id']}/api/status").json()
    assert "kernels" in status

    # Code runs in the environment, sees the filesystem contract, writes home and cache.
    out = execute(
        h, admin, env["id"],
        "import os; open('/work/home/keep.txt','w').write('kept'); "
        "open('/work/cache/c.txt','w').write('cache'); print(6*7, os.environ['HOME'])",
    )  # fmt: skip
    assert out.split() == ["42", "/work/home"]

    # Nobody else reaches it: a user of another workspace gets the same 404 as for nothing.
    other_ws = h.create_workspace("elsewhere")
    user, other = h.user_api("outsider")
    h.add_member(other_ws["id"], user["id"], "developer")
    assert other.get(f"/dev/{env['id']}/api/status").status_code == 404
    browser = {"Accept": "text/html"}
    anonymous = h.client.get(f"/dev/{env['id']}/api/status", headers=browser)  # the login form
    assert "login-form" in anonymous.text and "kernels" not in anonymous.text
    # Hangar's credentials never reach JupyterLab; its token is never shown.
    detail = admin.call("GET", f"{DEVENVS}/{env['id']}")
    assert "secret" not in json.dumps(detail) and "JUPYTER_TOKEN" not in json.dumps(detail)

    # Stop twice: the second is a clear 409, nothing changes.
    admin.call("POST", f"{DEVENVS}/{env['id']}/stop")
    again = admin.post(f"{DEVENVS}/{env['id']}/stop")
    assert again.status_code == 409 and "stop" in again.json()["message"]
    env = wait_for(admin, env["id"], "Not started")
    assert h.client.get(f"/dev/{env['id']}/api/status", headers=admin.headers).status_code == 409
    home_file = h.settings.home / "users" / env["created_by"] / "home" / "keep.txt"
    assert home_file.read_text() == "kept"

    # Start again: the home file is still there, and so is the cache (within retention).
    admin.call("POST", f"{DEVENVS}/{env['id']}/start")
    wait_for(admin, env["id"], "Running")
    wait_answering(admin, f"/dev/{env['id']}/api/status")
    out = execute(
        h,
        admin,
        env["id"],
        "print(open('/work/home/keep.txt').read(), open('/work/cache/c.txt').read())",
    )
    assert out.split() == ["kept", "cache"]

    # Delete while running: stopped first, then gone; the user's home stays.
    answer = admin.call("DELETE", f"{DEVENVS}/{env['id']}", 202)
    assert answer["status"] == "deleting"
    deadline_env = env["id"]
    for _ in range(300):
        if admin.get(f"{DEVENVS}/{deadline_env}").status_code == 404:
            break
        time.sleep(0.1)
    assert admin.get(f"{DEVENVS}/{deadline_env}").status_code == 404
    assert admin.post(f"{DEVENVS}/{deadline_env}/start").status_code == 404
    assert home_file.exists()
    # Its files go right after the deletion commits (the row first, then the directory).
    env_dir = h.settings.home / "devenvs" / deadline_env
    for _ in range(100):
        if not env_dir.exists():
            break
        time.sleep(0.1)
    assert not env_dir.exists()
