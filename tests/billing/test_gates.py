"""Billing gates and the wallet watch through the API on a real database: the minimum
balance (B-M3), deposits, the exhausted-wallet policy (stop or arrears) and the 80 % / 100 %
alerts, each refusal naming its figures and writing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Amount, Unit
from hangar.billing.orm import BillingAlert, LedgerEntry
from hangar.billing.service import do_append_event
from hangar.billing.subscriptions import Consume
from hangar.billing.watch import WalletWatch
from hangar.db.engine import transaction
from hangar.workloads.orm import Workload
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.support import Hangar, assert_error

POLICY = "/api/v1/billing/policy"


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


def submit(h: Hangar, name: str = "train", status: int = 201) -> dict[str, object]:
    body = job_body(h.default_workspace()["id"], name)
    found: dict[str, object] = h.admin.call("POST", JOBS, status, json=body)
    return found


def jobs_count(h: Hangar) -> int:
    with h.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Workload)) or 0)


def test_minimum_balance_gates_submission_until_a_deposit_lifts_it(quiet: Hangar) -> None:
    h = quiet
    policy = h.admin.call("GET", POLICY)
    assert policy["min_balance"] is None and policy["exhausted_action"] == "arrears"
    policy = h.admin.call("PUT", POLICY, json={"min_balance": "100"})
    assert (policy["min_balance"], policy["balance"]) == ("100", "0")
    refused = h.admin.call("POST", JOBS, 409, json=job_body(h.default_workspace()["id"], "a"))
    assert "the tenant's balance is 0 CNY; starting work needs more than 100 CNY" in str(refused)
    assert jobs_count(h) == 0
    h.admin.call("POST", "/api/v1/billing/deposits", 201,
                 json={"amount": "100", "idempotency_key": "pay-1"})  # fmt: skip
    h.admin.call("POST", JOBS, 409, json=job_body(h.default_workspace()["id"], "a"))  # = 100
    again = h.admin.call("POST", "/api/v1/billing/deposits", 201,
                         json={"amount": "100", "idempotency_key": "pay-1"})  # fmt: skip
    assert again["amount"] == "-100"  # the retry returns the first line, adds nothing
    h.admin.call("POST", "/api/v1/billing/deposits", 201, json={"amount": "0.01"})
    assert h.admin.call("GET", POLICY)["balance"] == "100.01"
    submit(h)
    assert jobs_count(h) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min_balance": "-1"}, "min_balance"),
        ({"min_balance": "lots"}, "min_balance"),
        ({"min_balance": "1", "min_balance_unit": "DCU"}, "min_balance_unit"),
        ({"exhausted_action": "explode"}, "exhausted_action"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(
    quiet: Hangar, body: dict[str, str], field: str
) -> None:
    h = quiet
    error = assert_error(h.admin.request("PUT", POLICY, json=body), 422)
    assert field in error["fields"], error
    assert h.admin.call("GET", POLICY)["min_balance"] is None


def test_bad_deposits_are_refused_and_the_ledger_untouched(quiet: Hangar) -> None:
    h = quiet
    for body, field in (
        ({"amount": "-5"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": "5", "unit": "DCU"}, "unit"),
    ):
        error = assert_error(h.admin.request("POST", "/api/v1/billing/deposits", json=body), 422)
        assert field in error["fields"], error
    with h.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_only_the_platform_admin_sets_the_policy(quiet: Hangar) -> None:
    h = quiet
    _, member = h.user_api("member")
    assert member.request("PUT", POLICY, json={"min_balance": "0"}).status_code == 403
    assert member.request("POST", "/api/v1/billing/deposits",
                          json={"amount": "1"}).status_code == 403  # fmt: skip


def consume(h: Hangar, dcu: str, at: datetime) -> None:
    tid = h.admin.call("GET", "/api/v1/auth/me")["tenant_id"]
    with transaction(h.state.sessions) as session:
        do_append_event(
            session, tenant_id=tid, event=Consume(at, Amount.of(dcu, Unit.DCU)),
            key=f"test-consume-{dcu}-{at.isoformat()}", catalog=DEFAULT_CATALOG, created_by=None,
        )  # fmt: skip


def alerts(h: Hangar) -> list[str]:
    return [a["kind"] for a in h.admin.call("GET", "/api/v1/billing/alerts")]


def test_alerts_at_80_and_100_percent_and_the_stop_policy_stops_work_once(quiet: Hangar) -> None:
    h = quiet
    h.admin.call("POST", "/api/v1/billing/wallet/events", 201,
                 json={"kind": "subscribe", "key": "trial"})  # 20 DCU  # fmt: skip
    job = submit(h)
    watch = WalletWatch(h.state.sessions)
    now = datetime.now(UTC) + timedelta(seconds=1)
    watch.step(now)
    assert alerts(h) == []
    consume(h, "16", now)  # 80 % used
    watch.step(now)
    watch.step(now)
    assert alerts(h) == ["wallet_80"]
    h.admin.call("PUT", POLICY, json={"exhausted_action": "stop"})
    consume(h, "4", now)  # 100 %: exhausted
    watch.step(now)
    assert sorted(alerts(h)) == ["wallet_100", "wallet_80", "wallet_stopped"]
    state = h.admin.call("GET", f"{JOBS}/{job['id']}")
    assert state["state"] == "STOPPED" and "stopped by billing" in state["state_reason"]
    refused = h.admin.call("POST", JOBS, 409, json=job_body(h.default_workspace()["id"], "b"))
    assert "the tenant's wallet is exhausted (0 DCU" in str(refused)
    watch.step(now)  # once per exhaustion
    with h.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BillingAlert)) == 3


def test_the_arrears_policy_keeps_work_running(quiet: Hangar) -> None:
    h = quiet
    h.admin.call("POST", "/api/v1/billing/wallet/events", 201,
                 json={"kind": "subscribe", "key": "trial"})  # fmt: skip
    job = submit(h)
    now = datetime.now(UTC) + timedelta(seconds=1)
    consume(h, "25", now)  # 5 DCU of arrears
    WalletWatch(h.state.sessions).step(now)
    assert "wallet_stopped" not in alerts(h)
    assert h.admin.call("GET", f"{JOBS}/{job['id']}")["state"] != "STOPPED"
    submit(h, "another")


def test_arrears_above_10_dcu_alert_and_the_voucher_repays_the_part_above(
    quiet: Hangar,
) -> None:
    """B-E6: 20 DCU owed → the user bears 10 and a 10 DCU voucher is due; 5 owed → none."""
    h = quiet
    h.admin.call("POST", "/api/v1/billing/wallet/events", 201,
                 json={"kind": "subscribe", "key": "trial"})  # 20 DCU  # fmt: skip
    now = datetime.now(UTC) + timedelta(seconds=1)
    consume(h, "25", now)  # 5 DCU of arrears
    [dcu] = [w for w in h.admin.call("GET", "/api/v1/billing/balance")["wallet"]
             if w["unit"] == "DCU"]  # fmt: skip
    assert (dcu["arrears"], dcu["arrears_cleanup_allowed"], dcu["arrears_voucher_due"]) == (
        "5", False, "0")  # fmt: skip
    refused = h.admin.call("POST", "/api/v1/billing/arrears/compensation", 409, json={})
    assert "no compensation is due (arrears 5 DCU" in str(refused)
    consume(h, "15", now)  # 20 DCU owed
    WalletWatch(h.state.sessions).step(now)
    assert "arrears_over_threshold" in alerts(h)
    [dcu] = [w for w in h.admin.call("GET", "/api/v1/billing/balance")["wallet"]
             if w["unit"] == "DCU"]  # fmt: skip
    assert (dcu["arrears_cleanup_allowed"], dcu["arrears_voucher_due"]) == (True, "10")
    _, member = h.user_api("pat")
    assert member.post("/api/v1/billing/arrears/compensation", json={}).status_code == 403
    h.admin.call("POST", "/api/v1/billing/arrears/compensation", 201,
                 json={"idempotency_key": "comp-1"})  # fmt: skip
    h.admin.call("POST", "/api/v1/billing/arrears/compensation", 201,
                 json={"idempotency_key": "comp-1"})  # a retry grants nothing more  # fmt: skip
    [dcu] = [w for w in h.admin.call("GET", "/api/v1/billing/balance")["wallet"]
             if w["unit"] == "DCU"]  # fmt: skip
    assert (dcu["arrears"], dcu["arrears_voucher_due"]) == ("10", "0")
