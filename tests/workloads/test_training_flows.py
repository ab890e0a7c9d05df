"""Training flows through the whole platform (scheduler, reconciler, local backend, sandbox):
a real 2-node × 2-process torchrun all-reduce, and a job killed mid-way that resumes from its
last complete checkpoint to the right answer."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hangar.db.engine import transaction
from hangar.resources.queues import ensure_default_queue
from hangar.tenancy.orm import User
from hangar.workloads.orm import UsageInterval, Workload, WorkloadEvent
from tests.support import Hangar

pytestmark = pytest.mark.slow

if importlib.util.find_spec("torch") is None:  # pragma: no cover
    pytest.fail("torch==2.13.0 is a dev dependency: pip install -e '.[dev]'", pytrace=False)

ALLREDUCE = """
import os, torch, torch.distributed as dist
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
print(f"rank {rank}/{world} node {os.environ['PET_NODE_RANK']} sum {value.item():g}", flush=True)
assert world == 4 and value.item() == 10.0
with open(os.path.join(os.environ["HANGAR_OUTPUT_DIR"], f"rank-{rank}.txt"), "w") as fh:
    fh.write(f"{value.item():g}")
dist.destroy_process_group()
"""

TORCHRUN = (
    "python -m torch.distributed.run --nnodes $PET_NNODES --node-rank $PET_NODE_RANK "
    "--nproc-per-node $PET_NPROC_PER_NODE --master-addr $PET_MASTER_ADDR "
    '--master-port $PET_MASTER_PORT "$HANGAR_WORK_DIR/home/allreduce.py"'
)

# Sums 1..20 one step at a time, checkpointing every step with the runtime helper. The first
# attempt SIGKILLs itself after step 10; the restart must resume at step 11, not at 1.
RESUMABLE = """
import os, signal
from hangar.runtimes import checkpoint
last = checkpoint.latest()
step, total = (last.step, last.load()) if last else (0, 0)
print(f"starting after step {step} with total {total}", flush=True)
for n in range(step + 1, 21):
    total += n
    checkpoint.save(total, n)
    if n == 10 and last is None:
        os.kill(os.getpid(), signal.SIGKILL)
with open(os.path.join(os.environ["HANGAR_OUTPUT_DIR"], "result.txt"), "w") as fh:
    fh.write(str(total))
"""


def submit(h: Hangar, command: str, files: dict[str, str], **spec: Any) -> str:
    """Write ``files`` into the admin's /work/home, then submit the workload."""
    ws = h.default_workspace()
    with transaction(h.state.sessions) as session:
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        queue = ensure_default_queue(session, tenant_id=admin.tenant_id)
        home = h.state.settings.home / "users" / admin.id / "home"
        home.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (home / name).write_text(text)
        per_node = {"cpu_millicores": 1000, "mem_bytes": 3 * 2**30, "gpus": 0}
        nodes = spec.pop("node_count", 1)
        full = {
            "command": command, "env": {}, "node_count": nodes, "procs_per_node": 1,
            "resources": per_node, "restart": {}, **spec,
        }  # fmt: skip
        workload = Workload(
            tenant_id=admin.tenant_id, workspace_id=ws["id"], created_by=admin.id,
            kind="training", name="flow", spec=full, queue_id=queue.id,
        )  # fmt: skip
        session.add(workload)
        session.flush()
        return workload.id


def wait_done(h: Hangar, wid: str, timeout: float = 180) -> Workload:
    deadline = time.monotonic() + timeout
    while True:
        with h.state.sessions() as session:
            workload = session.get(Workload, wid)
            assert workload is not None
            if workload.state in {"SUCCEEDED", "FAILED", "STOPPED"}:
                return workload
        assert time.monotonic() < deadline, f"stuck in {workload.state}: {workload.state_reason}"
        time.sleep(0.2)


def output_dir(h: Hangar, wid: str) -> Path:
    return h.state.settings.home / "workloads" / wid / "output"


def test_two_node_two_process_torchrun_allreduce(hangar: Hangar) -> None:
    wid = submit(hangar, TORCHRUN, {"allreduce.py": ALLREDUCE}, node_count=2, procs_per_node=2)
    workload = wait_done(hangar, wid)
    assert workload.state == "SUCCEEDED", workload.state_reason
    results = sorted(p.read_text() for p in output_dir(hangar, wid).glob("rank-*.txt"))
    assert results == ["10"] * 4


def test_killed_job_resumes_from_last_complete_checkpoint(hangar: Hangar) -> None:
    wid = submit(
        hangar, 'python "$HANGAR_WORK_DIR/home/resumable.py"', {"resumable.py": RESUMABLE},
        restart={"fault_tolerance": True, "max_restarts_per_error": 3},
    )  # fmt: skip
    workload = wait_done(hangar, wid)
    assert workload.state == "SUCCEEDED", workload.state_reason
    assert (output_dir(hangar, wid) / "result.txt").read_text() == str(sum(range(1, 21)))
    assert workload.restart_count == 1
    with hangar.state.sessions() as session:
        events = session.scalars(
            select(WorkloadEvent).where(WorkloadEvent.workload_id == wid).order_by(WorkloadEvent.id)
        ).all()
        rules = [e.rule for e in events if e.kind == "transition"]
        assert rules == ["queue", "admit", "launched", "fault", "resume", "succeed"]
        alerts = [e.message for e in events if e.kind == "alert"]
        assert any(a.startswith("task abnormal") for a in alerts)
        assert any(a.startswith("resumed after fault") for a in alerts)
        assert (
            len(
                session.scalars(select(UsageInterval).where(UsageInterval.workload_id == wid)).all()
            )
            == 2
        )
