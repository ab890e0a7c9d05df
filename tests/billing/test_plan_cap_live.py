"""The plan parallelism cap in the live scheduler cycle: a subscribed tenant's GPU jobs are
admitted while Σ cards × weight fits the plan (Basic: 4), then wait or are rejected with the
figures; upgrading raises the cap at once (J5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.backends.inventory import Inventory
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.resources.inventory import sync_inventory
from hangar.scheduling.loop import run_cycle
from tests.devenvs.test_vgpu import default_cluster
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.resources.conftest import GIB, gpus, host
from tests.support import Hangar

MODEL = "DC100 (Hopper) 80G"  # the catalog's name for dc100-80g: weight 2


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        with transaction(h.state.sessions) as session:
            cards = Inventory(hosts=(host("gpu-p1", 64, 512, gpus("gpu-p1", MODEL, 80, 8)),))
            sync_inventory(session, cards, backend="ci")
        yield h


def spec(h: Hangar, cards: int) -> str:
    body = {"cluster_id": default_cluster(h)["id"], "cpu_millicores": 1000,
            "mem_bytes": GIB, "accel_model": MODEL, "accel_count": cards}  # fmt: skip
    created: dict[str, Any] = h.admin.call("POST", "/api/v1/specs", 201, json=body)
    return str(created["id"])


def submit(h: Hangar, name: str, spec_id: str) -> str:
    body = job_body(h.default_workspace()["id"], name, resources={"spec_id": spec_id})
    return str(h.admin.call("POST", JOBS, 201, json=body)["id"])


def cycle(h: Hangar) -> None:
    with transaction(h.state.sessions) as session:
        run_cycle(session, now=utcnow())


def job(h: Hangar, job_id: str) -> tuple[str, str]:
    found = h.admin.call("GET", f"{JOBS}/{job_id}")
    return found["state"], found["state_reason"]


def subscribe(h: Hangar, plan: str) -> None:
    h.admin.call("POST", "/api/v1/billing/wallet/events", 201,
                 json={"kind": "subscribe", "key": plan})  # fmt: skip


def test_basic_plan_admits_four_units_then_waits_rejects_and_an_upgrade_lifts_it(
    quiet: Hangar,
) -> None:
    h = quiet
    two, four = spec(h, 2), spec(h, 4)
    subscribe(h, "basic")  # parallelism 4; an 80G card weighs 2
    first = submit(h, "first", two)
    cycle(h)
    assert job(h, first)[0] in {"ADMITTED", "PREPARING", "RUNNING", "STARTING"}
    second = submit(h, "second", two)
    body = job_body(h.default_workspace()["id"], "too-big", resources={"spec_id": four})
    refused = h.admin.call("POST", JOBS, 409, json=body)
    assert "this asks 8 (cards × card-model weight) and plan 'Basic' allows 4" in str(refused)
    assert "it could never start" in str(refused)
    cycle(h)
    state, reason = job(h, second)
    assert state == "QUEUED"
    assert "plan 'Basic' allows 4" in reason and "it asks 4" in reason, reason
    assert "running work holds 4" in reason, reason
    subscribe(h, "advanced")  # an upgrade applies at once (J5): parallelism 8
    cycle(h)
    assert job(h, second)[0] != "QUEUED"


def test_postpaid_tenants_have_no_plan_cap(quiet: Hangar) -> None:
    h = quiet
    four = spec(h, 4)
    ids = [submit(h, f"j{i}", four) for i in range(2)]
    cycle(h)
    assert all(job(h, i)[0] != "QUEUED" for i in ids)
