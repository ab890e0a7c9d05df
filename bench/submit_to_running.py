"""Submit-to-RUNNING latency on the local backend, through the server's own loops.

Starts Hangar in-process (SQLite in a temp dir, the real scheduler and reconciler loops, the
local backend with its sandbox setting), submits workloads one at a time and measures the time
from the committed submission to the moment the workload is RUNNING in the database.
Prints p50/p90/max against the 500 ms target.

    .venv/bin/python bench/submit_to_running.py [--jobs 30] [--interval 0.5] [--sandbox auto]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from sqlalchemy import select

from hangar.app import build_state, create_app
from hangar.config import load_settings
from hangar.db.engine import transaction
from hangar.resources.queues import ensure_default_queue
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.orm import Workload

TARGET_MS = 500
SPEC = {
    "command": "sleep 30",
    "env": {},
    "node_count": 1,
    "procs_per_node": 1,
    "resources": {"cpu_millicores": 100, "mem_bytes": 64 * 2**20, "gpus": 0},
    "request": {"cpu_millicores": 100, "mem_bytes": 64 * 2**20, "gpus": 0},
    "restart": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--interval", type=float, default=None, help="scheduler interval (s)")
    parser.add_argument("--sandbox", default="auto", choices=["auto", "required", "off"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        home = Path(tmp)
        overrides = {"scheduler_interval_seconds": args.interval} if args.interval else {}
        settings = load_settings(
            home=home, admin_password="bench-pass-123", config_file=home / "none.toml",
            sandbox=args.sandbox, **overrides,
        )  # fmt: skip
        state, _ = build_state(settings)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, state), port=0, log_level="error")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        latencies = []
        ids = []
        for n in range(args.jobs):
            with transaction(state.sessions) as session:
                admin = session.scalars(select(User).where(User.username == "admin")).one()
                ws = session.scalars(select(Workspace).where(Workspace.is_default)).one()
                queue = ensure_default_queue(session, tenant_id=admin.tenant_id)
                workload = Workload(
                    tenant_id=admin.tenant_id, workspace_id=ws.id, created_by=admin.id,
                    kind="training", name=f"b{n}", spec=SPEC, queue_id=queue.id,
                )  # fmt: skip
                session.add(workload)
                session.flush()
                wid = workload.id
            state.wake_scheduler()  # what the jobs API does after committing a submission
            start = time.perf_counter()
            while True:
                with state.sessions() as session:
                    if session.get(Workload, wid).state == "RUNNING":  # type: ignore[union-attr]
                        break
                time.sleep(0.005)
            latencies.append((time.perf_counter() - start) * 1000)
            ids.append(wid)
        server.should_exit = True
        handles = state.backend.adopt(None)
        for handle in handles:
            state.backend.stop(handle, grace_seconds=0)
        while not all(state.backend.poll(h).finished for h in handles):
            time.sleep(0.05)
    p50 = statistics.median(latencies)
    p90 = statistics.quantiles(latencies, n=10)[-1]
    print(
        f"jobs: {args.jobs}; scheduler interval: {settings.scheduler_interval_seconds} s; "
        f"sandbox: {state.backend.isolation_enabled}"
    )
    print(f"submit -> RUNNING  p50 {p50:.0f} ms  p90 {p90:.0f} ms  max {max(latencies):.0f} ms")
    print(f"p50 vs target {TARGET_MS} ms: {TARGET_MS / p50:.2f}x headroom")


if __name__ == "__main__":
    main()
