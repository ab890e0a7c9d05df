"""The job list (spec 04 §2 columns, filters, running count) and details (runs, events, usage)."""

from __future__ import annotations

from datetime import timedelta

from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.workloads.orm import RunNode, Workload
from hangar.workloads.service import current_run, do_close_usage, do_open_usage
from tests.jobs.support import JOBS, Team, drive


def test_list_columns_filters_and_the_running_count(team: Team) -> None:
    ddp = team.submit("dev", name="ddp-a", mode="ddp", worker_count=3,
                      resources={"spec_id": team.s.specs[1]["id"]})  # fmt: skip
    single = team.submit("op", name="single-b")
    drive(team.h, single["id"], "queue", "admit", "launched")
    page = team.s.admin.call("GET", JOBS, params={"workspace": "TeamA"})
    assert page["total"] == 2 and page["running"] == 1
    assert [j["name"] for j in page["items"]] == ["single-b", "ddp-a"]  # newest first
    row = page["items"][1]
    assert row["occupied"] == "master 21C_175G_1*H800×1 + worker 21C_175G_1*H800×3"
    assert (row["mode"], row["node_count"], row["worker_count"]) == ("ddp", 4, 3)
    assert (row["state_display"], row["source"], row["created_by_name"]) == (
        "Preparing resources", "api", "dev",
    )  # fmt: skip
    running = page["items"][0]
    assert running["state_display"] == "Running" and running["occupied"] == "2C4G×1"
    assert running["started_at"] is None and running["duration_seconds"] is None  # not seen yet

    def names(**params: object) -> list[str]:
        found = team.s.admin.call("GET", JOBS, params=params)["items"]
        return [j["name"] for j in found]

    assert names(state="RUNNING") == ["single-b"]
    assert names(state=["RUNNING", "SUBMITTED"]) == ["single-b", "ddp-a"]
    assert names(name="ddp") == ["ddp-a"]
    assert names(created_by="op") == ["single-b"]
    assert names(created_by=team.users["dev"]["id"]) == ["ddp-a"]
    assert names(limit=1, offset=1) == ["ddp-a"]
    assert names(workspace=team.h.default_workspace()["id"]) == []
    assert ddp["id"] in {j["id"] for j in team.s.admin.call("GET", JOBS)["items"]}


def test_details_show_runs_events_and_usage(team: Team) -> None:
    job = team.submit(name="detail", resources={"cpu_cores": 4, "mem_gib": 8, "gpus": 2})
    drive(team.h, job["id"], "queue", "admit", "launched")
    start = utcnow() - timedelta(hours=2)
    with transaction(team.h.state.sessions) as session:
        row = session.get(Workload, job["id"])
        assert row is not None
        run = current_run(session, row)
        assert run is not None
        run.started_at = start
        nodes = list(session.query(RunNode).filter(RunNode.run_id == run.id))
        do_open_usage(session, row, run, nodes, segment=0, now=start)
        session.flush()
        do_close_usage(session, run, now=start + timedelta(minutes=90))
    drive(team.h, job["id"], "succeed")
    detail = team.s.admin.call("GET", f"{JOBS}/{job['id']}")
    assert detail["state_display"] == "Completed" and detail["command"] == "python train.py"
    assert detail["resources"]["gpus"] == 2 and detail["spec_display"] == "4C_8G_2*GPU"
    assert detail["procs_per_node"] == 2 and detail["restart"]["fault_tolerance"] is False
    [run_read] = detail["runs"]
    assert run_read["number"] == 1 and run_read["state"] == "SUCCEEDED"
    assert run_read["nodes"][0]["node_name"] == "gpu-a1"
    assert run_read["usage"]["gpu_hours"] == 3.0 and run_read["usage"]["cpu_core_hours"] == 6.0
    assert detail["started_at"] is not None and detail["duration_seconds"] >= 7200
    kinds = [(e["kind"], e["rule"]) for e in detail["events"]]
    assert kinds[0] == ("info", "")
    assert [r for k, r in kinds if k == "transition"] == ["queue", "admit", "launched", "succeed"]
    by_run = team.s.admin.call(
        "GET", f"{JOBS}/{job['id']}/events", params={"run_id": run_read["id"]}
    )
    assert [e["rule"] for e in by_run] == ["launched", "succeed"]
