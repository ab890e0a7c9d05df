"""Training jobs (``/api/v1/jobs``) and the admission queue (``/api/v1/queue``)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from hangar.client.transport import Transport, payload, segment
from hangar.jobs.schemas import (
    EventRead,
    JobCopy,
    JobOptions,
    JobPage,
    JobRead,
    LogChunkRead,
    NodeResources,
    PoolQueue,
    PriorityRead,
    PriorityUpdate,
    RestartPolicy,
    TrainingJobCreate,
)
from hangar.workloads.lifecycle import State

JOBS = "/api/v1/jobs"
Source = Literal["api", "cli"]


class JobsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(
        self,
        *,
        workspace_id: str,
        name: str,
        command: str,
        resources: NodeResources | Mapping[str, Any],
        mode: Literal["ddp", "single"] = "ddp",
        worker_count: int = 1,
        procs_per_node: int | None = None,
        quota_id: str | None = None,
        queue_id: str | None = None,
        description: str = "",
        image: str | None = None,
        env: Mapping[str, str] | None = None,
        restart: RestartPolicy | Mapping[str, Any] | None = None,
        mounts: Sequence[Mapping[str, Any]] = (),
        source: Source = "api",
    ) -> JobRead:
        """Submit a training job. ``resources`` is per node: a ``spec_id``, or ``cpu_cores``
        and ``mem_gib`` (plus ``gpus``, ``gpu_model``). DDP runs 1 master + ``worker_count``
        workers. Without ``quota_id`` a custom workspace uses its one associated quota; the
        default workspace uses ``queue_id`` or the built-in default queue. ``mounts`` are
        ``{"kind": "dataset"|"model"|"code", "id", "version"}`` shown at /work/mount/<kind>/."""
        body = payload(
            TrainingJobCreate, workspace_id=workspace_id, name=name, description=description,
            command=command, mode=mode, worker_count=worker_count, procs_per_node=procs_per_node,
            resources=_plain(resources), quota_id=quota_id, queue_id=queue_id, image=image,
            env=dict(env or {}), restart=_plain(restart) if restart is not None else {},
            mounts=[dict(m) for m in mounts],
        )  # fmt: skip
        response = self._t.request("POST", JOBS, params={"source": source}, json=body)
        return self._t.parse(JobRead, response)

    def options(
        self, workspace: str, *, workload_type: Literal["training", "ide"] = "training"
    ) -> JobOptions:
        """What the create form offers in ``workspace`` (id or name): quotas or queues with
        usage, their specs, your per-user usage, and the RQ18 notice when none is usable.
        ``workload_type="ide"`` gives the choices of a dev environment."""
        params = {"workspace": workspace, "workload_type": workload_type}
        return self._t.get(JobOptions, f"{JOBS}/options", params=params)

    def list(
        self,
        *,
        workspace: str | None = None,
        states: Sequence[State | str] = (),
        name: str | None = None,
        created_by: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobPage:
        """Jobs you may list, newest first. ``created_by``: a username, an id, or ``me``."""
        params = {
            "workspace": workspace, "name": name, "created_by": created_by, "limit": limit,
            "offset": offset, "state": ",".join(State(s).value for s in states) or None,
        }  # fmt: skip
        return self._t.get(JobPage, JOBS, params=params)

    def get(self, job_id: str) -> JobRead:
        """A job with its configuration, runs (newest first) and events."""
        return self._t.get(JobRead, f"{JOBS}/{segment(job_id)}")

    def stop(self, job_id: str) -> JobRead:
        return self._t.send(JobRead, "POST", f"{JOBS}/{segment(job_id)}/stop")

    def restart(self, job_id: str) -> JobRead:
        """Start a finished job again: a new run when the scheduler admits it."""
        return self._t.send(JobRead, "POST", f"{JOBS}/{segment(job_id)}/restart")

    def copy(
        self,
        job_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        source: Source = "api",
    ) -> JobRead:
        """A new job with the same configuration and inputs (default name ``<name>-copy``)."""
        body = payload(JobCopy, name=name, description=description)
        response = self._t.request(
            "POST", f"{JOBS}/{segment(job_id)}/copy", params={"source": source}, json=body
        )
        return self._t.parse(JobRead, response)

    def delete(self, job_id: str) -> None:
        """Only finished jobs; stop a live one first."""
        self._t.request("DELETE", f"{JOBS}/{segment(job_id)}")

    def events(self, job_id: str, *, run_id: str | None = None) -> builtins.list[EventRead]:
        return self._t.get_list(
            EventRead, f"{JOBS}/{segment(job_id)}/events", params={"run_id": run_id}
        )

    def logs(
        self,
        job_id: str,
        run_id: str,
        *,
        node: int = 0,
        offset: int = 0,
        attempt: int | None = None,
    ) -> LogChunkRead:
        """One chunk of a node's log from ``offset``; continue from ``next_offset``."""
        path = f"{JOBS}/{segment(job_id)}/runs/{segment(run_id)}/logs"
        params = {"node": node, "offset": offset, "attempt": attempt}
        return self._t.get(LogChunkRead, path, params=params)

    def follow_logs(
        self,
        job_id: str,
        run_id: str,
        *,
        node: int = 0,
        attempt: int | None = None,
        poll_seconds: float = 1.0,
    ) -> Iterator[str]:
        """Yield a node's log text as it grows, until the node has ended."""
        offset = 0
        while True:
            chunk = self.logs(job_id, run_id, node=node, offset=offset, attempt=attempt)
            if chunk.data:
                yield chunk.data
            if chunk.complete:
                return
            if chunk.next_offset == offset:
                time.sleep(poll_seconds)
            offset = chunk.next_offset

    def download_logs(
        self, job_id: str, run_id: str, *, node: int = 0, attempt: int | None = None
    ) -> bytes:
        """The whole log of one node as it is now."""
        path = f"{JOBS}/{segment(job_id)}/runs/{segment(run_id)}/logs/download"
        with self._t.stream("GET", path, params={"node": node, "attempt": attempt}) as response:
            return b"".join(response.iter_bytes())


class WaitingAPI:
    """The admission queue: waiting workloads per quota or queue (not the queue *pools*,
    which are ``HangarClient.queues``)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> list[PoolQueue]:
        """Pools you may see with their waiting workloads, in admission order."""
        return self._t.get_list(PoolQueue, "/api/v1/queue")

    def set_priority(self, workload_id: str, priority: int) -> PriorityRead:
        """B6: higher goes first (tenant admins and the pool's admins)."""
        body = payload(PriorityUpdate, priority=priority)
        path = f"/api/v1/workloads/{segment(workload_id)}/priority"
        return self._t.send(PriorityRead, "PATCH", path, json=body)


def _plain(value: Any) -> Any:
    return value.model_dump(exclude_unset=True) if hasattr(value, "model_dump") else dict(value)
