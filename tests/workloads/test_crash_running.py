"""SIGKILL the server while workloads run, restart it: the runs are re-adopted and finish,
their states, logs and usage are right, nothing is counted twice, no process is orphaned."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hangar.backends.local.backend import LocalBackend
from hangar.backends.local.config import LocalBackendConfig
from hangar.backends.state import RunHandle
from hangar.resources.queues import ensure_default_queue
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload, WorkloadEvent
from tests.server_process import Server

pytestmark = pytest.mark.slow

TICKS = 40  # about 4 s per workload: long enough to kill the server in the middle
COMMAND = f"for i in $(seq 1 {TICKS}); do echo tick $i; sleep 0.1; done"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(
        home=tmp_path / "home", database_url=None,
        extra_env={"HANGAR_SCHEDULER_INTERVAL_SECONDS": "0.2"},
    )  # fmt: skip
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def submit(engine: sa.Engine, count: int) -> list[str]:
    spec = {
        "command": COMMAND, "env": {}, "node_count": 1, "procs_per_node": 1,
        "resources": {"cpu_millicores": 200, "mem_bytes": 128 * 2**20, "gpus": 0},
        "request": {"cpu_millicores": 200, "mem_bytes": 128 * 2**20, "gpus": 0}, "restart": {},
    }  # fmt: skip
    ids = []
    with Session(engine) as session, session.begin():
        admin = session.scalars(sa.select(User).where(User.username == "admin")).one()
        ws = session.scalars(
            sa.select(Workspace).where(Workspace.tenant_id == admin.tenant_id, Workspace.is_default)
        ).one()
        queue = ensure_default_queue(session, tenant_id=admin.tenant_id)
        for n in range(count):
            workload = Workload(
                tenant_id=admin.tenant_id, workspace_id=ws.id, created_by=admin.id,
                kind="training", name=f"crash{n}", spec=spec, queue_id=queue.id,
            )  # fmt: skip
            session.add(workload)
            session.flush()
            ids.append(workload.id)
    return ids


def states(engine: sa.Engine, ids: list[str]) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(sa.select(Workload.id, Workload.state).where(Workload.id.in_(ids)))
        return {wid: state for wid, state in rows}


def wait_states(engine: sa.Engine, ids: list[str], wanted: set[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while set(states(engine, ids).values()) - wanted:
        assert time.monotonic() < deadline, f"stuck: {states(engine, ids)}"
        time.sleep(0.1)


def test_sigkill_while_running_readopts_and_finishes(server: Server) -> None:
    engine = server.engine()
    ids = submit(engine, 2)
    wait_states(engine, ids, {"RUNNING"})

    server.kill()  # SIGKILL to the server's process group; runs live in their own sessions
    assert set(states(engine, ids).values()) == {"RUNNING"}
    server.start()
    wait_states(engine, ids, {"SUCCEEDED"})

    backend = LocalBackend(LocalBackendConfig(state_dir=server.home / "backend", sandbox="off"))
    with Session(engine) as session:
        for wid in ids:
            rules = list(
                session.scalars(
                    sa.select(WorkloadEvent.rule)
                    .where(WorkloadEvent.workload_id == wid, WorkloadEvent.kind == "transition")
                    .order_by(WorkloadEvent.id)
                )
            )
            assert rules == ["queue", "admit", "launched", "succeed"], rules
            run = session.scalars(sa.select(Run).where(Run.workload_id == wid)).one()
            assert run.exit_code == 0
            intervals = session.scalars(
                sa.select(UsageInterval).where(UsageInterval.run_id == run.id)
            ).all()
            assert len(intervals) == 1 and intervals[0].ended_at is not None
            node = session.scalars(sa.select(RunNode).where(RunNode.run_id == run.id)).one()
            log = backend.logs(RunHandle.from_dict(node.handle), node=0).data.decode()
            assert f"tick {TICKS}" in log and log.count("tick 1\n") == 1
    # Nothing of the runs is left: every held run is finished, no supervisor process remains.
    assert all(backend.poll(h).finished for h in backend.adopt(None))
    leftovers = subprocess.run(
        ["pgrep", "-f", str(server.home / "backend")], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == []
