"""Dev-environment test support: create, wait for a status, talk to the IDE via the proxy."""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from tests.support import USER_PASSWORD, Api

DEVENVS = "/api/v1/devenvs"


def env_body(ws_id: str, name: str = "nb", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "workspace_id": ws_id, "name": name, "ide": "jupyterlab",
        "resources": {"cpu_cores": 1, "mem_gib": 1},
    }  # fmt: skip
    body.update(changes)
    return body


def wait_for(api: Api, env_id: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the environment until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        env: dict[str, Any] = api.call("GET", f"{DEVENVS}/{env_id}")
        if env["status"] in statuses:
            return env
        if time.monotonic() > deadline:
            raise AssertionError(
                f"still {env['status']} ({env['state']}: {env['state_reason']}); events: "
                + "; ".join(e["message"] for e in env["events"][-5:])
            )
        time.sleep(0.2)


def wait_answering(api: Api, path: str, *, timeout: float = 60.0) -> Any:
    """Poll ``path`` through the proxy until the IDE answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(path)
        if response.status_code == 200:
            return response
        if time.monotonic() > deadline:
            env_id = path.split("/")[2]
            env = api.call("GET", f"{DEVENVS}/{env_id}")
            events = "; ".join(e["message"] for e in env["events"][-6:])
            raise AssertionError(f"{path}: {response.status_code}; {env['state']}: {events}")
        time.sleep(0.2)


# --- Jupyter kernels through the proxy --------------------------------------------------------
def start_kernel(api: Api, env_id: str) -> str:
    """Start a python3 kernel in the environment's JupyterLab; return its id."""
    kernel: dict[str, Any] = api.call(
        "POST", f"/dev/{env_id}/api/kernels", 201, json={"name": "python3"}
    )
    return str(kernel["id"])


def run_code(
    client: TestClient, api: Api, env_id: str, kernel_id: str, code: str, *, until: str = "idle"
) -> str:
    """Send ``code`` over the proxied kernel WebSocket; return its stdout once the kernel
    reports ``until`` for it ("busy": it started running, "idle": it finished)."""
    session, msg_id = uuid.uuid4().hex, uuid.uuid4().hex
    message = {
        "header": {"msg_id": msg_id, "username": "test", "session": session,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }  # fmt: skip
    url = f"/dev/{env_id}/api/kernels/{kernel_id}/channels?session_id={session}"
    out = []
    with client.websocket_connect(url, headers=api.headers) as ws:
        ws.send_text(json.dumps(message))
        for _ in range(500):
            reply = json.loads(ws.receive_text())
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if reply["msg_type"] == "stream":
                out.append(reply["content"]["text"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == until:
                return "".join(out)
    raise AssertionError(f"kernel {kernel_id} never reported {until!r}; output: {out}")


def wait_kernel(api: Api, env_id: str, kernel_id: str, state: str, timeout: float = 30) -> None:
    """Poll JupyterLab's kernel API (what the idle probe reads) until ``execution_state``."""
    deadline = time.monotonic() + timeout
    while True:
        kernel = api.call("GET", f"/dev/{env_id}/api/kernels/{kernel_id}")
        if kernel["execution_state"] == state:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"kernel {kernel_id} still {kernel['execution_state']}")
        time.sleep(0.1)


# --- over real HTTP (a live server) ---------------------------------------------------------


def port_block(size: int = 40) -> dict[str, int]:
    """Settings for an IDE port range of this server's own, below the ephemeral ports: two
    servers under ``pytest -n`` would otherwise pick the same free port for their IDEs."""
    low = random.randrange(20_000, 30_000 - size, size)
    return {"devenv_port_min": low, "devenv_port_max": low + size - 1}


def live_api(url: str, username: str, password: str = USER_PASSWORD) -> Api:
    """Log ``username`` in to the live server at ``url``; the client closes with the process."""
    client = httpx.Client(base_url=url, timeout=30.0)
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 201, answer.text
    return Api(client, answer.json()["token"], username)


def outsider(admin: Api, username: str) -> tuple[Api, dict[str, Any]]:
    """A developer of a workspace of their own: allowed nowhere near the admin's environments."""
    ws = admin.call("POST", "/api/v1/workspaces", 201, json={"name": f"{username}_ws"})
    user = admin.call(
        "POST", "/api/v1/users", 201, json={"username": username, "password": USER_PASSWORD}
    )
    admin.call(
        "POST", f"/api/v1/workspaces/{ws['id']}/members", 201,
        json={"user_id": user["id"], "roles": ["developer"]},
    )  # fmt: skip
    return live_api(str(admin.client.base_url), username), ws


def delete_all(admin: Api, *, timeout: float = 60.0) -> None:
    """Delete every environment and wait until they are gone, so no IDE outlives the test
    (a local run survives the server by design)."""
    envs = admin.call("GET", f"{DEVENVS}?limit=500")["items"]
    for env in envs:
        admin.delete(f"{DEVENVS}/{env['id']}")
    deadline = time.monotonic() + timeout
    for env in envs:
        while admin.get(f"{DEVENVS}/{env['id']}").status_code != 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"dev environment {env['name']} was not deleted")
            time.sleep(0.2)


class Kernel:
    """A Python kernel of a live environment's JupyterLab, driven over the proxied WebSocket."""

    def __init__(self, api: Api, env_id: str) -> None:
        self.api, self.prefix = api, f"/dev/{env_id}/"
        self.id = api.call("POST", f"{self.prefix}api/kernels", 201, json={"name": "python3"})["id"]

    def run(self, code: str, *, timeout: float = 30.0) -> str:
        """Execute ``code``; return its stdout (stderr and tracebacks fail the test)."""
        session, msg_id = uuid.uuid4().hex, uuid.uuid4().hex
        message = {
            "header": {"msg_id": msg_id, "username": "test", "session": session,
                       "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }  # fmt: skip
        base = str(self.api.client.base_url).replace("http://", "ws://", 1)
        url = f"{base}{self.prefix}api/kernels/{self.id}/channels?session_id={session}"
        out: list[str] = []
        deadline = time.monotonic() + timeout
        with connect(url, additional_headers=self.api.headers, open_timeout=timeout) as ws:
            ws.send(json.dumps(message))
            while True:
                reply = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = reply["msg_type"], reply["content"]
                if kind == "error" or (kind == "stream" and content["name"] == "stderr"):
                    raise AssertionError(f"the kernel failed: {content}")
                if kind == "stream":
                    out.append(content["text"])
                if kind == "status" and content["execution_state"] == "idle":
                    return "".join(out)

    def shutdown(self) -> None:
        self.api.call("DELETE", f"{self.prefix}api/kernels/{self.id}", 204)
