"""The job flows that matter most, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time

from hangar.workloads.loops import scheduler_pass
from tests.jobs.support import JOBS, Team, drive, job_body
from tests.support import Hangar, assert_error


def test_submit_list_stop_restart_copy_delete(team_any: Team) -> None:
    t = team_any
    job = t.submit("dev", name="flow", mode="ddp", worker_count=1,
                   resources={"spec_id": t.s.specs[1]["id"]})  # fmt: skip
    assert job["state"] == "SUBMITTED" and job["pool"]["name"] == "team-q"
    assert [j["id"] for j in t.api("dev").call("GET", JOBS)["items"]] == [job["id"]]
    drive(t.h, job["id"], "queue", "admit", "launched")
    assert t.api("op").call("POST", f"{JOBS}/{job['id']}/stop")["state"] == "STOPPING"
    assert_error(t.api("dev").delete(f"{JOBS}/{job['id']}"), 409)
    drive(t.h, job["id"], "stopped")
    again = t.api("dev").call("POST", f"{JOBS}/{job['id']}/restart")
    assert again["state"] == "SUBMITTED" and again["runs"][0]["state"] == "STOPPED"
    copy = t.api("dev").call("POST", f"{JOBS}/{job['id']}/copy", 201)
    assert copy["name"] == "flow-copy" and copy["occupied"] == job["occupied"]
    assert_error(t.api("op").post(f"{JOBS}/{job['id']}/copy"), 403)  # row 64
    t.api("dev").call("POST", f"{JOBS}/{job['id']}/stop")
    t.api("dev").call("DELETE", f"{JOBS}/{job['id']}", 204)
    assert t.s.admin.call("GET", JOBS, params={"workspace": "TeamA"})["total"] == 1


def test_validation_and_the_queue(team_any: Team) -> None:
    t = team_any
    err = assert_error(
        t.s.admin.post(JOBS, json={**_body(t), "resources": {"cpu_cores": 1, "mem_gib": 1,
                                                               "gpus": 9}}), 422)  # fmt: skip
    assert "request larger than any node" in err["message"]
    t.h.admin.call("PATCH", f"/api/v1/users/{t.users['dev']['id']}/limits", json={"max_gpus": 0})
    first = t.submit("dev", name="q1", resources={"cpu_cores": 1, "mem_gib": 1, "gpus": 1})
    second = t.submit("dev", name="q2", resources={"cpu_cores": 1, "mem_gib": 1, "gpus": 1})
    scheduler_pass(t.h.state)
    t.s.admin.call("PATCH", f"/api/v1/workloads/{second['id']}/priority", json={"priority": 1})
    [pool] = t.s.admin.call("GET", "/api/v1/queue")
    assert [w["id"] for w in pool["workloads"]] == [second["id"], first["id"]]


def test_a_job_runs_through_the_servers_loops(hangar_any: Hangar) -> None:
    """The API, the scheduler loop and the reconciler together, on both databases."""
    h = hangar_any
    body = job_body(h.default_workspace()["id"], "loops", command="echo on $HOSTNAME-ok",
                    resources={"cpu_cores": 0.5, "mem_gib": 0.25})  # fmt: skip
    job = h.admin.call("POST", JOBS, 201, json=body)
    deadline = time.monotonic() + 60
    while job["state"] not in ("SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, job["state_reason"]
        time.sleep(0.1)
        job = h.admin.call("GET", f"{JOBS}/{job['id']}")
    assert job["state"] == "SUCCEEDED", job["state_reason"]
    [run] = job["runs"]
    chunk = h.admin.call("GET", f"{JOBS}/{job['id']}/runs/{run['id']}/logs")
    assert chunk["data"].endswith("-ok\n") and chunk["complete"]
    h.admin.call("DELETE", f"{JOBS}/{job['id']}", 204)


def _body(t: Team) -> dict[str, object]:
    return {"workspace_id": t.ws["id"], "name": "big", "command": "true", "mode": "single"}
