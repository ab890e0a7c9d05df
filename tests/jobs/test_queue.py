"""The admission queue view and the admin priority override (issue 3 item 7, decision B6)."""

from __future__ import annotations

from hangar.workloads.loops import scheduler_pass
from tests.jobs.support import JOBS, Team, drive
from tests.support import assert_error

QUEUE = "/api/v1/queue"


def priority(team: Team, who: str, job_id: str, value: int) -> object:
    return team.api(who).patch(f"/api/v1/workloads/{job_id}/priority", json={"priority": value})


def waiting_jobs(team: Team) -> list[str]:
    """Three of dev's GPU jobs held by dev's per-user limit of 0 GPUs: they wait, with reasons."""
    team.h.admin.call(
        "PATCH", f"/api/v1/users/{team.users['dev']['id']}/limits", json={"max_gpus": 0}
    )
    ids = [
        team.submit("dev", name=f"w{i}", resources={"cpu_cores": 1, "mem_gib": 1, "gpus": 1})["id"]
        for i in range(3)
    ]
    scheduler_pass(team.h.state)
    return ids


def test_waiting_workloads_in_admission_order_with_reasons(team: Team) -> None:
    ids = waiting_jobs(team)
    [pool] = team.s.admin.call("GET", QUEUE)
    assert pool["pool"] == {"kind": "quota", "id": team.quota["id"], "name": "team-q"}
    assert pool["cluster_name"] == "ded-a" and pool["can_prioritise"] is True
    rows = pool["workloads"]
    assert [r["id"] for r in rows] == ids and [r["position"] for r in rows] == [1, 2, 3]
    assert rows[0]["state"] == "QUEUED" and rows[0]["state_display"] == "Queued"
    assert "per-user limit" in rows[0]["reason"] and rows[0]["wait_seconds"] >= 0
    assert rows[0]["request"] == "1 GPU, 1 CPU core, 1 GiB memory"
    assert rows[0]["created_by_name"] == "dev" and rows[0]["workspace_name"] == "TeamA"


def test_admins_reorder_with_an_event_and_an_audit_record(team: Team) -> None:
    first, _second, third = waiting_jobs(team)
    changed = team.s.admin.call(
        "PATCH", f"/api/v1/workloads/{third}/priority", json={"priority": 5}
    )
    assert (changed["priority"], changed["previous"]) == (5, 0)
    rows = team.s.admin.call("GET", QUEUE)[0]["workloads"]
    assert [r["id"] for r in rows][:2] == [third, first] and rows[0]["priority"] == 5
    events = team.s.admin.call("GET", f"{JOBS}/{third}/events")
    assert any(
        e["kind"] == "scheduling" and "priority set to 5 (was 0) by admin" in e["message"]
        for e in events
    )
    [record] = team.s.admin.call("GET", "/api/v1/audit", params={"action": "workload.priority"})[
        "items"
    ]
    assert record["target_id"] == third and record["result"] == "success"
    assert_error(priority(team, "admin", third, 5000), 422)


def test_members_see_their_workspaces_queue_but_only_pool_admins_reorder(team: Team) -> None:
    first, *_ = waiting_jobs(team)
    [pool] = team.api("op").call("GET", QUEUE)
    assert len(pool["workloads"]) == 3 and pool["can_prioritise"] is False
    err = assert_error(priority(team, "op", first, 1), 403)
    assert "only tenant admins and the admins of quota 'team-q'" in err["message"]
    qa, qa_api = team.h.user_api("qa")
    team.s.admin.call(
        "PUT", f"/api/v1/quotas/{team.quota['id']}/admins",
        json={"user_ids": [qa["id"], team.h.admin.call("GET", "/api/v1/auth/me")["id"]]},
    )  # fmt: skip
    [seen] = qa_api.call("GET", QUEUE)  # not a TeamA member, but the quota's admin
    assert seen["can_prioritise"] is True
    assert (
        qa_api.call("PATCH", f"/api/v1/workloads/{first}/priority", json={"priority": 2})[
            "priority"
        ]
        == 2
    )
    _stranger, stranger_api = team.h.user_api("stranger")
    assert stranger_api.call("GET", QUEUE) == []
    assert_error(stranger_api.patch(f"/api/v1/workloads/{first}/priority",
                                    json={"priority": 1}), 404)  # fmt: skip


def test_only_waiting_workloads_take_a_priority(team: Team) -> None:
    job = team.submit(name="busy")
    drive(team.h, job["id"], "queue", "admit", "launched")
    err = assert_error(priority(team, "admin", job["id"], 3), 409)
    assert "running (RUNNING)" in err["message"] and "B6" in err["message"]
    assert_error(priority(team, "admin", "nope", 3), 404)
