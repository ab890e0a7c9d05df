"""The SDK's ``jobs`` and ``waiting`` namespaces against a live server whose loops run jobs
on this host (the default workspace's built-in queue on the default cluster)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from hangar.client import HangarAPIError, HangarClient
from hangar.jobs.schemas import JobOptions, JobPage, JobRead, LogChunkRead, PoolQueue
from hangar.workloads.lifecycle import State

T = TypeVar("T")
SMALL = {"cpu_cores": 0.5, "mem_gib": 0.25}
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def until(check: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def finished(admin: HangarClient, job_id: str) -> JobRead:
    def check() -> JobRead | None:
        job = admin.jobs.get(job_id)
        return job if job.state in TERMINAL else None

    return until(check)


def default_ws(admin: HangarClient) -> str:
    return next(w.id for w in admin.workspaces.list() if w.is_default)


def test_create_follow_logs_copy_and_delete(admin: HangarClient) -> None:
    ws = default_ws(admin)
    options = admin.jobs.options(ws)
    assert isinstance(options, JobOptions) and options.pools[0].name == "default"
    job = admin.jobs.create(
        workspace_id=ws, name="sdk-job", command="echo from the sdk", resources=SMALL,
        mode="single",
    )  # fmt: skip
    assert isinstance(job, JobRead) and job.state == "SUBMITTED"
    done = finished(admin, job.id)
    assert done.state == "SUCCEEDED", done.state_reason
    run = done.runs[0]
    assert "".join(admin.jobs.follow_logs(job.id, run.id)) == "from the sdk\n"
    chunk = admin.jobs.logs(job.id, run.id)
    assert isinstance(chunk, LogChunkRead) and chunk.complete
    assert admin.jobs.download_logs(job.id, run.id) == b"from the sdk\n"
    assert [e.rule for e in admin.jobs.events(job.id) if e.kind == "transition"][-1] == "succeed"
    page = admin.jobs.list(workspace=ws, states=[State.SUCCEEDED], name="sdk-")
    assert isinstance(page, JobPage) and [j.id for j in page.items] == [job.id]
    copy = admin.jobs.copy(job.id, name="sdk-job-2")
    assert copy.name == "sdk-job-2" and copy.command == "echo from the sdk"
    finished(admin, copy.id)
    admin.jobs.delete(copy.id)
    with pytest.raises(HangarAPIError) as err:
        admin.jobs.get(copy.id)
    assert err.value.status == 404


def running(admin: HangarClient, job_id: str) -> JobRead:
    def check() -> JobRead | None:
        job = admin.jobs.get(job_id)
        return job if job.state == "RUNNING" else None

    return until(check)


def test_stop_restart_and_errors(admin: HangarClient) -> None:
    ws = default_ws(admin)
    job = admin.jobs.create(
        workspace_id=ws, name="sdk-sleep", command="sleep 60", resources=SMALL, mode="single"
    )
    running(admin, job.id)
    assert admin.jobs.stop(job.id).state == "STOPPING"
    assert finished(admin, job.id).state == "STOPPED"
    with pytest.raises(HangarAPIError) as err:
        admin.jobs.stop(job.id)
    assert err.value.status == 409 and "allowed now: restart" in err.value.message
    assert admin.jobs.restart(job.id).state == "SUBMITTED"
    assert running(admin, job.id).run_count == 2
    admin.jobs.stop(job.id)
    assert finished(admin, job.id).state == "STOPPED"
    with pytest.raises(HangarAPIError) as err:
        admin.jobs.create(workspace_id=ws, name="bad", command=" ", resources=SMALL)
    assert err.value.status == 422 and "command" in err.value.fields


def test_the_waiting_queue_and_priority(admin: HangarClient) -> None:
    me = admin.whoami()
    admin.users.set_limits(me.id, max_cpus=0)  # every CPU job of mine now waits
    try:
        ws = default_ws(admin)
        first, second = (
            admin.jobs.create(
                workspace_id=ws,
                name=f"sdk-wait-{i}",
                command="true",
                resources=SMALL,
                mode="single",
            )
            for i in range(2)
        )

        def waiting() -> list[PoolQueue] | None:
            pools = admin.waiting.list()
            rows = [w for p in pools for w in p.workloads if w.name.startswith("sdk-wait")]
            return pools if len(rows) == 2 and all(r.state == "QUEUED" for r in rows) else None

        [pool] = until(waiting)
        assert "per-user limit" in pool.workloads[0].reason
        assert admin.waiting.set_priority(second.id, 3).previous == 0
        assert [w.id for w in admin.waiting.list()[0].workloads][:2] == [second.id, first.id]
        for job in (first, second):
            admin.jobs.stop(job.id)
    finally:
        admin.users.set_limits(me.id, max_cpus=None)
