"""Jobs test support: a Hangar whose loops stay still, a team setup, and state drivers.

``quiet_hangar`` serves the real app without its lifespan, so the scheduler and the run
reconciler never run on their own: a job's state changes only when a test drives it, through
the same services the loops use (``do_transition``, ``run_cycle``, ``RunReconciler.step``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hangar.app import build_state, create_app
from hangar.db.engine import transaction
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.service import current_run, do_start_run, do_transition
from tests.resources.conftest import Setup, build_setup
from tests.support import Api, Hangar, test_settings

JOBS = "/api/v1/jobs"
GIB = 1024**3


@contextmanager
def quiet_hangar(home: Path, database_url: str, **overrides: Any) -> Iterator[Hangar]:
    settings = test_settings(home, database_url, **{"sandbox": "off", **overrides})
    state, _first = build_state(settings)
    app = create_app(settings, state)
    client = TestClient(app, base_url="http://127.0.0.1")  # not entered: no lifespan, no loops
    try:
        yield Hangar(settings=settings, state=state, app=app, client=client)
    finally:
        client.close()
        state.engine.dispose()


def job_body(ws_id: str, name: str = "resnet", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "workspace_id": ws_id, "name": name, "command": "python train.py",
        "mode": "single", "resources": {"cpu_cores": 2, "mem_gib": 4},
    }  # fmt: skip
    body.update(changes)
    return body


@dataclass
class Team:
    """``Setup`` (cluster ded-a: 2 × 8 H800; workspace TeamA) plus quota ``team-q``
    (12 × 1-card H800, training) associated with TeamA, and TeamA's members."""

    s: Setup
    quota: dict[str, Any]
    users: dict[str, dict[str, Any]]
    apis: dict[str, Api]

    @property
    def h(self) -> Hangar:
        return self.s.h

    @property
    def ws(self) -> dict[str, Any]:
        return self.s.workspace

    def api(self, who: str) -> Api:
        return self.s.admin if who == "admin" else self.apis[who]

    def submit(self, who: str = "admin", status: int = 201, **changes: Any) -> dict[str, Any]:
        name = changes.pop("name", f"job-{who}")
        body = job_body(self.ws["id"], name, **changes)
        job: dict[str, Any] = self.api(who).call("POST", JOBS, status, json=body)
        return job


def build_team(h: Hangar, members: dict[str, str]) -> Team:
    """``members``: username → role in TeamA ("developer", "operator" or "admin")."""
    s = build_setup(h)
    quota = s.quota("team-q", cards=1, instance_count=12, weight=50,
                    workspace_ids=[s.workspace["id"]])  # fmt: skip
    users, apis = {}, {}
    for username, role in members.items():
        user, api = h.user_api(username)
        if role:
            h.add_member(s.workspace["id"], user["id"], role)
        users[username], apis[username] = user, api
    return Team(s, quota, users, apis)


def drive(h: Hangar, job_id: str, *rules: str, node: str = "gpu-a1") -> None:
    """Apply lifecycle rules as the loops would; ``admit`` also creates the run and nodes."""
    with transaction(h.state.sessions) as session:
        job = session.get(Workload, job_id)
        assert job is not None
        for rule in rules:
            run = current_run(session, job)
            if rule == "admit":
                do_transition(session, job, rule)
                run = do_start_run(session, job, backend="local")
                res = {k: job.spec["resources"][k] for k in ("cpu_millicores", "mem_bytes", "gpus")}
                for rank in range(int(job.spec["node_count"])):
                    session.add(RunNode(run_id=run.id, rank=rank, node_name=node, resources=res))
            else:
                do_transition(session, job, rule, run=run if rule != "queue" else None)


def runs_of(h: Hangar, job_id: str) -> list[Run]:
    with h.state.sessions() as session:
        return list(
            session.scalars(select(Run).where(Run.workload_id == job_id).order_by(Run.number))
        )
