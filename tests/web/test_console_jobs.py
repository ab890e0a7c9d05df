"""Console: the Jobs pages (list, create form with quota picker, detail with runs, events and
live logs, actions) and the Queue page, behind the API's gates. The loops stay still."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.jobs.submission import RQ18
from hangar.workloads.loops import make_reconciler, scheduler_pass
from tests.jobs.support import JOBS, Team, build_team, drive, job_body, quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD
from tests.web.console import Console, logged_in

FORM = {
    "name": "web-job", "command": "python train.py", "mode": "ddp", "worker_count": "2",
    "resource_kind": "custom", "cpu_cores": "2", "mem_gib": "4", "gpus": "1",
    "env": "LR=0.1\n# a comment\nEPOCHS=3", "fault_tolerance": "on",
    "max_restarts_per_error": "2",
}  # fmt: skip


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    with quiet_hangar(tmp_path / "home", f"sqlite:///{tmp_path}/h.db") as h:
        yield build_team(h, {"dev": "developer", "op": "operator"})


def console(team: Team, who: str) -> Console:
    password = ADMIN_PASSWORD if who == "admin" else USER_PASSWORD
    return logged_in(team.h, who, password)


def test_create_a_job_from_the_form(team: Team) -> None:
    dev = console(team, "dev")
    form_page = dev.get(f"/jobs/new?workspace_id={team.ws['id']}")
    assert form_page.status_code == 200, form_page.text
    assert 'id="create-job-form"' in form_page.text and "team-q" in form_page.text
    assert "GPU 0/12" in form_page.text and "Your usage: GPUs 0 of 10000" in form_page.text
    made = dev.htmx("POST", "/jobs", {**FORM, "workspace_id": team.ws["id"],
                                      "pool_id": team.quota["id"]}, form="create-job-form")  # fmt: skip
    assert made.status_code == 200, made.text
    job_id = made.headers["hx-redirect"].rsplit("/", 1)[1]
    job = team.api("dev").call("GET", f"{JOBS}/{job_id}")
    assert job["source"] == "console" and job["env"] == {"LR": "0.1", "EPOCHS": "3"}
    assert job["node_count"] == 3 and job["restart"]["max_restarts_per_error"] == 2
    detail = dev.get(f"/jobs/{job_id}")
    assert detail.status_code == 200 and "web-job" in detail.text
    assert "Preparing resources" in detail.text and f'hx-post="/jobs/{job_id}/stop"' in detail.text
    assert "No run yet" in detail.text
    assert f'hx-get="/jobs/{job_id}/logs-section" hx-trigger="every 2s"' in detail.text
    assert f'hx-get="/jobs/{job_id}/section" hx-trigger="every 5s"' in detail.text
    assert 'id="job"' in dev.get(f"/jobs/{job_id}/section").text
    assert 'id="logs"' in dev.get(f"/jobs/{job_id}/logs-section").text
    listing = dev.get("/jobs")  # TeamA: dev's only workspace
    assert f'id="job-{job_id}"' in listing.text and "master 2C_4G_1*GPU×1 + worker" in listing.text
    audit = team.s.admin.call("GET", "/api/v1/audit", params={"action": "training.create"})
    assert audit["items"][0]["result"] == "success"


def test_form_errors_land_in_the_form(team: Team) -> None:
    dev = console(team, "dev")
    bad = dev.htmx("POST", "/jobs", {**FORM, "workspace_id": team.ws["id"], "command": " ",
                                     "env": "NOPE"}, form="create-job-form")  # fmt: skip
    assert bad.status_code == 422
    assert bad.headers["hx-retarget"] == "#create-job-form-errors"
    assert "line 1 (&#39;NOPE&#39;) is not KEY=VALUE" in bad.text
    too_big = dev.htmx("POST", "/jobs", {**FORM, "workspace_id": team.ws["id"], "gpus": "9", "mode": "single"},
                       form="create-job-form")  # fmt: skip
    assert too_big.status_code == 422 and "request larger than any node" in too_big.text


def test_no_quota_shows_the_rq18_notice(team: Team) -> None:
    lonely = team.h.create_workspace("Lonely")
    page = console(team, "admin").get(f"/jobs/new?workspace_id={lonely['id']}")
    assert page.status_code == 200 and RQ18 in page.text and 'href="/quotas"' in page.text


def test_actions_follow_the_matrix(team: Team) -> None:
    job = team.submit("dev", name="web-acts")
    op = console(team, "op")
    page = op.get(f"/jobs/{job['id']}")
    assert f'hx-post="/jobs/{job["id"]}/stop"' in page.text
    assert f'href="/jobs/{job["id"]}/copy"' not in page.text  # row 64: not others' jobs
    assert op.get(f"/jobs/{job['id']}/copy").status_code == 403
    stopped = op.htmx("POST", f"/jobs/{job['id']}/stop")
    assert stopped.status_code == 200 and "Job &#39;web-acts&#39; is stopped." in stopped.text
    assert f'hx-post="/jobs/{job["id"]}/restart"' in stopped.text
    mine = team.submit("op", name="op-own")
    assert console(team, "dev").get(f"/jobs/{mine['id']}").status_code == 403
    dev = console(team, "dev")
    copy = dev.get(f"/jobs/{job['id']}/copy")
    assert copy.status_code == 200 and 'value="web-acts-copy"' in copy.text
    again = dev.htmx("POST", f"/jobs/{job['id']}/restart")
    assert "submitted again" in again.text
    dev.htmx("POST", f"/jobs/{job['id']}/stop")
    gone = dev.htmx("DELETE", f"/jobs/{job['id']}")
    assert gone.headers["hx-redirect"] == f"/jobs?workspace_id={team.ws['id']}"
    actions = {
        a["action"]
        for a in team.s.admin.call("GET", "/api/v1/audit", params={"action": "training."})["items"]
    }
    assert {"training.stop", "training.restart", "training.delete"} <= actions


def test_live_logs_poll_until_the_end(tmp_path: Path) -> None:
    with quiet_hangar(tmp_path / "home", f"sqlite:///{tmp_path}/h.db") as h:
        body = job_body(h.default_workspace()["id"], "web-logs", command="echo from the console",
                        resources={"cpu_cores": 0.5, "mem_gib": 0.25})  # fmt: skip
        job = h.admin.call("POST", JOBS, 201, json=body)
        scheduler_pass(h.state)  # admitted, not launched: the log is empty and still open
        admin = logged_in(h, "admin", ADMIN_PASSWORD)
        page = admin.get(f"/jobs/{job['id']}")
        poller = re.search(r'<p id="log-poller"[^>]*>', page.text)
        assert poller is not None and 'hx-trigger="every 2s"' in poller.group(0)
        run_id = h.admin.call("GET", f"{JOBS}/{job['id']}")["runs"][0]["id"]
        reconciler = make_reconciler(h.state)
        for _ in range(300):
            reconciler.step()
            if h.admin.call("GET", f"{JOBS}/{job['id']}")["state"] == "SUCCEEDED":
                break
        chunk = admin.get(f"/jobs/{job['id']}/log?run={run_id}&node=0&offset=0")
        assert chunk.text.startswith("from the console\n")
        assert 'hx-swap-oob="true"' in chunk.text and "End of log." in chunk.text
        assert "hx-trigger" not in chunk.text
        done = admin.get(f"/jobs/{job['id']}")
        assert '<pre id="log-text" class="log">from the console\n</pre>' in done.text
        assert f"/api/v1/jobs/{job['id']}/runs/{run_id}/logs/download?node=0" in done.text


def test_the_queue_page_and_priority(team: Team) -> None:
    team.h.admin.call(
        "PATCH", f"/api/v1/users/{team.users['dev']['id']}/limits", json={"max_gpus": 0}
    )
    first, second = (
        team.submit("dev", name=f"web-w{i}", resources={"cpu_cores": 1, "mem_gib": 1, "gpus": 1})
        for i in range(2)
    )
    scheduler_pass(team.h.state)
    running = team.submit("op", name="web-running")
    drive(team.h, running["id"], "queue", "admit", "launched")
    admin = console(team, "admin")
    page = admin.get("/queue")
    assert page.status_code == 200 and "Quota team-q" in page.text
    assert f'id="prio-{second["id"]}-form"' in page.text and "per-user limit" in page.text
    assert "web-running" not in page.text
    changed = admin.htmx("POST", f"/queue/{second['id']}/priority", {"priority": "7"},
                         form=f"prio-{second['id']}-form")  # fmt: skip
    assert changed.status_code == 200 and "0 → 7" in changed.text
    assert changed.text.index(second["id"]) < changed.text.index(first["id"])
    bad = admin.htmx("POST", f"/queue/{second['id']}/priority", {"priority": "x"},
                     form=f"prio-{second['id']}-form")  # fmt: skip
    assert bad.status_code == 422 and bad.headers["hx-retarget"].startswith("#prio-")
    op_page = console(team, "op").get("/queue")
    assert "web-w0" in op_page.text and "prio-" not in op_page.text
    assert console(team, "op").htmx("POST", f"/queue/{first['id']}/priority",
                                    {"priority": "1"}).status_code == 403  # fmt: skip


def test_a_user_without_workspaces_gets_a_page_not_an_error(team: Team) -> None:
    team.h.user_api("loner")
    page = logged_in(team.h, "loner", USER_PASSWORD).get("/jobs")
    assert page.status_code == 200 and "not a member of any workspace" in page.text
