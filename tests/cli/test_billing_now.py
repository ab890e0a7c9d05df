"""``hangar billing now``: what is costing now, against a live server running a real job on
the local backend (the server's own scheduler and reconciler start it and open its usage).

This module runs its own server whose SQLite file the tests reach, to date a price before the
job started (the API never backdates a price).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.money import Unit
from hangar.billing.service import do_add_price
from hangar.client import HangarClient
from hangar.db.engine import transaction
from tests.cli.conftest import Cli, flat
from tests.support import USER_PASSWORD, live_server
from tests.support import test_settings as settings_for


@pytest.fixture(scope="module")
def now_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('cli-costs-db')}/h.db"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, now_db_url: str) -> Iterator[str]:
    home = tmp_path_factory.mktemp("cli-costs") / "home"
    with live_server(settings_for(home, now_db_url, sandbox="off")) as url:
        yield url


@pytest.fixture
def sessions(now_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = sa.create_engine(now_db_url)
    try:
        yield sessionmaker(engine)
    finally:
        engine.dispose()


def test_a_running_job_is_listed_with_its_rate_and_the_command_to_stop_it(
    cli: Cli, admin_client: HangarClient, sessions: sessionmaker[Session]
) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    with transaction(sessions) as session:
        for meter, rate in (("cpu", "0.5"), ("memory", "0.02")):
            do_add_price(
                session, tenant_id=None, meter=meter, rate_per_hour=rate, unit=Unit.DCU,
                effective_from=since, now=since, created_by=None,
            )  # fmt: skip
    empty = cli.ok("billing", "now")
    assert "nothing is costing anything now" in empty.stderr

    [ws] = [w for w in admin_client.workspaces.list() if w.is_default]
    job = admin_client.jobs.create(
        workspace_id=ws.id, name="cli-costly", command="sleep 300", mode="single",
        resources={"cpu_cores": 0.5, "mem_gib": 0.25},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not cli.json("billing", "now")["items"]:
            assert time.monotonic() < deadline, admin_client.jobs.get(job.id).state_reason
            time.sleep(0.2)
        [item] = cli.json("billing", "now")["items"]
        assert (item["id"], item["kind"], item["state"]) == (job.id, "job", "RUNNING")
        # 0.5 cores × 0.5 + 0.25 GiB × 0.02 = 0.255 DCU/h
        shown = cli.ok("billing", "now").stdout
        assert "cli-costly" in shown and "0.255 DCU" in shown
        assert "0.5 cpu @ 0.5/h" in shown and "0.25 memory @ 0.02/h" in shown
        assert f"hangar jobs stop {job.id}" in shown
        assert "Total DCU: 0.255/h" in shown
        tenant = cli.json("billing", "now", "--scope", "tenant")
        assert [i["id"] for i in tenant["items"]] == [job.id]
        by_name = cli.json("billing", "now", "--scope", "workspace", "--workspace", ws.name)
        assert [i["id"] for i in by_name["items"]] == [job.id]
    finally:
        admin_client.jobs.stop(job.id)


def test_bad_scopes_are_refused(
    cli: Cli, fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    usage = cli.fails(2, "billing", "now", "--scope", "workspace")
    assert "--workspace" in flat(usage.stderr)
    bad = cli.fails(2, "billing", "now", "--scope", "planet")
    assert "--scope" in flat(bad.stderr)
    admin_client.users.create(username="now-user", password=USER_PASSWORD)
    with HangarClient(server_url) as user:
        token = user.login("now-user", USER_PASSWORD, "cli-tests").token
    fresh_cli.use(server_url, token, "now-user")
    assert "nothing is costing anything now" in fresh_cli.ok("billing", "now").stderr
    refused = fresh_cli.fails(1, "billing", "now", "--scope", "tenant")
    assert "needs one of the tenant roles" in refused.stderr
