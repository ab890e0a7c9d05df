"""Dev environments (``/api/v1/devenvs``) and images (``/api/v1/images``)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from hangar.client.errors import HangarAPIError, HangarLookupError
from hangar.client.transport import Transport, payload, segment
from hangar.devenvs.schemas import (
    DevEnvCreate,
    DevEnvPage,
    DevEnvRead,
    IdlePolicyRead,
    IdlePolicyWrite,
    MonitorSeries,
    PortExpose,
    ScheduleUpdate,
    TrainingDraft,
)
from hangar.images.schemas import ImageRead
from hangar.jobs.schemas import NodeResources

DEVENVS = "/api/v1/devenvs"
Source = Literal["api", "cli"]


class DevEnvsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(
        self,
        *,
        workspace_id: str,
        name: str,
        resources: NodeResources | Mapping[str, Any],
        ide: Literal["jupyterlab", "code-server"] = "jupyterlab",
        image: str | None = None,
        quota_id: str | None = None,
        queue_id: str | None = None,
        description: str = "",
        env: Mapping[str, str] | None = None,
        ssh_keys: str = "",
        idle_minutes: int | None = None,
        stop_at: datetime | None = None,
        start: bool = False,
        mounts: Sequence[Mapping[str, Any]] = (),
        source: Source = "api",
    ) -> DevEnvRead:
        """Create an environment (*Not started*); ``start=True`` starts it too. ``mounts`` as
        for jobs."""
        res = resources.model_dump() if isinstance(resources, NodeResources) else dict(resources)
        body = payload(
            DevEnvCreate, workspace_id=workspace_id, name=name, description=description, ide=ide,
            image=image, resources=res, quota_id=quota_id, queue_id=queue_id,
            env=dict(env or {}), ssh_keys=ssh_keys, idle_minutes=idle_minutes, stop_at=stop_at,
            start=start, mounts=[dict(m) for m in mounts],
        )  # fmt: skip
        response = self._t.request("POST", DEVENVS, params={"source": source}, json=body)
        return self._t.parse(DevEnvRead, response)

    def list(
        self, *, workspace: str | None = None, name: str | None = None, mine: bool = False,
        limit: int = 50, offset: int = 0,
    ) -> DevEnvPage:  # fmt: skip
        params: dict[str, Any] = {"limit": limit, "offset": offset, "mine": mine}
        if workspace:
            params["workspace"] = workspace
        if name:
            params["name"] = name
        return self._t.get(DevEnvPage, DEVENVS, params=params)

    def get(self, env_id: str) -> DevEnvRead:
        return self._t.get(DevEnvRead, f"{DEVENVS}/{segment(env_id)}")

    def find(self, ref: str, *, workspace: str | None = None) -> DevEnvRead:
        """An environment by exact name among the ones you can list, else by id."""
        named = self.list(workspace=workspace, name=ref, limit=500).items
        for item in named:
            if item.name == ref:
                return self.get(item.id)
        try:
            return self.get(ref)
        except HangarAPIError as err:
            if err.status == 404:
                raise HangarLookupError("dev environment", ref) from None
            raise

    def start(self, env_id: str) -> DevEnvRead:
        return self._t.send(DevEnvRead, "POST", f"{DEVENVS}/{segment(env_id)}/start")

    def stop(self, env_id: str) -> DevEnvRead:
        return self._t.send(DevEnvRead, "POST", f"{DEVENVS}/{segment(env_id)}/stop")

    def delete(self, env_id: str) -> str:
        response = self._t.request("DELETE", f"{DEVENVS}/{segment(env_id)}")
        return str(response.json().get("message", ""))

    def keep_alive(self, env_id: str) -> DevEnvRead:
        return self._t.send(DevEnvRead, "POST", f"{DEVENVS}/{segment(env_id)}/keep-alive")

    def schedule(self, env_id: str, **changes: Any) -> DevEnvRead:
        """``idle_minutes`` and/or ``stop_at``; pass None to clear one."""
        body = payload(ScheduleUpdate, **changes)
        return self._t.send(DevEnvRead, "PUT", f"{DEVENVS}/{segment(env_id)}/schedule", json=body)

    def expose_port(self, env_id: str, port: int) -> DevEnvRead:
        body = payload(PortExpose, port=port)
        return self._t.send(DevEnvRead, "POST", f"{DEVENVS}/{segment(env_id)}/ports", json=body)

    def unexpose_port(self, env_id: str, port: int) -> DevEnvRead:
        path = f"{DEVENVS}/{segment(env_id)}/ports/{port}"
        return self._t.send(DevEnvRead, "DELETE", path)

    def training_draft(self, env_id: str) -> TrainingDraft:
        return self._t.get(TrainingDraft, f"{DEVENVS}/{segment(env_id)}/training-draft")

    def monitor(self, env_id: str, *, minutes: int = 60) -> MonitorSeries:
        path = f"{DEVENVS}/{segment(env_id)}/monitor"
        return self._t.get(MonitorSeries, path, params={"minutes": minutes})

    def wait_running(self, env_id: str, *, timeout: float = 120.0) -> DevEnvRead:
        """Poll until the environment runs; raises TimeoutError with its last status."""
        deadline = time.monotonic() + timeout
        while True:
            env = self.get(env_id)
            if env.state == "RUNNING" or env.status in ("Failed", "Not started"):
                return env
            if time.monotonic() > deadline:
                raise TimeoutError(f"'{env.name}' is still {env.status}: {env.state_reason}")
            time.sleep(0.2)

    def idle_policy(self, workspace_id: str) -> IdlePolicyRead:
        """The workspace's idle-shutdown policy (404 when it has none)."""
        return self._t.get(IdlePolicyRead, _policy_path(workspace_id))

    def set_idle_policy(
        self, workspace_id: str, *, idle_minutes: int, locked: bool = False,
        gpu_busy_percent: int = 10,
    ) -> IdlePolicyRead:  # fmt: skip
        body = payload(
            IdlePolicyWrite, idle_minutes=idle_minutes, locked=locked,
            gpu_busy_percent=gpu_busy_percent,
        )  # fmt: skip
        return self._t.send(IdlePolicyRead, "PUT", _policy_path(workspace_id), json=body)

    def clear_idle_policy(self, workspace_id: str) -> None:
        self._t.request("DELETE", _policy_path(workspace_id))

    def images(self) -> builtins.list[ImageRead]:
        return self._t.get_list(ImageRead, "/api/v1/images")


def _policy_path(workspace_id: str) -> str:
    return f"/api/v1/workspaces/{segment(workspace_id)}/idle-policy"
