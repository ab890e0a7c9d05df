"""``hangar dev`` and ``hangar image`` against a live server whose loops run: environments
start a real JupyterLab, images are copied by the server's builder loop, stopped
environments are deleted by the dev-environment loop (every 0.5 s here).

Every environment a test makes is deleted when the module ends: a local IDE process
outlives the server by design.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hangar.client import HangarClient
from tests import support
from tests.cli.conftest import Cli, eventually, flat
from tests.devenvs.support import port_block
from tests.support import USER_PASSWORD, live_server

SMALL = ("--cpu", "0.5", "--mem-gib", "0.5")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's server: fast loops, and an IDE port range of its own (``pytest -n``)."""
    tmp = tmp_path_factory.mktemp("cli-dev-server")
    settings = support.test_settings(
        tmp / "home", f"sqlite:///{tmp}/h.db", devenv_loop_seconds=0.5, **port_block()
    )
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module", autouse=True)
def no_env_left(admin_client: HangarClient) -> Iterator[None]:
    """Delete every environment once the module is done, and wait until they are gone."""
    yield
    envs = admin_client.devenvs.list(limit=500).items
    for env in envs:
        admin_client.devenvs.delete(env.id)
    deadline = time.monotonic() + 60
    while admin_client.devenvs.list(limit=500).items:
        assert time.monotonic() < deadline, "dev environments were not deleted"
        time.sleep(0.2)


def create(cli: Cli, name: str, *extra: str) -> dict[str, Any]:
    env: dict[str, Any] = cli.json("dev", "create", name, *SMALL, *extra)
    return env


def status(cli: Cli, name: str) -> str:
    return str(cli.json("dev", "show", name)["status"])


def test_a_new_environment_is_not_started_and_refuses_what_needs_it_running(cli: Cli) -> None:
    made = cli.ok("dev", "create", "cli-nb", *SMALL, "-d", "from the cli")
    assert "Not started" in made.stdout and "only while running" in made.stdout
    listed = cli.ok("dev", "list").stdout
    [row] = [line for line in listed.splitlines() if "cli-nb" in line]
    assert "Not started" in row and "JupyterLab" in row and "0.5C0.5G" in row
    page = cli.json("dev", "list")
    [env] = [e for e in page["items"] if e["name"] == "cli-nb"]
    assert env["status"] == "Not started" and env["workspace_name"] == "default"
    shown = cli.json("dev", "show", "cli-nb")
    assert shown["id"] == env["id"] and shown["description"] == "from the cli"
    assert shown["open_url"] is None and shown["idle"]["idle_minutes"] is None
    text = cli.ok("dev", "show", env["id"]).stdout  # by id as well as by name
    assert "cli-nb" in text and "Idle stop" in text and "off" in text

    scheduled = cli.ok("dev", "schedule", "cli-nb", "--idle-minutes", "45").stdout
    assert "after 45 min" in scheduled
    past = cli.fails(1, "dev", "schedule", "cli-nb", "--stop-at", "2001-01-01T00:00:00")
    assert "is in the past: give a future time (UTC)" in past.stderr and past.stdout == ""
    nothing = cli.fails(2, "dev", "schedule", "cli-nb")
    assert "give --idle-minutes, --stop-at or --clear-stop" in flat(nothing.stderr)
    assert cli.json("dev", "show", "cli-nb")["idle"]["idle_minutes"] == 45
    off = cli.json("dev", "schedule", "cli-nb", "--idle-minutes", "0")
    assert off["idle"]["idle_minutes"] is None
    # A time without a zone is UTC, as the option says.
    later = cli.json("dev", "schedule", "cli-nb", "--stop-at", "2099-01-01T10:00:00")
    assert later["idle"]["stop_at"].startswith("2099-01-01T10:00:00")
    assert "2099-01-01 10:00:00" in cli.ok("dev", "show", "cli-nb").stdout
    cleared = cli.json("dev", "schedule", "cli-nb", "--clear-stop")
    assert cleared["idle"]["stop_at"] is None

    port = cli.fails(1, "dev", "port", "cli-nb", "8000")
    assert "ports can only be added to a running environment; 'cli-nb' is not started" in (
        port.stderr
    )
    alive = cli.fails(1, "dev", "keep-alive", "cli-nb")
    assert "'cli-nb' is not running; only a running one is kept alive" in alive.stderr
    closed = cli.fails(1, "dev", "open", "cli-nb", "--print")
    assert "'cli-nb' is Not started: start it first" in flat(closed.stderr)
    never = cli.fails(1, "image", "make", "cli-nb", "--name", "never")
    assert "'cli-nb' has no software of its own yet: start it once" in never.stderr

    assert "cli-nb" in cli.ok("dev", "delete", "cli-nb", "--yes").stdout
    gone = cli.fails(1, "dev", "show", "cli-nb")
    assert "dev environment 'cli-nb' not found" in gone.stderr


def test_bad_input_is_named(cli: Cli) -> None:
    unknown = cli.fails(1, "dev", "show", "no-such-env")
    assert "dev environment 'no-such-env' not found" in unknown.stderr
    for command in (("start",), ("stop",), ("keep-alive",), ("train",), ("delete", "--yes")):
        refused = cli.fails(1, "dev", *command, "no-such-env")
        assert "dev environment 'no-such-env' not found" in refused.stderr
    vim = cli.fails(2, "dev", "create", "cli-vim", "--ide", "vim", *SMALL)
    assert "Invalid value for --ide: use jupyterlab or code-server" in flat(vim.stderr)
    no_size = cli.fails(2, "dev", "create", "cli-nosize")
    assert "--spec" in flat(no_size.stderr) and "--mem-gib" in flat(no_size.stderr)
    past = cli.fails(1, "dev", "create", "cli-past", *SMALL, "--stop-at", "2001-01-01")
    assert "is in the past: give a future time (UTC)" in past.stderr
    bad_name = cli.fails(1, "dev", "create", "bad name!", *SMALL)
    assert "name" in bad_name.stderr and "rule N1" in bad_name.stderr
    no_image = cli.fails(1, "image", "show", "no-such-image")
    assert "image 'no-such-image' not found" in no_image.stderr
    no_env = cli.fails(1, "image", "make", "no-such-env", "--name", "x")
    assert "dev environment 'no-such-env' not found" in no_env.stderr
    names = {e["name"] for e in cli.json("dev", "list")["items"]}
    assert not names & {"cli-vim", "cli-nosize", "cli-past", "bad name!"}


def test_a_running_environment_ports_keep_alive_training_draft_and_an_image(
    cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    env = create(cli, "cli-lab")
    started = cli.ok("dev", "start", "cli-lab", "--wait").stdout
    assert "Running (RUNNING)" in started, started
    assert f"{server_url}/dev/{env['id']}/" in started
    # A real JupyterLab answers through the server's proxy.
    headers = {"Authorization": f"Bearer {admin_client.token}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=10) as http:
        answer = eventually(
            lambda: (r := http.get(f"/dev/{env['id']}/api/status")).status_code == 200 and r,
            timeout=60,
        )
    assert "started" in answer.json()

    exposed = cli.ok("dev", "port", "cli-lab", "8765").stdout
    assert f"8765 → {server_url}/dev/{env['id']}/ports/8765/" in exposed
    twice = cli.fails(1, "dev", "port", "cli-lab", "8765")
    assert "port 8765 is already exposed" in twice.stderr
    assert cli.json("dev", "port", "cli-lab", "8765", "--remove")["port_urls"] == {}
    not_exposed = cli.fails(1, "dev", "port", "cli-lab", "8765", "--remove")
    assert "port 8765 is not exposed" in not_exposed.stderr

    kept = cli.json("dev", "keep-alive", "cli-lab")
    assert kept["idle"]["last_activity_source"] == "keep alive"
    assert "(keep alive)" in cli.ok("dev", "keep-alive", "cli-lab").stdout

    draft = cli.ok("dev", "train", "cli-lab").stdout
    assert "cli-lab-train-copy" in draft and "cd /work/home && python train.py" in draft
    as_json = cli.json("dev", "train", "cli-lab")
    assert as_json["workspace_id"] == env["workspace_id"] and as_json["mode"] == "single"
    assert as_json["resources"]["cpu_cores"] == 0.5

    made = cli.ok("image", "make", "cli-lab", "--name", "cli-img", "-d", "from the cli")
    assert "Making image cli-img:V1 from 'cli-lab'..." in made.stdout
    assert "ready" in made.stdout and "cli-img:V1" in made.stdout
    listed = cli.ok("image", "list").stdout
    [row] = [line for line in listed.splitlines() if "cli-img:V1" in line]
    assert "custom" in row and "ready" in row and "jupyterlab" in row
    assert "python-3.11-jupyterlab:V1" in listed
    images = cli.json("image", "list")
    [image] = [i for i in images if i["name"] == "cli-img"]
    assert image["status"] == "ready" and image["source_workload_id"] == env["id"]
    shown = cli.ok("image", "show", "cli-img").stdout
    assert image["id"] in shown and "ready" in shown and env["id"] in shown
    assert "from the cli" in shown
    assert cli.json("image", "show", "cli-img:V1")["id"] == image["id"]
    ready = cli.fails(1, "image", "cancel", "cli-img")
    assert "cli-img:V1 is ready: only an image being made can be cancelled" in ready.stderr

    assert "Stopping" in cli.ok("dev", "stop", "cli-lab").stdout
    eventually(lambda: status(cli, "cli-lab") == "Not started", timeout=60)
    cli.ok("dev", "delete", "cli-lab", "--yes")
    eventually(lambda: cli.run("dev", "show", "cli-lab").exit_code == 1, timeout=30)


def test_the_idle_policy_is_set_shown_locked_and_cleared_by_admins_only(
    cli: Cli, fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    create(cli, "cli-pol")
    absent = cli.fails(1, "dev", "policy", "show")
    assert "workspace 'default' has no idle policy" in absent.stderr
    try:
        set_out = cli.ok("dev", "policy", "set", "--idle-minutes", "30", "--locked").stdout
        assert "after 30 min" in set_out and "yes: users cannot" in set_out
        shown = cli.ok("dev", "policy", "show").stdout
        assert "after 30 min" in shown and "10 %" in shown
        policy = cli.json("dev", "policy", "show", "-w", "default")
        assert (policy["idle_minutes"], policy["locked"], policy["gpu_busy_percent"]) == (
            30, True, 10,
        )  # fmt: skip
        refused = cli.fails(1, "dev", "keep-alive", "cli-pol")
        assert "the workspace's idle policy (30 min) is locked by an admin" in refused.stderr
        longer = cli.fails(1, "dev", "schedule", "cli-pol", "--idle-minutes", "60")
        assert "locked at 30 minutes by an admin" in longer.stderr
        env = cli.ok("dev", "show", "cli-pol").stdout
        assert "after 30 min (locked by admin)" in env
        too_short = cli.fails(1, "dev", "policy", "set", "--idle-minutes", "2")
        assert "idle_minutes" in too_short.stderr

        # A developer of the workspace may read the policy but not change it.
        user = admin_client.users.create(username="cli_dev_pat", password=USER_PASSWORD)
        ws = next(w for w in admin_client.workspaces.list() if w.is_default)
        admin_client.workspaces.add_member(ws.id, user_id=user.id, roles=["developer"])
        with HangarClient(server_url) as pat:
            token = pat.login("cli_dev_pat", USER_PASSWORD, "cli-dev-tests").token
        assert token is not None
        fresh_cli.use(server_url, token, "cli_dev_pat")
        assert fresh_cli.json("dev", "policy", "show")["locked"] is True
        denied = fresh_cli.fails(1, "dev", "policy", "set", "--idle-minutes", "90")
        assert "only an admin of workspace 'default' may change its idle" in denied.stderr
        assert "only an admin" in fresh_cli.fails(1, "dev", "policy", "clear").stderr
        assert cli.json("dev", "policy", "show")["idle_minutes"] == 30

        opened = cli.json("dev", "policy", "set", "--idle-minutes", "20")
        assert opened["locked"] is False
    finally:
        cli.run("dev", "policy", "clear")
    assert cli.fails(1, "dev", "policy", "show").stderr == absent.stderr
    again = cli.fails(1, "dev", "policy", "clear")
    assert "has no idle policy" in again.stderr
    cli.ok("dev", "delete", "cli-pol", "--yes")


def test_the_dev_help_lists_the_commands(cli: Cli) -> None:
    text = cli.ok("dev", "--help").stdout
    for command in ("create", "keep-alive", "schedule", "port", "train", "policy"):
        assert command in text
    assert "make" in cli.ok("image", "--help").stdout
