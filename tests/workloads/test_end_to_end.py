"""A workload through the running server's loops: scheduler cycle, then the reconciler.

Uses the app's own background loops (started by the TestClient), the tenant's built-in
default queue on the default cluster, and this host as the one node (synced at start).
"""

from __future__ import annotations

import time

from sqlalchemy import select

from hangar.db.engine import transaction
from hangar.resources.queues import ensure_default_queue
from hangar.tenancy.orm import User
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload, WorkloadEvent
from tests.support import Hangar

SPEC = {
    "command": "echo ok",
    "env": {},
    "node_count": 1,
    "procs_per_node": 1,
    "resources": {"cpu_millicores": 500, "mem_bytes": 256 * 2**20, "gpus": 0},
    "request": {"cpu_millicores": 500, "mem_bytes": 256 * 2**20, "gpus": 0},
    "restart": {},
}


def submit(h: Hangar, spec: dict[str, object]) -> str:
    ws = h.default_workspace()
    with transaction(h.state.sessions) as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        queue = ensure_default_queue(session, tenant_id=admin.tenant_id)
        workload = Workload(
            tenant_id=admin.tenant_id, workspace_id=ws["id"], created_by=admin.id,
            kind="training", name="e2e", spec=spec, queue_id=queue.id,
        )  # fmt: skip
        session.add(workload)
        session.flush()
        return workload.id


def wait_for(h: Hangar, wid: str, states: set[str], timeout: float = 60) -> Workload:
    deadline = time.monotonic() + timeout
    while True:
        with h.state.sessions() as session:
            workload = session.get(Workload, wid)
            assert workload is not None
            if workload.state in states:
                return workload
        assert time.monotonic() < deadline, f"stuck in {workload.state}: {workload.state_reason}"
        time.sleep(0.1)


def test_submitted_workload_runs_to_completion(hangar: Hangar) -> None:
    wid = submit(hangar, SPEC)
    workload = wait_for(hangar, wid, {"SUCCEEDED", "FAILED"})
    assert workload.state == "SUCCEEDED", workload.state_reason
    with hangar.state.sessions() as session:
        rules = [
            e.rule
            for e in session.scalars(
                select(WorkloadEvent)
                .where(WorkloadEvent.workload_id == wid, WorkloadEvent.kind == "transition")
                .order_by(WorkloadEvent.id)
            )
        ]
        assert rules == ["queue", "admit", "launched", "succeed"]
        run = session.scalars(select(Run).where(Run.workload_id == wid)).one()
        node = session.scalars(select(RunNode).where(RunNode.run_id == run.id)).one()
        assert node.node_name == hangar.state.backend.inventory().hosts[0].name
        assert session.scalars(select(UsageInterval).where(UsageInterval.run_id == run.id)).one()


def test_request_larger_than_any_node_is_rejected_with_the_reason(hangar: Hangar) -> None:
    huge = {**SPEC, "resources": {**SPEC["resources"], "cpu_millicores": 10**9}}  # type: ignore[dict-item]
    wid = submit(hangar, huge)
    workload = wait_for(hangar, wid, {"FAILED", "SUCCEEDED"})
    assert workload.state == "FAILED"
    assert workload.state_reason
