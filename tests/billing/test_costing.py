"""What is costing me now (``/api/v1/costs`` and ``billing.costing``) on the real app and
database: running jobs with their rates and accruals (matching what settlement then writes),
who sees what under each scope, stopped dev environments' kept caches, storage over the free
quota, and bad input.

The app's loops stay still (``quiet_hangar``): jobs are driven to RUNNING through the same
services the loops use, and their usage intervals opened as the reconciler opens them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.costing import what_costs
from hangar.billing.money import Unit
from hangar.billing.orm import LedgerEntry, StoragePeak
from hangar.billing.service import do_add_price
from hangar.billing.settlement import settle
from hangar.db.engine import transaction
from hangar.devenvs.orm import DevEnvironment
from hangar.tenancy.access import Actor, tenant_roles
from hangar.tenancy.orm import User
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.service import do_close_usage, do_open_usage
from tests.jobs.support import JOBS, Team, build_team, drive, quiet_hangar
from tests.support import Api, Hangar, assert_error

COSTS = "/api/v1/costs"
GIB = 1024**3


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


@pytest.fixture
def quiet_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def price(h: Hangar, meter: str, rate: str, since: datetime) -> None:
    """A price version dated in the past, written directly (the API never backdates)."""
    with transaction(h.state.sessions) as session:
        do_add_price(
            session, tenant_id=None, meter=meter, rate_per_hour=rate, unit=Unit.DCU,
            effective_from=since, now=since, created_by=None,
        )  # fmt: skip


def running_job(
    t: Team, who: str, name: str, *, started: datetime, gpus: int = 0, gpu_model: str = ""
) -> dict[str, Any]:
    """Submit as ``who``, drive to RUNNING and open its usage at ``started`` as the run
    reconciler does (the nodes holding ``gpus`` cards of ``gpu_model``)."""
    job = t.submit(who, name=name)
    drive(t.h, job["id"], "queue", "admit", "launched")
    with transaction(t.h.state.sessions) as session:
        workload = session.get(Workload, job["id"])
        assert workload is not None
        run = session.scalars(select(Run).where(Run.workload_id == job["id"])).one()
        nodes = session.scalars(select(RunNode).where(RunNode.run_id == run.id)).all()
        for node in nodes:
            node.resources = {**node.resources, "gpus": gpus, "gpu_model": gpu_model}
        do_open_usage(session, workload, run, nodes, segment=0, now=started)
    return job


def actor_of(session: Any, username: str) -> Actor:
    user = session.scalars(select(User).where(User.username == username)).one()
    return Actor(user=user, tenant_roles=tenant_roles(session, user), via="session")


def only(items: list[dict[str, Any]], item_id: str) -> dict[str, Any]:
    [found] = [i for i in items if i["id"] == item_id]
    return found


def test_a_running_job_shows_its_rate_per_hour_and_stop_endpoint(quiet_any: Hangar) -> None:
    now = datetime.now(UTC)
    price(quiet_any, "dc100-40g", "1.28", now - timedelta(days=1))
    t = build_team(quiet_any, {"dev": "developer"})
    job = running_job(t, "dev", "train-2x", started=now - timedelta(minutes=90), gpus=2,
                      gpu_model="dc100-40g")  # fmt: skip

    costs = t.api("dev").call("GET", COSTS)
    assert costs["scope"] == "me" and costs["workspace_id"] is None
    item = only(costs["items"], job["id"])
    assert (item["kind"], item["name"], item["state"]) == ("job", "train-2x", "RUNNING")
    assert item["workspace_name"] == "TeamA" and item["username"] == "dev"
    meters = {m["meter"]: m for m in item["meters"]}
    gpu = meters["dc100-40g"]
    # 2 cards × 1.28 DCU/h = 2.56 DCU/h
    assert (gpu["quantity"], gpu["rate_per_hour"], gpu["per_hour"], gpu["unit"]) == (
        "2", "1.28", "2.56", "DCU",
    )  # fmt: skip
    # CPU and memory have no price: shown, not billed.
    assert meters["cpu"]["rate_per_hour"] is None and meters["cpu"]["note"] == "not priced"
    assert Decimal(gpu["accrued_total"]) >= Decimal("3.8")  # 1.5 h × 2.56, a little more
    assert item["stoppable"] is True and item["stop_url"] == f"{JOBS}/{job['id']}/stop"
    assert item["hint"] == f"hangar jobs stop {job['id']}"
    assert costs["totals"][0]["unit"] == "DCU" and costs["totals"][0]["per_hour"] == "2.56"

    # Stopping through the job endpoint: STOPPING is still billed until the backend confirms.
    t.api("dev").call("POST", item["stop_url"])
    stopping = only(t.api("dev").call("GET", COSTS)["items"], job["id"])
    assert stopping["state"] == "STOPPING" and stopping["stoppable"] is False
    assert "billed until the backend confirms" in stopping["note"]
    # What the reconciler does once the backend confirms: close the usage, then "stopped".
    with transaction(quiet_any.state.sessions) as session:
        run = session.scalars(select(Run).where(Run.workload_id == job["id"])).one()
        do_close_usage(session, run, now=datetime.now(UTC))
    drive(quiet_any, job["id"], "stopped")
    assert t.api("dev").call("GET", COSTS)["items"] == []


def test_accruals_are_what_settlement_charges(quiet: Hangar) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    price(quiet, "cpu", "0.5", t0)
    price(quiet, "memory", "0.02", t0)
    t = build_team(quiet, {"dev": "developer"})
    job = running_job(t, "dev", "cpu-job", started=t0 + timedelta(hours=8, minutes=20))
    now = t0 + timedelta(hours=10, minutes=15)
    with quiet.state.sessions() as session:
        view = what_costs(
            session, actor_of(session, "dev"), scope="me", now=now, catalog=DEFAULT_CATALOG,
            cache_retention_days=5,
        )  # fmt: skip
    [item] = view.items
    assert item.id == job["id"] and item.since == t0 + timedelta(hours=8, minutes=20)
    by_meter = {m.meter: m for m in item.meters}
    # The job's spec: 2 cores × 0.5 = 1 DCU/h; 4 GiB × 0.02 = 0.08 DCU/h.
    assert by_meter["cpu"].per_hour is not None and by_meter["cpu"].per_hour.value == 1
    assert by_meter["memory"].per_hour is not None
    assert by_meter["memory"].per_hour.value == Decimal("0.08")
    [dcu] = view.totals
    assert dcu.per_hour.value == Decimal("1.08")
    # This hour: 15 minutes at 1.08 DCU/h; the run: 1 h 55 min.
    assert dcu.accrued_hour.value == Decimal("0.27")
    assert dcu.accrued_total.value == Decimal("2.07")
    settle(quiet.state.sessions, now=now)
    with quiet.state.sessions() as session:
        ledger = sum(Decimal(a) for a in session.scalars(select(LedgerEntry.amount)))
    assert ledger == dcu.accrued_total.value - dcu.accrued_hour.value


def test_scopes_me_workspace_and_tenant(quiet: Hangar) -> None:
    now = datetime.now(UTC)
    price(quiet, "cpu", "0.5", now - timedelta(days=1))
    t = build_team(quiet, {"dev": "developer", "dev2": "developer", "boss": "admin"})
    mine = running_job(t, "dev", "dev-job", started=now - timedelta(minutes=5))
    theirs = running_job(t, "dev2", "dev2-job", started=now - timedelta(minutes=5))
    ws = t.ws["id"]

    # A user sees only their own under "me", and may stop it.
    dev = t.api("dev")
    assert [i["id"] for i in dev.call("GET", COSTS)["items"]] == [mine["id"]]
    # API tokens: job items need a training read scope; stopping needs training:write.
    for scopes, seen, stoppable in ((["devenv:read"], [], None),
                                    (["training:read"], [mine["id"]], False),
                                    (["training:write"], [mine["id"]], True)):  # fmt: skip
        created = dev.call(
            "POST", "/api/v1/tokens", 201, json={"name": scopes[0], "scopes": scopes}
        )
        scoped = Api(quiet.client, created["token"], "dev")
        items = scoped.call("GET", COSTS)["items"]
        assert [i["id"] for i in items] == seen
        assert all(i["stoppable"] is stoppable for i in items)
    # A member is refused the tenant and the workspace scope.
    err = assert_error(dev.get(COSTS, params={"scope": "tenant"}), 403)
    assert "needs one of the tenant roles" in err["message"]
    err = assert_error(dev.get(COSTS, params={"scope": "workspace", "workspace": ws}), 403)
    assert "for its admins" in err["message"]

    # The workspace's admin sees both (by id or name) and may stop both.
    boss = t.api("boss")
    for ref in (ws, "TeamA"):
        view = boss.call("GET", COSTS, params={"scope": "workspace", "workspace": ref})
        assert view["workspace_id"] == ws
        assert {i["id"] for i in view["items"]} == {mine["id"], theirs["id"]}
        assert all(i["stoppable"] for i in view["items"])
        assert view["totals"][0]["per_hour"] == "2"  # 2 jobs × 2 cores × 0.5
    assert boss.call("GET", COSTS)["items"] == []  # "me": the admin runs nothing

    # Tenant admins see the whole tenant.
    tenant = quiet.admin.call("GET", COSTS, params={"scope": "tenant"})
    assert {i["id"] for i in tenant["items"]} == {mine["id"], theirs["id"]}
    # Someone outside the workspace gets a 404 for it, never its contents.
    _user, outsider = quiet.user_api("outsider")
    assert_error(outsider.get(COSTS, params={"scope": "workspace", "workspace": ws}), 404)
    assert outsider.call("GET", COSTS)["items"] == []


def test_bad_scope_and_missing_workspace_are_422(quiet: Hangar) -> None:
    err = assert_error(quiet.admin.get(COSTS, params={"scope": "planet"}), 422)
    assert "scope" in err["fields"] and "me, workspace, tenant" in err["message"]
    err = assert_error(quiet.admin.get(COSTS, params={"scope": "workspace"}), 422)
    assert "workspace" in err["fields"]


def test_a_stopped_dev_environments_kept_cache(quiet_any: Hangar) -> None:
    now = datetime.now(UTC)
    user, api = quiet_any.user_api("nora")
    ws = quiet_any.default_workspace()
    quiet_any.add_member(ws["id"], user["id"], "developer")
    body = {"workspace_id": ws["id"], "name": "stopped-lab",
            "resources": {"cpu_cores": 0.5, "mem_gib": 0.25}}  # fmt: skip
    env = api.call("POST", "/api/v1/devenvs", 201, json=body)
    assert api.call("GET", COSTS)["items"] == []  # never started: nothing kept
    with transaction(quiet_any.state.sessions) as session:
        # What a start and a stop two days ago leave behind.
        workload = session.get(Workload, env["id"])
        row = session.get(DevEnvironment, env["id"])
        assert workload is not None and row is not None
        workload.run_count = 1
        row.stopped_at = now - timedelta(days=2)
    [cache] = api.call("GET", COSTS)["items"]
    assert (cache["id"], cache["kind"], cache["stoppable"]) == (env["id"], "devenv_cache", False)
    assert cache["meters"] == [] and cache["hint"] == f"hangar dev delete {env['id']}"
    until = datetime.fromisoformat(cache["until"])
    assert abs(until - (now + timedelta(days=3))) < timedelta(seconds=5)  # 5 days after the stop
    assert only(quiet_any.admin.call("GET", COSTS, params={"scope": "tenant"})["items"], env["id"])
    with transaction(quiet_any.state.sessions) as session:
        row = session.get(DevEnvironment, env["id"])
        assert row is not None
        row.cache_purged_at = now  # the retention loop purged it
    assert api.call("GET", COSTS)["items"] == []


def peak(h: Hangar, kind: str, owner: str, gib: int) -> None:
    now = datetime.now(UTC)
    with transaction(h.state.sessions) as session:
        tid = session.scalars(select(User.tenant_id).where(User.username == "admin")).one()
        session.add(
            StoragePeak(owner_kind=kind, owner_id=owner or tid, day=now.date().isoformat(),
                        tenant_id=tid, peak_bytes=gib * GIB, last_bytes=gib * GIB, sampled_at=now)
        )  # fmt: skip


def test_storage_over_the_free_quota_on_settlements_terms(quiet: Hangar) -> None:
    user, api = quiet.user_api("nora")
    peak(quiet, "user", user["id"], 20)
    peak(quiet, "tenant", "", 50)
    # A postpaid tenant without a storage price: storage is not billed, nothing is shown.
    assert quiet.admin.call("GET", COSTS, params={"scope": "tenant"})["items"] == []
    # Prepaid on the Trial plan: 30 GB free; peak 50 GB → 20 GB × 0.0015 DCU = 0.03 DCU today.
    quiet.admin.call(
        "POST", "/api/v1/billing/wallet/events", 201, json={"kind": "subscribe", "key": "trial"}
    )
    tenant = quiet.admin.call("GET", COSTS, params={"scope": "tenant"})
    [item] = tenant["items"]
    assert (item["kind"], item["name"], item["stoppable"]) == (
        "storage",
        "storage of the tenant",
        False,
    )
    [meter] = item["meters"]
    assert (meter["meter"], meter["quantity"], meter["accrued_total"]) == ("storage", "20", "0.03")
    assert meter["per_hour"] == "0.00125" and meter["unit"] == "DCU"  # 20 × 0.0015 / 24
    assert "20 GB over its 30 GB free" in meter["note"]
    assert tenant["totals"] == [
        {"unit": "DCU", "per_hour": "0.00125", "accrued_hour": "0", "accrued_total": "0.03"}
    ]
    # Nora sees her share of the peak (the tenant is charged, not her); the admin stores none.
    [mine] = api.call("GET", COSTS)["items"]
    assert mine["id"] == f"user:{user['id']}" and mine["meters"] == []
    assert mine["note"].startswith("20.00 GB of it is here today")
    assert quiet.admin.call("GET", COSTS)["items"] == []
    # Within the quota: nothing.
    with transaction(quiet.state.sessions) as session:
        session.scalars(
            select(StoragePeak).where(StoragePeak.owner_kind == "tenant")
        ).one().peak_bytes = 30 * GIB
    assert quiet.admin.call("GET", COSTS, params={"scope": "tenant"})["items"] == []
    assert api.call("GET", COSTS)["items"] == []


def test_a_kept_alive_dev_environment_says_so(quiet: Hangar) -> None:
    now = datetime.now(UTC)
    price(quiet, "cpu", "0.5", now - timedelta(days=1))
    user, dev = quiet.user_api("dana")
    ws = quiet.default_workspace()
    quiet.add_member(ws["id"], user["id"], "developer")
    body = {"workspace_id": ws["id"], "name": "lab", "resources": {"cpu_cores": 1, "mem_gib": 1}}
    env = dev.call("POST", "/api/v1/devenvs", 201, json=body)
    dev.call("POST", f"/api/v1/devenvs/{env['id']}/start")
    drive(quiet, env["id"], "queue", "admit", "launched")
    with transaction(quiet.state.sessions) as session:
        workload = session.get(Workload, env["id"])
        assert workload is not None
        run = session.scalars(select(Run).where(Run.workload_id == env["id"])).one()
        nodes = session.scalars(select(RunNode).where(RunNode.run_id == run.id)).all()
        do_open_usage(session, workload, run, nodes, segment=0, now=now - timedelta(minutes=3))
    dev.call("POST", f"/api/v1/devenvs/{env['id']}/keep-alive")
    item = only(dev.call("GET", COSTS)["items"], env["id"])
    assert item["kind"] == "devenv" and item["kept_alive"] is True
    assert item["stop_url"] == f"/api/v1/devenvs/{env['id']}/stop" and item["stoppable"]
    assert item["hint"] == f"hangar dev stop {env['id']}"
    assert item["note"] == "no idle stop: runs, and bills, until stopped"
