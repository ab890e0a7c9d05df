"""The billing API: prices (platform admin), wallet events, balance and statements, through
the real app and database; and a ``hangar server`` SIGKILLed during settlement."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hangar.billing.settlement import settle
from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.billing.test_settlement import at, price, tenant_id, usage
from tests.jobs.support import quiet_hangar
from tests.server_process import Server
from tests.support import ADMIN_PASSWORD, Hangar, assert_error, create_tenant

BILLING = "/api/v1/billing"


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


@pytest.fixture
def quiet_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def test_prices_are_added_by_the_platform_admin_and_never_backdated(quiet: Hangar) -> None:
    added = quiet.admin.call(
        "POST", f"{BILLING}/prices", 201,
        json={"meter": "dc100-40g", "rate_per_hour": "1.28", "unit": "DCU"},
    )  # fmt: skip
    assert added["rate_per_hour"] == "1.28" and added["tenant_id"] is None
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    err = assert_error(
        quiet.admin.post(
            f"{BILLING}/prices",
            json={
                "meter": "dc100-40g",
                "rate_per_hour": "2",
                "unit": "DCU",
                "effective_from": past,
            },
        ),
        422,
    )
    assert "effective_from" in err["fields"] and "never backdated" in err["message"]
    err = assert_error(
        quiet.admin.post(
            f"{BILLING}/prices",
            json={
                "meter": "dc100-40g",
                "rate_per_hour": "2",
                "unit": "CU",
                "effective_from": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
        ),
        422,
    )
    assert "one card is priced in one unit" in err["message"]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    quiet.admin.call(
        "POST", f"{BILLING}/prices", 201,
        json={"meter": "dc100-40g", "rate_per_hour": "1.5", "unit": "DCU", "effective_from": later},
    )  # fmt: skip
    listed = quiet.admin.call("GET", f"{BILLING}/prices")
    assert [p["rate_per_hour"] for p in listed] == ["1.28", "1.5"]
    owner = create_tenant(quiet, "other", "olga")
    assert_error(
        owner.post(f"{BILLING}/prices", json={"meter": "cpu", "rate_per_hour": "1", "unit": "DCU"}),
        403,
    )
    assert [p["rate_per_hour"] for p in owner.call("GET", f"{BILLING}/prices")] == ["1.28", "1.5"]
    _user, plain = quiet.user_api("pat")
    assert_error(plain.get(f"{BILLING}/prices"), 403)
    assert_error(plain.get(f"{BILLING}/balance"), 403)


def test_statement_lines_trace_to_usage_and_price_versions(quiet_any: Hangar) -> None:
    version = price(quiet_any, "dc100-40g", "1.28", at(0))
    interval = usage(quiet_any, "a", at(10, 0, 1), at(11, 30), gpus=1, gpu_model="dc100-40g")
    other = usage(quiet_any, "b", at(10, 20), at(10, 40), gpus=1, gpu_model="dc100-40g")
    settle(quiet_any.state.sessions, now=at(12))
    hour = quiet_any.admin.call("GET", f"{BILLING}/statements", params={"period": "2026-03-01T10"})
    assert [
        (x["usage_interval_id"], x["price_version_id"], x["amount"], x["seconds"])
        for x in hour["lines"]
    ] == [
        (interval, version, "1.279644", 3599),
        (other, version, "0.426667", 1200),
    ]
    # The exact sum, rounded once to 0.01 (spec 10 §5.7).
    assert hour["totals"] == [{"unit": "DCU", "exact": "1.706311", "total": "1.71"}]
    span = quiet_any.admin.call(
        "GET", f"{BILLING}/statements",
        params={"start": at(0).isoformat(), "end": at(24).isoformat()},
    )  # fmt: skip
    assert len(span["lines"]) == 3 and span["totals"][0]["exact"] == "2.346311"
    err = assert_error(
        quiet_any.admin.get(f"{BILLING}/statements", params={"period": "2026-03-01 10h"}), 422
    )
    assert "period" in err["fields"]
    assert_error(quiet_any.admin.get(f"{BILLING}/statements"), 422)
    balance = quiet_any.admin.call("GET", f"{BILLING}/balance")
    assert balance["prepaid"] is False and balance["wallet"] == []
    assert balance["ledger"] == [{"unit": "DCU", "charged": "2.346311", "credited": "0"}]
    # Another tenant sees none of it, and may not ask for this tenant's statement.
    owner = create_tenant(quiet_any, "other", "olga")
    assert owner.call("GET", f"{BILLING}/balance")["ledger"] == []
    assert_error(owner.get(f"{BILLING}/balance", params={"tenant_id": tenant_id(quiet_any)}), 404)


def test_wallet_events_and_the_derived_balance(quiet: Hangar) -> None:
    owner = create_tenant(quiet, "acme", "olga")
    me = owner.call("GET", "/api/v1/auth/me")
    err = assert_error(
        owner.post(
            f"{BILLING}/wallet/events", json={"kind": "buy_extension", "key": "extension-10"}
        ),
        409,
    )
    assert "plan" in err["message"]
    body = {"kind": "subscribe", "key": "basic", "idempotency_key": "order-1"}
    first = owner.call("POST", f"{BILLING}/wallet/events", 201, json=body)
    again = owner.call("POST", f"{BILLING}/wallet/events", 201, json=body)
    assert first["seq"] == again["seq"]
    owner.call("POST", f"{BILLING}/wallet/events", 201,
               json={"kind": "buy_extension", "key": "extension-10"})  # fmt: skip
    assert_error(
        owner.post(
            f"{BILLING}/wallet/events", json={"kind": "credit", "amount": "5", "unit": "DCU"}
        ),
        403,
    )
    err = assert_error(
        quiet.admin.post(
            f"{BILLING}/wallet/events", json={"kind": "credit", "tenant_id": me["tenant_id"]}
        ),
        422,
    )
    assert "amount" in err["fields"]
    err = assert_error(
        quiet.admin.post(f"{BILLING}/wallet/events",
                         json={"kind": "subscribe", "key": "gold", "tenant_id": me["tenant_id"]}),
        422,
    )  # fmt: skip
    assert "gold" in err["message"]
    quiet.admin.call(
        "POST", f"{BILLING}/wallet/events", 201,
        json={"kind": "credit", "amount": "2.5", "unit": "DCU", "tenant_id": me["tenant_id"]},
    )  # fmt: skip
    quiet.admin.call(
        "POST", f"{BILLING}/wallet/events", 201,
        json={"kind": "grant_trial", "key": "notebook-trial", "tenant_id": me["tenant_id"]},
    )  # fmt: skip
    balance = owner.call("GET", f"{BILLING}/balance")
    assert balance["prepaid"] is True and balance["plan"] == "basic"
    by_unit = {w["unit"]: w for w in balance["wallet"]}
    assert Decimal(by_unit["DCU"]["active"]) == Decimal("56.6") + 10 + Decimal("2.5")
    assert Decimal(by_unit["CU"]["active"]) == 250 and Decimal(by_unit["CU"]["scheduled"]) == 500
    # Purchases are charged in currency, credits are negative lines in compute units.
    assert balance["ledger"] == [
        {"unit": "CNY", "charged": "432.5", "credited": "0"},
        {"unit": "CU", "charged": "0", "credited": "750"},
        {"unit": "DCU", "charged": "0", "credited": "2.5"},
    ]
    now = datetime.now(UTC)
    around = {"start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()}
    kinds = owner.call("GET", f"{BILLING}/statements", params=around)["lines"]
    assert sorted((x["kind"], x["amount"]) for x in kinds) == [
        ("credit", "-2.5"), ("plan_purchase", "365"), ("plan_purchase", "67.5"),
        ("voucher", "-750"),
    ]  # fmt: skip
    # The platform admin's own tenant is untouched.
    assert quiet.admin.call("GET", f"{BILLING}/balance")["prepaid"] is False


# -- crash -----------------------------------------------------------------------------------


def ledger(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, amount FROM ledger_entries ORDER BY key")).all()
    return [(str(k), str(a)) for k, a in rows]


def seed(engine: sa.Engine, *, intervals: int, start: datetime, hours: int) -> None:
    """A platform price and ``intervals`` day-long usage rows from ``start``."""
    factory = sa.orm.sessionmaker(engine)
    with transaction(factory) as session:
        tid = session.scalar(sa.text("SELECT id FROM tenants LIMIT 1"))
        session.execute(
            sa.text(
                "INSERT INTO price_versions (id, tenant_id, meter, rate_per_hour, unit, "
                "effective_from, created_by, created_at) VALUES "
                "('p1', NULL, 'dc100-40g', '1.28', 'DCU', :t, NULL, :t)"
            ),
            {"t": start - timedelta(days=1)},
        )
        for i in range(intervals):
            session.add(
                UsageInterval(
                    id=f"u{i:04d}", key=f"seed-{i}", run_id=f"r{i}", workload_id=f"w{i}", tenant_id=tid,
                    workspace_id="ws", node_name="gpu-a1", gpus=1 + i % 4,
                    gpu_model="dc100-40g", started_at=start + timedelta(seconds=37 * i),
                    ended_at=start + timedelta(hours=hours, seconds=11 * i),
                )
            )  # fmt: skip


def count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM ledger_entries")).scalar_one())


def wait_for_lines(engine: sa.Engine, *, at_least: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while True:
        n = count(engine)
        if n >= at_least or time.monotonic() > deadline:
            return n
        time.sleep(0.01)


def kill_at_first_line(server: Server, engine: sa.Engine) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.proc is not None and count(engine) > 0:
            os.killpg(server.proc.pid, signal.SIGKILL)
            return
        time.sleep(0.001)


def test_a_server_killed_during_settlement_charges_every_period_once(tmp_path: Path) -> None:
    hours, intervals = 80, 60
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=4)
    # The clean run: the same seed settled in-process.
    clean_home = tmp_path / "clean"
    with quiet_hangar(clean_home, f"sqlite:///{clean_home / 'c.db'}") as h:
        seed(h.state.engine, intervals=intervals, start=start, hours=hours)
        settle(h.state.sessions, now=datetime.now(UTC))
        expected = ledger(h.state.engine)
    # whole hours + the part hour per interval; the first ends on an hour boundary.
    assert len(expected) == intervals * (hours + 1) - 1

    server = Server(tmp_path / "home", None, extra_env={"HANGAR_BILLING_SETTLE_SECONDS": "3600"})
    server.start()  # first start: migrate, create the tenant; settles nothing (no usage yet)
    server.stop()
    engine = server.engine()
    try:
        seed(engine, intervals=intervals, start=start, hours=hours)
        server.extra_env["HANGAR_BILLING_SETTLE_SECONDS"] = "0.05"
        # Settlement starts with the server: a watcher SIGKILLs it at the first committed hour,
        # perhaps before it even answers /healthz.
        watcher = threading.Thread(target=kill_at_first_line, args=(server, engine), daemon=True)
        watcher.start()
        with contextlib.suppress(AssertionError):  # "server exited" when killed that early
            server.start()
        watcher.join(timeout=120)
        assert server.proc is not None and server.proc.wait(timeout=30) == -signal.SIGKILL
        seen = count(engine)
        assert 0 < seen < len(expected), "the kill came too late to interrupt settlement"
        server.start()
        assert wait_for_lines(engine, at_least=len(expected)) == len(expected)
        time.sleep(0.5)  # a few more passes: they must add nothing
        got = ledger(engine)
        assert got == expected
        assert len({k for k, _ in got}) == len(got)
        api = httpx.Client(base_url=server.url)
        token = api.post(
            "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        balance: dict[str, Any] = api.get(
            f"{BILLING}/balance", headers={"Authorization": f"Bearer {token}"}
        ).json()
        exact = sum((Decimal(a) for _, a in expected), Decimal(0))
        assert Decimal(balance["ledger"][0]["charged"]) == exact
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"meter": "dc100-40g", "rate_per_hour": "-1.28", "unit": "DCU"}, "rate_per_hour"),
        ({"meter": "dc100-40g", "rate_per_hour": "cheap", "unit": "DCU"}, "rate_per_hour"),
        ({"meter": "dc100-40g", "rate_per_hour": "NaN", "unit": "DCU"}, "rate_per_hour"),
        ({"meter": "dc100-40g", "rate_per_hour": "1", "unit": "EUR"}, "unit"),
    ],
)
def test_bad_prices_are_refused_and_the_price_book_untouched(
    quiet: Hangar, body: dict[str, str], field: str
) -> None:
    err = assert_error(quiet.admin.post(f"{BILLING}/prices", json=body), 422)
    assert any(field in name for name in err["fields"]), err
    assert quiet.admin.call("GET", f"{BILLING}/prices") == []


def test_a_second_version_at_the_same_instant_is_refused(quiet: Hangar) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    body = {"meter": "dc100-80g", "rate_per_hour": "2.56", "unit": "DCU", "effective_from": when}
    quiet.admin.call("POST", f"{BILLING}/prices", 201, json=body)
    err = assert_error(quiet.admin.post(f"{BILLING}/prices", json={**body, "rate_per_hour": "3"}),
                       422)  # fmt: skip
    assert err["fields"], err
    assert [p["rate_per_hour"] for p in quiet.admin.call("GET", f"{BILLING}/prices")] == ["2.56"]
