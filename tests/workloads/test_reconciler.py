"""The run reconciler against the real local backend: launch, finish, fail, restart, stop.

Workloads are put straight into PREPARING with a run and node rows (what the scheduler
writes when it admits one), then the reconciler steps until the world converges.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hangar.app import build_state, create_app
from hangar.backends.local.backend import LocalBackend
from hangar.db.engine import transaction
from hangar.tenancy.orm import ApiToken, User
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload, WorkloadEvent
from hangar.workloads.reconciler import RunReconciler
from hangar.workloads.service import do_start_run, do_transition
from tests import support
from tests.backends.support import make_backend
from tests.support import Hangar

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    return make_backend(tmp_path / "backend", sandbox="off")


@pytest.fixture
def hangar(tmp_path: Path, db_url: str, backend: LocalBackend) -> Iterator[Hangar]:
    """A Hangar whose own workload loop uses the test's backend. Its reconciler runs beside
    the test's one (leases keep them apart); with a backend of its own it would poll these
    runs in the wrong directory, find nothing and call them LOST."""
    settings = support.test_settings(tmp_path / "home", db_url)
    state, _first = build_state(settings)
    state.backend = backend
    app = create_app(settings, state)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Hangar(settings=settings, state=state, app=app, client=client)


@pytest.fixture
def reconciler(hangar: Hangar, backend: LocalBackend, tmp_path: Path) -> Iterator[RunReconciler]:
    yield RunReconciler(
        hangar.state.sessions, backend, home=tmp_path / "home", api_url="http://127.0.0.1:1",
        stop_grace_seconds=2,
    )  # fmt: skip


def admitted(h: Hangar, node: str, command: str, *, restart: dict[str, Any] | None = None) -> str:
    """A workload as the scheduler leaves it: PREPARING, with a run and one node row."""
    ws = h.default_workspace()
    with transaction(h.state.sessions) as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        spec = {
            "command": command, "env": {}, "node_count": 1, "procs_per_node": 1,
            "resources": {"cpu_millicores": 1000, "mem_bytes": 512 * 2**20, "gpus": 0},
            "restart": restart or {},
        }  # fmt: skip
        workload = Workload(
            tenant_id=admin.tenant_id, workspace_id=ws["id"], created_by=admin.id,
            kind="training", name="job", spec=spec,
        )  # fmt: skip
        session.add(workload)
        session.flush()
        do_transition(session, workload, "queue")
        do_transition(session, workload, "admit")
        run = do_start_run(session, workload, backend="local")
        session.add(
            RunNode(run_id=run.id, rank=0, node_name=node,
                    resources={"cpu_millicores": 1000, "mem_bytes": 512 * 2**20, "gpus": 0})
        )  # fmt: skip
        return workload.id


def converge(
    h: Hangar, rec: RunReconciler, wid: str, until: set[str], timeout: float = 60
) -> Workload:
    deadline = time.monotonic() + timeout
    while True:
        rec.step()
        with h.state.sessions() as session:
            workload = session.get(Workload, wid)
            assert workload is not None
            if workload.state in until:
                return workload
        assert time.monotonic() < deadline, f"stuck in {workload.state}: {workload.state_reason}"
        time.sleep(0.1)


def events(h: Hangar, wid: str) -> list[WorkloadEvent]:
    with h.state.sessions() as session:
        return list(
            session.scalars(
                select(WorkloadEvent)
                .where(WorkloadEvent.workload_id == wid)
                .order_by(WorkloadEvent.id)
            )
        )


def usage(h: Hangar, wid: str) -> list[UsageInterval]:
    with h.state.sessions() as session:
        stmt = select(UsageInterval).where(UsageInterval.workload_id == wid)
        return list(session.scalars(stmt.order_by(UsageInterval.started_at)))


def test_success_is_metered_and_evented(
    hangar: Hangar, backend: LocalBackend, reconciler: RunReconciler
) -> None:
    wid = admitted(hangar, backend.config.node_name, "echo hello from $HANGAR_JOB_ID")
    workload = converge(hangar, reconciler, wid, TERMINAL)
    assert workload.state == "SUCCEEDED"
    rules = [e.rule for e in events(hangar, wid) if e.kind == "transition"]
    assert rules == ["queue", "admit", "launched", "succeed"]
    assert any(e.kind == "alert" and e.message == "completed" for e in events(hangar, wid))
    [interval] = usage(hangar, wid)
    assert interval.ended_at is not None and interval.cpu_millicores == 1000
    with hangar.state.sessions() as session:
        run = session.scalars(select(Run).where(Run.workload_id == wid)).one()
        assert run.exit_code == 0 and run.finished_at is not None
        node = session.scalars(select(RunNode).where(RunNode.run_id == run.id)).one()
        handle = node.handle
        tokens = session.scalars(select(ApiToken).where(ApiToken.name == f"run:{run.id}")).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
    from hangar.backends.state import RunHandle

    log = backend.logs(RunHandle.from_dict(handle), node=0)
    assert f"hello from {wid}" in log.data.decode()


def test_failure_without_fault_tolerance_fails(
    hangar: Hangar, backend: LocalBackend, reconciler: RunReconciler
) -> None:
    wid = admitted(hangar, backend.config.node_name, "exit 3")
    workload = converge(hangar, reconciler, wid, TERMINAL)
    assert workload.state == "FAILED"
    assert "exit" in workload.state_reason
    assert any(e.kind == "alert" and "task abnormal" in e.message for e in events(hangar, wid))


def test_fault_tolerant_job_resumes_from_checkpoint(
    hangar: Hangar, backend: LocalBackend, reconciler: RunReconciler
) -> None:
    # Fails on the first attempt after writing a marker; the restart sees it and succeeds.
    script = (
        'mark="$HANGAR_CHECKPOINT_DIR/attempted"; mkdir -p "$HANGAR_CHECKPOINT_DIR"; '
        'if [ -f "$mark" ]; then echo resumed; exit 0; fi; touch "$mark"; exit 1'
    )
    wid = admitted(
        hangar, backend.config.node_name, script,
        restart={"fault_tolerance": True, "max_restarts_per_error": 2},
    )  # fmt: skip
    workload = converge(hangar, reconciler, wid, TERMINAL)
    assert workload.state == "SUCCEEDED", workload.state_reason
    assert workload.restart_count == 1
    rules = [e.rule for e in events(hangar, wid) if e.kind == "transition"]
    assert rules == ["queue", "admit", "launched", "fault", "resume", "succeed"]
    alerts = [e.message for e in events(hangar, wid) if e.kind == "alert"]
    assert any("resuming from the last checkpoint" in a for a in alerts)
    assert any("resumed after fault" in a for a in alerts)
    intervals = usage(hangar, wid)
    assert len(intervals) == 2  # the recovery window between them is not metered
    assert intervals[0].ended_at is not None and intervals[1].ended_at is not None
    assert intervals[0].ended_at <= intervals[1].started_at


def test_stop_ends_the_process_group(
    hangar: Hangar, backend: LocalBackend, reconciler: RunReconciler
) -> None:
    wid = admitted(hangar, backend.config.node_name, "sleep 300")
    converge(hangar, reconciler, wid, {"RUNNING"})
    with transaction(hangar.state.sessions) as session:
        workload = session.get(Workload, wid)
        assert workload is not None
        do_transition(session, workload, "stop_running", message="stopped by admin")
    workload = converge(hangar, reconciler, wid, TERMINAL)
    assert workload.state == "STOPPED"
    [interval] = usage(hangar, wid)
    assert interval.ended_at is not None


def test_stop_before_the_first_launch_ends_at_once(
    hangar: Hangar, backend: LocalBackend, reconciler: RunReconciler
) -> None:
    wid = admitted(hangar, backend.config.node_name, "sleep 300")
    with transaction(hangar.state.sessions) as session:
        workload = session.get(Workload, wid)
        assert workload is not None
        do_transition(session, workload, "stop_running", message="stopped before launch")
    workload = converge(hangar, reconciler, wid, TERMINAL, timeout=10)
    assert workload.state == "STOPPED"
    assert backend.adopt(None) == []  # nothing was launched
