"""Job actions: stop, restart, copy, delete, through do_transition (illegal ones are 409)."""

from __future__ import annotations

from sqlalchemy import func, select

from hangar.db.base import utcnow
from hangar.workloads.orm import Run, UsageInterval, Workload, WorkloadEvent
from tests.jobs.support import JOBS, Team, drive, runs_of
from tests.support import assert_error


def state_of(team: Team, job_id: str) -> str:
    return str(team.s.admin.call("GET", f"{JOBS}/{job_id}")["state"])


def rules_of(team: Team, job_id: str) -> list[str]:
    events = team.s.admin.call("GET", f"{JOBS}/{job_id}/events")
    return [e["rule"] for e in events if e["kind"] == "transition"]


def test_stop_a_waiting_job_at_once(team: Team) -> None:
    submitted = team.submit(name="s1")
    stopped = team.s.admin.call("POST", f"{JOBS}/{submitted['id']}/stop")
    assert stopped["state"] == "STOPPED" and stopped["state_reason"] == "stopped by admin"
    queued = team.submit(name="s2")
    drive(team.h, queued["id"], "queue")
    assert team.s.admin.call("POST", f"{JOBS}/{queued['id']}/stop")["state"] == "STOPPED"
    assert rules_of(team, queued["id"]) == ["queue", "stop"]


def test_stop_a_running_job_goes_through_stopping(team: Team) -> None:
    job = team.submit(name="r1")
    drive(team.h, job["id"], "queue", "admit", "launched")
    stopping = team.s.admin.call("POST", f"{JOBS}/{job['id']}/stop")
    assert stopping["state"] == "STOPPING" and stopping["state_display"] == "Stopping"
    assert stopping["runs"][0]["state"] == "STOPPING"
    err = assert_error(team.s.admin.post(f"{JOBS}/{job['id']}/stop"), 409)
    assert "stopping (STOPPING)" in err["message"] and "allowed now: stopped" in err["message"]
    drive(team.h, job["id"], "stopped")
    err = assert_error(team.s.admin.post(f"{JOBS}/{job['id']}/stop"), 409)
    assert "cannot stop a workload that is stopped" in err["message"]
    assert "allowed now: restart" in err["message"]


def test_restart_a_finished_job_submits_it_again(team: Team) -> None:
    job = team.submit(name="again")
    drive(team.h, job["id"], "queue", "admit", "launched", "succeed")
    err = assert_error(team.s.admin.post(f"{JOBS}/{team.submit(name='w')['id']}/restart"), 409)
    assert "cannot restart" in err["message"]
    before = team.s.admin.call("GET", f"{JOBS}/{job['id']}")
    again = team.s.admin.call("POST", f"{JOBS}/{job['id']}/restart")
    assert again["state"] == "SUBMITTED" and again["run_count"] == 1  # the scheduler adds run 2
    assert again["submitted_at"] > before["submitted_at"]
    assert "run 2 starts when admitted" in again["state_reason"]
    drive(team.h, job["id"], "queue", "admit")
    assert [r.number for r in runs_of(team.h, job["id"])] == [1, 2]
    assert rules_of(team, job["id"])[-3:] == ["restart", "queue", "admit"]


def test_restart_checks_the_quota_again(team: Team) -> None:
    job = team.submit(name="q-stopped")
    team.s.admin.call("POST", f"{JOBS}/{job['id']}/stop")
    team.s.admin.call("POST", f"/api/v1/quotas/{team.quota['id']}/stop")
    err = assert_error(team.s.admin.post(f"{JOBS}/{job['id']}/restart"), 409)
    assert "quota 'team-q' is stopped" in err["message"]
    assert state_of(team, job["id"]) == "STOPPED"


def test_copy_makes_a_new_job_with_the_same_inputs(team: Team) -> None:
    job = team.submit(name="orig", mode="ddp", worker_count=2, env={"A": "1"},
                      resources={"spec_id": team.s.specs[2]["id"]}, description="d")  # fmt: skip
    copy = team.s.admin.call("POST", f"{JOBS}/{job['id']}/copy", 201)
    assert copy["id"] != job["id"] and copy["name"] == "orig-copy"
    assert copy["state"] == "SUBMITTED" and copy["description"] == "d"
    with team.h.state.sessions() as session:
        specs = [session.get(Workload, i).spec for i in (job["id"], copy["id"])]  # type: ignore[union-attr]
    assert specs[0] == specs[1]
    renamed = team.s.admin.call(
        "POST", f"{JOBS}/{job['id']}/copy", 201, json={"name": "tuned", "description": "lr 2"}
    )
    assert (renamed["name"], renamed["description"]) == ("tuned", "lr 2")
    long = team.submit(name="x" * 64)
    assert team.s.admin.call("POST", f"{JOBS}/{long['id']}/copy", 201)["name"] == "x" * 59 + "-copy"
    assert (
        "rule N1"
        in assert_error(
            team.s.admin.post(f"{JOBS}/{job['id']}/copy", json={"name": "no spaces"}), 422
        )["message"]
    )


def test_delete_only_finished_jobs_and_their_rows_go(team: Team) -> None:
    job = team.submit(name="del")
    drive(team.h, job["id"], "queue", "admit", "launched")
    err = assert_error(team.s.admin.delete(f"{JOBS}/{job['id']}"), 409)
    assert "running (RUNNING): stop it first" in err["message"]
    drive(team.h, job["id"], "fail")
    with team.h.state.sessions() as session, session.begin():
        run = session.scalars(select(Run).where(Run.workload_id == job["id"])).first()
        assert run is not None
        session.add(
            UsageInterval(
                key=f"{run.id}:billing", run_id=run.id, workload_id=job["id"],
                tenant_id="t", workspace_id="w", node_name="gpu-a1", gpus=1,
                started_at=utcnow(), ended_at=utcnow(),
            )
        )  # fmt: skip
    team.s.admin.call("DELETE", f"{JOBS}/{job['id']}", 204)
    assert_error(team.s.admin.get(f"{JOBS}/{job['id']}"), 404)
    with team.h.state.sessions() as session:
        for table, column in ((Run, Run.workload_id), (WorkloadEvent, WorkloadEvent.workload_id)):
            count = session.scalar(
                select(func.count()).select_from(table).where(column == job["id"])
            )
            assert count == 0
        kept = select(func.count()).select_from(UsageInterval)
        assert session.scalar(kept.where(UsageInterval.workload_id == job["id"])) == 1
    audit = team.s.admin.call("GET", "/api/v1/audit", params={"action": "training."})["items"]
    assert {"training.create", "training.delete"} <= {a["action"] for a in audit}


def test_unknown_and_other_kinds_are_404(team: Team) -> None:
    assert_error(team.s.admin.get(f"{JOBS}/nope"), 404)
    other = team.s.workload(state="QUEUED", quota_id=team.quota["id"])
    with team.h.state.sessions() as session, session.begin():
        row = session.get(Workload, other)
        assert row is not None
        row.kind = "ide"
    assert assert_error(team.s.admin.get(f"{JOBS}/{other}"), 404)["message"] == (
        f"job '{other}' not found"
    )
