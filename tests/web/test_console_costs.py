"""Console: the "Costs now" page. A real job runs on the local backend (the app's own
scheduler and reconciler), shows up with its rate per hour, and its Stop button stops it
through the job's stop service until it is gone from the page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hangar.billing.money import Unit
from hangar.billing.service import do_add_price
from hangar.db.engine import transaction
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.service import do_open_usage
from tests.jobs.support import drive, quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Api, Hangar
from tests.web.console import logged_in

COSTS = "/api/v1/costs"
JOBS = "/api/v1/jobs"
DEVENVS = "/api/v1/devenvs"


def until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def priced(h: Hangar) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    with transaction(h.state.sessions) as session:
        for meter, rate in (("cpu", "0.5"), ("memory", "0.02")):
            do_add_price(
                session, tenant_id=None, meter=meter, rate_per_hour=rate, unit=Unit.DCU,
                effective_from=since, now=since, created_by=None,
            )  # fmt: skip


def running_job(h: Hangar, api: Api, name: str) -> dict[str, Any]:
    body = {"workspace_id": h.default_workspace()["id"], "name": name, "command": "sleep 300",
            "mode": "single", "resources": {"cpu_cores": 0.5, "mem_gib": 0.25}}  # fmt: skip
    job: dict[str, Any] = api.call("POST", JOBS, 201, json=body)
    until(lambda: api.call("GET", COSTS)["items"], f"{name} to run")
    return job


def row_of(page: str, job_id: str) -> str:
    row = re.search(rf'<tr id="cost-job-{job_id}">.*?</tr>', page, re.S)
    assert row is not None, page
    return row.group(0)


def test_stop_from_the_costs_page_and_the_job_is_gone(hangar: Hangar) -> None:
    priced(hangar)
    user, api = hangar.user_api("vera")
    hangar.add_member(hangar.default_workspace()["id"], user["id"], "developer")
    other, other_api = hangar.user_api("otto")
    hangar.add_member(hangar.default_workspace()["id"], other["id"], "developer")
    job = running_job(hangar, api, "costly")
    theirs = running_job(hangar, other_api, "not-mine")
    try:
        vera = logged_in(hangar, "vera", USER_PASSWORD)
        page = vera.get("/costs")
        assert page.status_code == 200, page.text
        assert 'aria-current="page">Costs now' in page.text
        row = row_of(page.text, job["id"])
        # 0.5 cores × 0.5 + 0.25 GiB × 0.02 = 0.255 DCU/h
        assert "0.25 DCU" in row and "0.005 DCU" in row and "running" in row
        assert f"hangar jobs stop {job['id']}" in row and ">Stop</button>" in row
        assert "Total DCU: 0.255/h" in page.text
        assert theirs["id"] not in page.text  # only her own under "Mine"
        assert "Whole tenant" not in page.text and "?scope=workspace" not in page.text
        assert vera.get("/costs?scope=tenant").status_code == 403

        # Without the CSRF token nothing stops.
        refused = vera.htmx("POST", f"/costs/job/{job['id']}/stop", {"scope": "me"}, csrf=False)
        assert refused.status_code == 403
        # Otto's job is not hers to stop (matrix: a developer on others' data).
        assert vera.htmx("POST", f"/costs/job/{theirs['id']}/stop").status_code == 403

        stopped = vera.htmx("POST", f"/costs/job/{job['id']}/stop", {"scope": "me"})
        assert stopped.status_code == 200, stopped.text
        assert stopped.text.startswith('<section id="costs"')
        assert "Stopping job costly" in stopped.text
        assert ">Stop</button>" not in row_of(stopped.text, job["id"])  # stopping now
        assert 'hx-trigger="every 3s"' in stopped.text
        until(
            lambda: job["id"] not in vera.get("/costs/section?scope=me").text,
            "the stopped job to leave the page",
        )
        assert api.call("GET", f"{JOBS}/{job['id']}")["state"] == "STOPPED"
        assert "Nothing is costing anything now." in vera.get("/costs").text

        # The tenant admin sees the whole tenant, and stops otto's job from there.
        admin = logged_in(hangar, "admin", ADMIN_PASSWORD)
        tenant = admin.get("/costs?scope=tenant")
        assert "Whole tenant" in tenant.text and ">Stop</button>" in row_of(
            tenant.text, theirs["id"]
        )
        answer = admin.htmx("POST", f"/costs/job/{theirs['id']}/stop", {"scope": "tenant"})
        assert answer.status_code == 200 and "Stopping job not-mine" in answer.text
    finally:
        for found in (job, theirs):
            if hangar.admin.call("GET", f"{JOBS}/{found['id']}")["state"] == "RUNNING":
                hangar.admin.call("POST", f"{JOBS}/{found['id']}/stop")


def test_stop_a_dev_environment_from_the_costs_page(tmp_path: Path) -> None:
    with quiet_hangar(tmp_path / "home", f"sqlite:///{tmp_path}/h.db") as h:
        priced(h)
        user, api = h.user_api("dora")
        ws = h.default_workspace()
        h.add_member(ws["id"], user["id"], "developer")
        body = {"workspace_id": ws["id"], "name": "lab",
                "resources": {"cpu_cores": 1, "mem_gib": 1}}  # fmt: skip
        env = api.call("POST", DEVENVS, 201, json=body)
        api.call("POST", f"{DEVENVS}/{env['id']}/start")
        drive(h, env["id"], "queue", "admit", "launched")
        with transaction(h.state.sessions) as session:
            workload = session.get(Workload, env["id"])
            assert workload is not None
            run = session.scalars(select(Run).where(Run.workload_id == env["id"])).one()
            nodes = session.scalars(select(RunNode).where(RunNode.run_id == run.id)).all()
            do_open_usage(session, workload, run, nodes, segment=0, now=datetime.now(UTC))

        dora = logged_in(h, "dora", USER_PASSWORD)
        page = dora.get("/costs")
        row = re.search(rf'<tr id="cost-devenv-{env["id"]}">.*?</tr>', page.text, re.S)
        assert row is not None, page.text
        assert "0.5 DCU" in row.group(0) and "0.02 DCU" in row.group(0)
        assert "Total DCU: 0.52/h" in page.text  # 1 core × 0.5 + 1 GiB × 0.02
        assert f"hangar dev stop {env['id']}" in row.group(0)
        answer = dora.htmx("POST", f"/costs/devenv/{env['id']}/stop", {"scope": "me"})
        assert answer.status_code == 200, answer.text
        assert "Stopping dev environment lab" in answer.text
        assert api.call("GET", f"{DEVENVS}/{env['id']}")["state"] == "STOPPING"
        again = dora.htmx("POST", f"/costs/devenv/{env['id']}/stop", {"scope": "me"})
        assert again.status_code == 409 and "already stopping" in again.text
        assert dora.htmx("POST", f"/costs/image/{env['id']}/stop").status_code == 404
