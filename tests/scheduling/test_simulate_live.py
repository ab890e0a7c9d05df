"""The simulator and the live scheduler decide alike for the same sequence of events: jobs
submitted one by one to a real server (database, inventory, the builtin queue) and the live
cycle run after each arrival, against the simulator replaying the same arrivals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.backends.inventory import Inventory
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.resources.inventory import sync_inventory
from hangar.scheduling.decisions import Decision
from hangar.scheduling.loop import run_cycle
from hangar.scheduling.simulate import POLICIES, json_scenario, replay
from tests.devenvs.test_vgpu import default_cluster
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.resources.conftest import GIB, gpus, host
from tests.support import Hangar

JOBS_IN_ORDER = (("first", 6), ("head", 4), ("small", 2))


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        with transaction(h.state.sessions) as session:
            cards = Inventory(hosts=(host("n1", 64, 256, gpus("n1", "G2", 32, 8)),))
            sync_inventory(session, cards, backend="ci")
        yield h


def live_states(h: Hangar) -> list[dict[str, str]]:
    """Submit the jobs one by one, running the live cycle after each; the states each time."""
    seen = []
    ids: dict[str, str] = {}
    for name, cards in JOBS_IN_ORDER:
        spec = h.admin.call(
            "POST", "/api/v1/specs", 201,
            json={"cluster_id": default_cluster(h)["id"], "cpu_millicores": 1000,
                  "mem_bytes": GIB, "accel_model": "G2", "accel_count": cards},
        )  # fmt: skip
        body = job_body(h.default_workspace()["id"], name, resources={"spec_id": spec["id"]})
        ids[name] = h.admin.call("POST", JOBS, 201, json=body)["id"]
        with transaction(h.state.sessions) as session:
            run_cycle(session, now=utcnow())
        seen.append(
            {n: _admitted(h.admin.call("GET", f"{JOBS}/{i}")["state"]) for n, i in ids.items()}
        )
    return seen


def _admitted(state: str) -> str:
    return "waiting" if state in {"QUEUED", "SUBMITTED"} else "admitted"


def simulated_states(tmp_path: Path) -> list[dict[str, str]]:
    scenario = {
        "nodes": [{"name": "n1", "cpu_milli": 64000, "memory_mib": 262144, "gpus": 8,
                   "model": "G2"}],
        "teams": [{"name": "default", "share": 1.0, "weight": 1}],
        "jobs": [{"name": n, "team": "default", "submit": 10 * i, "gpus": c, "cpu_milli": 1000,
                  "memory_mib": 1024, "gpu_spec": ["G2"]}
                 for i, (n, c) in enumerate(JOBS_IN_ORDER)],
    }  # fmt: skip
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    world = json_scenario(path)
    seen: list[dict[str, str]] = []
    state: dict[str, str] = {}

    def record(_t: int, decisions: list[Decision]) -> None:
        for decision in decisions:
            name = world.job(decision.workload_id).name
            if state.get(name) != "admitted":
                state[name] = "admitted" if decision.verdict.value == "admit" else "waiting"
        seen.append(dict(state))

    replay(world, POLICIES["strict"], on_cycle=record)
    return seen


def test_the_simulator_and_the_live_cycle_decide_the_same(live: Hangar, tmp_path: Path) -> None:
    expected = [
        {"first": "admitted"},
        {"first": "admitted", "head": "waiting"},
        {"first": "admitted", "head": "waiting", "small": "waiting"},  # behind the head
    ]
    assert live_states(live) == expected
    assert simulated_states(tmp_path) == expected
