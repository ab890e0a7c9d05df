"""Per-node logs through the API, from real runs of the local backend.

The quiet tests drive the scheduler cycle and the reconciler step by step; the last test lets
the server's own loops run a job submitted through the API from start to finish.
"""

from __future__ import annotations

import time
from typing import Any

from hangar.backends.state import Phase, RunHandle
from hangar.jobs.logs import utf8_prefix
from hangar.workloads.loops import make_reconciler, scheduler_pass
from hangar.workloads.orm import RunNode
from tests.jobs.support import JOBS, job_body
from tests.support import Hangar, assert_error

SMALL = {"cpu_cores": 0.5, "mem_gib": 0.25}
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def run_to_end(h: Hangar, job_id: str, timeout: float = 60) -> dict[str, Any]:
    reconciler = make_reconciler(h.state)
    deadline = time.monotonic() + timeout
    while True:
        scheduler_pass(h.state)
        reconciler.step()
        job: dict[str, Any] = h.admin.call("GET", f"{JOBS}/{job_id}")
        if job["state"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"stuck: {job['state']} {job['state_reason']}"
        time.sleep(0.1)


def test_logs_read_by_offset_and_downloaded_then_forgotten_on_delete(quiet: Hangar) -> None:
    h = quiet
    ws = h.default_workspace()["id"]
    command = "echo hello from $HANGAR_JOB_ID; echo 'grüße'"
    job = h.admin.call("POST", JOBS, 201, json=job_body(ws, "logs", command=command,
                                                        resources=SMALL))  # fmt: skip
    assert job["pool"]["name"] == "default"
    done = run_to_end(h, job["id"])
    assert done["state"] == "SUCCEEDED", done["state_reason"]
    [run] = done["runs"]
    assert run["number"] == 1 and run["exit_code"] == 0 and run["nodes"][0]["rank"] == 0
    assert run["usage"]["cpu_core_hours"] >= 0 and len(run["usage"]["intervals"]) == 1
    logs = f"{JOBS}/{job['id']}/runs/{run['id']}/logs"
    chunk = h.admin.call("GET", logs, params={"node": 0})
    assert chunk["data"] == f"hello from {job['id']}\ngrüße\n"
    assert chunk["complete"] and chunk["offset"] == 0 and chunk["attempt"] == 0
    rest = h.admin.call("GET", logs, params={"node": 0, "offset": chunk["next_offset"]})
    assert rest["data"] == "" and rest["complete"]
    download = h.admin.get(f"{logs}/download", params={"node": 0})
    assert download.status_code == 200 and download.text == chunk["data"]
    assert download.headers["content-type"].startswith("text/plain")
    assert "attachment" in download.headers["content-disposition"]
    assert "node 3 not found" in assert_error(h.admin.get(logs, params={"node": 3}), 404)["message"]
    assert_error(h.admin.get(logs, params={"attempt": 1}), 404)
    assert_error(h.admin.get(f"{JOBS}/{job['id']}/runs/nope/logs"), 404)
    with h.state.sessions() as session:
        node = session.query(RunNode).filter(RunNode.run_id == run["id"]).one()
        handle = RunHandle.from_dict(node.handle)
    assert h.state.backend.poll(handle).phase is Phase.SUCCEEDED
    h.admin.call("DELETE", f"{JOBS}/{job['id']}", 204)
    assert h.state.backend.poll(handle).phase is Phase.LOST  # its run directory is gone


def test_logs_before_launch_are_empty_and_not_complete(quiet: Hangar) -> None:
    h = quiet
    job = h.admin.call("POST", JOBS, 201, json=job_body(h.default_workspace()["id"], "early",
                                                        resources=SMALL))  # fmt: skip
    scheduler_pass(h.state)  # admitted: a run with its node rows, not launched yet
    [run] = h.admin.call("GET", f"{JOBS}/{job['id']}")["runs"]
    chunk = h.admin.call("GET", f"{JOBS}/{job['id']}/runs/{run['id']}/logs")
    assert (chunk["data"], chunk["complete"], chunk["next_offset"]) == ("", False, 0)
    h.admin.call("POST", f"{JOBS}/{job['id']}/stop")


def test_utf8_chunks_never_split_a_character() -> None:
    text = "aü€😀".encode()
    assert utf8_prefix(text) == len(text)
    for cut in range(len(text)):
        keep = utf8_prefix(text[:cut])
        assert text[:keep].decode() == text[:keep].decode("utf-8", errors="strict")
        assert cut - keep < 4
    assert utf8_prefix(b"\x80\x80") == 2  # not UTF-8 at all: passed on as it is


def test_a_job_runs_through_the_servers_own_loops(hangar: Hangar) -> None:
    ws = hangar.default_workspace()["id"]
    body = job_body(ws, "e2e", command="echo through the loops", resources=SMALL)
    job = hangar.admin.call("POST", JOBS, 201, json=body)
    deadline = time.monotonic() + 60
    while job["state"] not in TERMINAL:
        assert time.monotonic() < deadline, job["state_reason"]
        time.sleep(0.1)
        job = hangar.admin.call("GET", f"{JOBS}/{job['id']}")
    assert job["state"] == "SUCCEEDED", job["state_reason"]
    run = job["runs"][0]
    chunk = hangar.admin.call("GET", f"{JOBS}/{job['id']}/runs/{run['id']}/logs")
    assert chunk["data"] == "through the loops\n" and chunk["complete"]
    rules = [e["rule"] for e in job["events"] if e["kind"] == "transition"]
    assert rules == ["queue", "admit", "launched", "succeed"]
