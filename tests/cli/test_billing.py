"""``hangar billing``: prices, wallet events, balance and statements, against a live server.

This module runs its own server (billing loop effectively idle) whose SQLite file the tests
can reach, so one test records real usage and settles an hour of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Unit
from hangar.billing.service import do_add_price
from hangar.billing.settlement import settle_hour
from hangar.client import HangarClient
from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.cli.conftest import Cli, flat
from tests.support import USER_PASSWORD, live_server
from tests.support import test_settings as settings_for

USAGE_HOUR = datetime(2026, 1, 2, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def billing_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('cli-billing-db')}/h.db"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, billing_db_url: str) -> Iterator[str]:
    home = tmp_path_factory.mktemp("cli-billing") / "home"
    # Settlement only when a test asks: the loop's first pass finds no usage, then sleeps.
    with live_server(settings_for(home, billing_db_url, billing_settle_seconds=3600)) as url:
        yield url


@pytest.fixture
def sessions(billing_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = sa.create_engine(billing_db_url)
    try:
        yield sessionmaker(engine)
    finally:
        engine.dispose()


def owner_cli(tmp_path: Path, server_url: str, admin_client: HangarClient, name: str) -> Cli:
    """A CLI logged in as the owner (tenant admin) of a new tenant ``name``."""
    admin_client.tenants.create(name=name, owner_username=f"{name}-owner",
                                owner_password=USER_PASSWORD)  # fmt: skip
    with HangarClient(server_url) as owner:
        token = owner.login(f"{name}-owner", USER_PASSWORD, "cli-tests").token
    cli = Cli(tmp_path / name / "cli.toml")
    cli.use(server_url, token, f"{name}-owner")
    return cli


def test_prices_are_listed_added_and_never_backdated(cli: Cli) -> None:
    # The module's server is shared (tests run in any order): look at this meter only.
    def versions() -> list[dict[str, Any]]:
        return [p for p in cli.json("billing", "prices") if p["meter"] == "dc100-40g"]

    before = cli.json("billing", "prices")
    if not before:
        assert "no prices" in cli.ok("billing", "prices").stderr
    assert versions() == []
    added = cli.json("billing", "price-add", "dc100-40g", "--rate", "1.28", "--unit", "DCU")
    assert added["rate_per_hour"] == "1.28" and added["tenant_id"] is None
    shown = cli.ok("billing", "prices").stdout
    assert "dc100-40g" in shown and "1.28" in shown and "platform" in shown
    assert [p["id"] for p in versions()] == [added["id"]]

    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    out = cli.fails(
        1, "billing", "price-add", "dc100-40g", "--rate", "2", "--unit", "DCU",
        "--effective-from", past,
    )  # fmt: skip
    assert "effective_from" in out.stderr and "never backdated" in flat(out.stderr)
    bad_unit = cli.fails(2, "billing", "price-add", "cpu", "--rate", "1", "--unit", "USD")
    assert "--unit" in flat(bad_unit.stderr)
    assert len(versions()) == 1


def test_subscribe_and_credit_show_in_the_balance(
    tmp_path: Path, cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    owner = owner_cli(tmp_path, server_url, admin_client, "acme")
    before = owner.json("billing", "balance")
    assert before["prepaid"] is False and before["plan"] is None and before["wallet"] == []
    assert "nothing charged or credited yet" in owner.ok("billing", "balance").stderr

    event = owner.json("billing", "subscribe", "basic", "--idempotency-key", "order-1")
    assert event["kind"] == "subscribe"
    again = owner.json("billing", "subscribe", "basic", "--idempotency-key", "order-1")
    assert again["seq"] == event["seq"]
    tid = event["tenant_id"]
    # A voucher is the platform admin's to give; the tenant admin is told so.
    refused = owner.fails(1, "billing", "credit", "5", "--unit", "DCU")
    assert "only the platform admin may record a 'credit' event" in refused.stderr
    cli.json("billing", "credit", "2.5", "--unit", "DCU", "--tenant", tid)

    balance = owner.json("billing", "balance")
    assert balance["prepaid"] is True and balance["plan"] == "basic"
    [dcu] = [w for w in balance["wallet"] if w["unit"] == "DCU"]
    assert dcu["active"] == "59.1"  # 56.6 from the plan + 2.5 credited, as the API wrote it
    assert {"unit": "CNY", "charged": "365", "credited": "0"} in balance["ledger"]
    assert {"unit": "DCU", "charged": "0", "credited": "2.5"} in balance["ledger"]
    shown = owner.ok("billing", "balance").stdout
    assert "basic" in shown and "59.1" in shown and "365" in shown and "2.5" in shown
    # The platform admin reads it too; their own tenant is untouched.
    assert cli.json("billing", "balance", "--tenant", tid)["plan"] == "basic"
    assert cli.json("billing", "balance")["prepaid"] is False


def test_an_hour_without_usage_has_an_empty_statement(cli: Cli) -> None:
    statement = cli.json("billing", "statement", "--period", "2020-01-01T00")
    assert statement["lines"] == [] and statement["totals"] == []
    out = cli.ok("billing", "statement", "--period", "2020-01-01T00")
    assert "no line items" in out.stderr and "Total: 0 (exact 0)" in out.stdout
    usage = cli.fails(2, "billing", "statement")
    assert "--since and --until" in flat(usage.stderr)
    bad = cli.fails(1, "billing", "statement", "--period", "2020-01-01 10h")
    assert "period" in bad.stderr and "YYYY-MM-DDTHH" in bad.stderr


def test_a_statement_lists_settled_usage_with_exact_and_rounded_totals(
    cli: Cli, admin_client: HangarClient, sessions: sessionmaker[Session]
) -> None:
    tid = admin_client.whoami().tenant_id
    assert tid is not None
    with transaction(sessions) as session:
        # Dated before the hour directly in the database: the API never backdates a price.
        do_add_price(
            session, tenant_id=None, meter="dc100-80g", rate_per_hour="2.56", unit=Unit.DCU,
            effective_from=USAGE_HOUR - timedelta(days=1),
            now=USAGE_HOUR - timedelta(days=1), created_by=None,
        )  # fmt: skip
        session.add(
            UsageInterval(
                key="cli-billing-a", run_id="r-a", workload_id="w-cli-a", tenant_id=tid,
                workspace_id="ws", node_name="gpu-a1", gpus=1, gpu_model="dc100-80g",
                started_at=USAGE_HOUR + timedelta(minutes=10),
                ended_at=USAGE_HOUR + timedelta(minutes=40, seconds=1),
            )
        )  # fmt: skip
    with transaction(sessions) as session:
        assert settle_hour(session, hour=USAGE_HOUR, catalog=DEFAULT_CATALOG) == 1

    statement = cli.json("billing", "statement", "--period", "2026-01-02T10")
    [line] = statement["lines"]
    assert (line["workload_id"], line["meter"], line["seconds"]) == ("w-cli-a", "dc100-80g", 1801)
    assert line["amount"] == "1.280711"
    assert statement["totals"] == [{"unit": "DCU", "exact": "1.280711", "total": "1.28"}]
    shown = cli.ok("billing", "statement", "--period", "2026-01-02T10").stdout
    assert "w-cli-a" in shown and "dc100-80g" in shown and "1.280711" in shown
    assert "2026-01-02 10:10:00 – 10:40:01" in shown
    assert "Total DCU: 1.28 (exact 1.280711)" in shown
    span = cli.json(
        "billing", "statement", "--since", "2026-01-02T00:00:00+00:00",
        "--until", "2026-01-03T00:00:00+00:00",
    )  # fmt: skip
    assert span["lines"] == statement["lines"]


def test_plain_users_are_refused_price_changes(
    fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    admin_client.users.create(username="bill-user", password=USER_PASSWORD)
    with HangarClient(server_url) as user:
        token = user.login("bill-user", USER_PASSWORD, "cli-tests").token
    fresh_cli.use(server_url, token, "bill-user")
    denied = fresh_cli.fails(1, "billing", "price-add", "cpu", "--rate", "1", "--unit", "DCU")
    assert denied.stdout == "" and "error:" in denied.stderr
    assert "only the platform admin" in denied.stderr
    refused = fresh_cli.fails(1, "billing", "balance")
    assert "needs one of the tenant roles" in refused.stderr
