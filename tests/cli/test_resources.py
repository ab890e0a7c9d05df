"""``hangar clusters|nodes|devices|specs|quotas|queues`` against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hangar.client import HangarClient
from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.resources.inventory import sync_inventory
from hangar.tenancy.orm import User
from hangar.workloads.orm import Workload
from tests.cli.conftest import Cli, flat
from tests.resources.conftest import HOSTS
from tests.support import ADMIN_PASSWORD, live_server
from tests.support import test_settings as settings_for


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-resources") / "h.db"


@pytest.fixture(scope="module")
def server_url(db_file: Path) -> Iterator[str]:
    """A server whose settings declare 2 L40S GPUs, and a ``ci`` backend's 4 hosts."""
    declared = [{"model": "L40S", "memory_gib": 44, "count": 2}]
    settings = settings_for(db_file.parent / "home", f"sqlite:///{db_file}", declared_gpus=declared)
    with live_server(settings) as url:
        engine = make_engine(f"sqlite:///{db_file}")
        with transaction(make_session_factory(engine)) as session:
            sync_inventory(session, HOSTS, backend="ci")
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def admin_client(server_url: str) -> Iterator[HangarClient]:
    with HangarClient(server_url) as client:
        client.login("admin", ADMIN_PASSWORD, "cli-resources-admin")
        yield client


@pytest.fixture(scope="module")
def cluster(
    server_url: str, admin_client: HangarClient, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """``ded-a``: the two H800 hosts, with 1/2/8-card specs, made with the CLI itself."""
    runner = Cli(tmp_path_factory.mktemp("cluster-cli") / "cli.toml")
    assert admin_client.token is not None
    runner.use(server_url, admin_client.token)
    runner.ok("clusters", "create", "ded-a", "--tenant", admin_client.whoami().tenant_id)
    runner.ok("nodes", "assign", "gpu-a1", "--cluster", "ded-a")
    runner.ok("nodes", "assign", "gpu-a2", "--cluster", "ded-a")
    for spec in ("21C_175G_1*H800", "42C_350G_2*H800", "170C_1400G_8*H800"):
        runner.ok("specs", "create", spec, "--cluster", "ded-a")
    return "ded-a"


def test_inventory_commands(cli: Cli, cluster: str) -> None:
    table = cli.ok("clusters", "list").stdout
    assert "default" in table and "ded-a" in table and "16 × H800" in table
    assert cli.json("clusters", "show", "ded-a")["capacity"]["gpus"] == 16
    nodes = cli.ok("nodes", "list").stdout
    assert "2 × L40S (DECLARED)" in nodes and "8 × H800 (DECLARED)" in nodes
    devices = cli.json("devices", "list", "--source", "declared", "--cluster", "default")
    assert {d["model"] for d in devices} == {"L40S"}
    assert all(d["source"] == "DECLARED" for d in devices)
    specs = cli.ok("specs", "list", "--cluster", "ded-a").stdout
    assert "21C_175G_1*H800" in specs and "170C_1400G_8*H800" in specs


def test_spec_string_errors(cli: Cli, cluster: str) -> None:
    out = cli.fails(2, "specs", "create", "21 cores", "--cluster", "ded-a")
    assert "is not a spec string" in flat(out.stderr)
    out = cli.fails(1, "specs", "create", "2C_8G_1*A100", "--cluster", "ded-a")
    assert "error: accel_model: cluster 'ded-a' has no A100 cards" in out.stderr


def test_quota_lifecycle(cli: Cli, cluster: str, db_file: Path) -> None:
    ws = cli.json("workspaces", "create", "CliTeam")
    q = cli.json(
        "quotas", "create", "cli-q", "--cluster", "ded-a", "--spec", "42C_350G_2*H800",
        "--count", "2", "--type", "training", "--type", "ide", "--weight", "5",
        "--workspace", "CliTeam",
    )  # fmt: skip
    assert q["usage"]["total"]["gpus"] == 4 and q["workspaces"][0]["name"] == "CliTeam"
    assert (q["exclusive"], q["borrowing"]) == (True, False)
    listing = cli.ok("quotas", "list").stdout
    assert "cli-q" in listing and "0/4" in listing
    out = cli.fails(
        1, "quotas", "create", "dup-w", "--cluster", "ded-a", "--spec", "21C_175G_1*H800",
        "--type", "training", "--weight", "5",
    )  # fmt: skip
    assert "quota 'cli-q'" in out.stderr
    out = cli.fails(1, "quotas", "resize", "cli-q", "--count", "3")
    assert "must be stopped before it is resized (RQ14)" in out.stderr
    assert cli.json("quotas", "stop", "cli-q")["status"] == "stopped"
    out = cli.fails(1, "quotas", "resize", "cli-q", "--count", "9")
    assert "at most 8" in out.stderr
    assert cli.json("quotas", "resize", "cli-q", "--count", "3")["instance_count"] == 3
    assert cli.json("quotas", "resize", "cli-q", "--policy", "best_effort")["policy"] == (
        "best_effort"
    )
    out = cli.fails(1, "quotas", "resize", "cli-q", "--policy", "lottery")
    assert "'lottery' is not a scheduling policy" in out.stderr
    assert cli.json("quotas", "edit", "cli-q", "-d", "vision")["description"] == "vision"
    out = cli.fails(1, "quotas", "associate", "cli-q", "default")
    assert "(W4)" in out.stderr
    _running_in(db_file, q["id"], ws["id"])
    out = cli.fails(1, "quotas", "dissociate", "cli-q", "CliTeam")
    assert "(A4)" in out.stderr
    out = cli.fails(1, "quotas", "delete", "cli-q", "--yes")
    assert "wait for completion or migrate tasks" in out.stderr
    shown = cli.ok("quotas", "show", "cli-q").stdout
    assert "1 running, 0 queued" in shown


def test_queue_commands(cli: Cli, cluster: str) -> None:
    queues = cli.json("queues", "list")
    assert queues[0]["builtin"] and queues[0]["name"] == "default"
    assert "on demand" in cli.ok("queues", "list").stdout
    made = cli.json(
        "queues", "create", "cli-queue", "--cluster", "ded-a", "--spec", "170C_1400G_8*H800",
        "--type", "service", "-d", "serving",
    )  # fmt: skip
    assert made["usage"]["total"]["gpus"] == 8 and made["description"] == "serving"
    out = cli.fails(1, "queues", "create", "bad name", "--cluster", "ded-a", "--spec",
                    "21C_175G_1*H800", "--type", "ide")  # fmt: skip
    assert "error: name: may contain only" in out.stderr
    cli.json("queues", "stop", "cli-queue")
    cli.ok("queues", "delete", "cli-queue", "--yes")
    out = cli.fails(1, "queues", "delete", "default", "--yes")
    assert "built-in default queue cannot be deleted" in out.stderr


def _running_in(db_file: Path, quota_id: str, workspace_id: str) -> None:
    engine = make_engine(f"sqlite:///{db_file}")
    with transaction(make_session_factory(engine)) as session:
        me = session.scalars(select(User).where(User.username == "admin")).one()
        session.add(
            Workload(
                tenant_id=me.tenant_id, workspace_id=workspace_id, created_by=me.id,
                kind="training", name="t", spec={}, quota_id=quota_id, state="RUNNING",
            )
        )  # fmt: skip
    engine.dispose()
