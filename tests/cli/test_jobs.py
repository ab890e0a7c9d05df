"""``hangar jobs`` and ``hangar queue`` against a live server whose loops run jobs here."""

from __future__ import annotations

import time
from typing import Any

from hangar.client import HangarClient
from tests.cli.conftest import Cli, eventually, flat

SMALL = ("--mode", "single", "--cpu", "0.5", "--mem-gib", "0.25")


def create(cli: Cli, name: str, command: str, *extra: str) -> dict[str, Any]:
    job: dict[str, Any] = cli.json("jobs", "create", name, "-c", command, *SMALL, *extra)
    return job


def finished(
    cli: Cli, job_id: str, states: tuple[str, ...] = ("SUCCEEDED", "FAILED", "STOPPED")
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        job: dict[str, Any] = cli.json("jobs", "show", job_id)
        return job if job["state"] in states else None

    return eventually(check, timeout=60)


def test_create_list_show_and_follow_the_logs(cli: Cli) -> None:
    job = create(cli, "cli-echo", "echo hello from the cli")
    assert job["source"] == "cli" and job["pool"]["name"] == "default"
    following = cli.ok("jobs", "logs", job["id"], "--follow")
    assert following.stdout == "hello from the cli\n"
    assert finished(cli, job["id"])["state"] == "SUCCEEDED"
    assert cli.ok("jobs", "logs", job["id"], "--run", "1").stdout == "hello from the cli\n"
    listed = cli.ok("jobs", "list", "--name", "cli-echo").stdout
    assert "Running jobs: 0" in listed and "Completed" in listed and "0.5C0.25G×1" in listed
    shown = cli.ok("jobs", "show", job["id"]).stdout
    assert "Completed (SUCCEEDED)" in shown and "succeed" not in shown.split("RUN", 1)[0]
    assert "every node exited with status 0" in shown
    page = cli.json("jobs", "list", "--state", "SUCCEEDED", "--name", "cli-echo")
    assert [j["id"] for j in page["items"]] == [job["id"]]


def test_stop_restart_copy_delete(cli: Cli) -> None:
    job = create(cli, "cli-sleep", "sleep 60")
    finished(cli, job["id"], ("RUNNING",))
    assert "is stopping" in cli.ok("jobs", "stop", job["id"]).stdout
    finished(cli, job["id"])
    refused = cli.fails(1, "jobs", "stop", job["id"])
    assert "allowed now: restart" in refused.stderr
    assert "submitted again" in cli.ok("jobs", "restart", job["id"]).stdout
    finished(cli, job["id"], ("RUNNING",))
    cli.ok("jobs", "stop", job["id"])
    copy = cli.json("jobs", "copy", job["id"], "--name", "cli-sleep-2")
    assert copy["command"] == "sleep 60" and copy["source"] == "cli"
    finished(cli, copy["id"], ("RUNNING",))
    assert "stop it first" in cli.fails(1, "jobs", "delete", copy["id"], "-y").stderr
    cli.ok("jobs", "stop", copy["id"])
    finished(cli, copy["id"])
    cli.ok("jobs", "delete", copy["id"], "-y")
    assert "not found" in cli.fails(1, "jobs", "show", copy["id"]).stderr


def test_bad_input_names_the_rule(cli: Cli, admin_client: HangarClient) -> None:
    missing = cli.fails(2, "jobs", "create", "x", *SMALL)
    assert "the start command is required" in flat(missing.stderr)
    spec = cli.fails(1, "jobs", "create", "x", "-c", "true", "--spec", "99C9G")
    assert "spec '99C9G' not found" in spec.stderr
    admin_client.workspaces.create(name="CliNoQuota")
    rq18 = cli.fails(1, "jobs", "create", "x", "-c", "true", "-w", "CliNoQuota", *SMALL)
    assert "The current workspace has no resource quota or the quota is disabled" in rq18.stderr
    big = cli.fails(1, "jobs", "create", "x", "-c", "true", "--mode", "single", "--cpu",
                    "4000", "--mem-gib", "60000")  # fmt: skip
    assert "request larger than any node in cluster 'default'" in big.stderr


def test_queue_list_and_priority(cli: Cli, admin_client: HangarClient) -> None:
    me = admin_client.whoami()
    admin_client.users.set_limits(me.id, max_cpus=0)  # every CPU job of mine now waits
    try:
        first = create(cli, "cli-wait-1", "true")
        second = create(cli, "cli-wait-2", "true")
        finished(cli, second["id"], ("QUEUED",))
        time.sleep(0.2)  # let the cycle that queued it record the reason
        table = cli.ok("queue", "list").stdout
        assert "cli-wait-1" in table and "per-user limit" in table and "queue 'default'" in table
        changed = cli.ok("queue", "priority", second["id"], "4").stdout
        assert "Priority of 'cli-wait-2': 0 → 4." in changed
        [pool] = cli.json("queue", "list")
        assert [w["id"] for w in pool["workloads"]][:2] == [second["id"], first["id"]]
        for job in (first, second):
            cli.ok("jobs", "stop", job["id"])
    finally:
        admin_client.users.set_limits(me.id, max_cpus=None)
