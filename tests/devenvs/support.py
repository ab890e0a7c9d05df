"""Dev-environment test support: create, wait for a status, talk to the IDE via the proxy."""

from __future__ import annotations

import time
from typing import Any

from tests.support import Api

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
