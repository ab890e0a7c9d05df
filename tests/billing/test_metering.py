"""Generic meters (spec 10 §5.1) on a real database: records priced per unit of quantity once
their hour ended, exactly once, late records still billed, prepaid wallets deducted, bad
records refused with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hangar.billing.money import Unit
from hangar.billing.orm import LedgerEntry, MeterRecord, WalletEventRow
from hangar.billing.settlement import settle
from tests.billing.test_settlement import price
from tests.jobs.support import quiet_hangar
from tests.support import Hangar, assert_error

RECORDS = "/api/v1/billing/meter-records"


@pytest.fixture
def quiet(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def lines(h: Hangar) -> list[tuple[str, str, str, str]]:
    with h.state.sessions() as session:
        return [
            (r.kind, r.meter, r.quantity, r.amount)
            for r in session.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == "metered").order_by(LedgerEntry.key)
            )
        ]


def test_records_are_priced_per_unit_once_their_hour_ends_and_exactly_once(
    quiet: Hangar,
) -> None:
    h = quiet
    now = datetime.now(UTC)
    price(h, "public-ip", "0.2", now, Unit.CNY)  # per address-hour
    price(h, "tokens-1k", "0.002", now, Unit.CNY)  # per thousand tokens
    first = h.admin.call("POST", RECORDS, 201,
                         json={"key": "ip-1", "meter": "public-ip", "quantity": "3"})  # fmt: skip
    again = h.admin.call("POST", RECORDS, 201,
                         json={"key": "ip-1", "meter": "public-ip", "quantity": "3"})  # fmt: skip
    assert again["id"] == first["id"]
    h.admin.call("POST", RECORDS, 201,
                 json={"key": "tok-1", "meter": "tokens-1k", "quantity": "1250.5"})  # fmt: skip
    h.admin.call("POST", RECORDS, 201,
                 json={"key": "x-1", "meter": "unpriced", "quantity": "1"})  # fmt: skip
    settle(h.state.sessions, now=now)  # their hour has not ended: nothing yet
    assert lines(h) == []
    later = now + timedelta(hours=1)
    settle(h.state.sessions, now=later)
    assert sorted(lines(h)) == [
        ("metered", "public-ip", "3", "0.6"),
        ("metered", "tokens-1k", "1250.5", "2.501"),
    ]
    settle(h.state.sessions, now=later)
    settle(h.state.sessions, now=later + timedelta(hours=3))
    assert len(lines(h)) == 2
    statement = h.admin.call("GET", "/api/v1/billing/statements",
                             params={"start": now.replace(minute=0, second=0, microsecond=0)
                                     .isoformat(), "end": later.isoformat()})  # fmt: skip
    assert {"unit": "CNY", "exact": "3.101", "total": "3.10"} in statement["totals"]


def test_a_late_record_for_a_settled_hour_is_still_billed(quiet: Hangar) -> None:
    h = quiet
    now = datetime.now(UTC)
    price(h, "public-ip", "0.2", now - timedelta(seconds=1), Unit.CNY)
    settle(h.state.sessions, now=now + timedelta(hours=2))
    h.admin.call("POST", RECORDS, 201,
                 json={"key": "late", "meter": "public-ip", "quantity": "1",
                       "at": now.isoformat()})  # fmt: skip
    settle(h.state.sessions, now=now + timedelta(hours=2))
    assert lines(h) == [("metered", "public-ip", "1", "0.2")]


def test_prepaid_wallets_are_deducted_with_the_line(quiet: Hangar) -> None:
    h = quiet
    now = datetime.now(UTC)
    price(h, "tokens-1k", "0.5", now, Unit.DCU)
    h.admin.call("POST", "/api/v1/billing/wallet/events", 201,
                 json={"kind": "subscribe", "key": "trial"})  # fmt: skip
    h.admin.call("POST", RECORDS, 201,
                 json={"key": "t", "meter": "tokens-1k", "quantity": "4"})  # fmt: skip
    settle(h.state.sessions, now=now + timedelta(hours=1))
    settle(h.state.sessions, now=now + timedelta(hours=2))
    with h.state.sessions() as session:
        consumed = session.scalars(
            select(WalletEventRow).where(WalletEventRow.kind == "consume")
        ).all()
    assert [c.payload["amount"] for c in consumed] == ["2"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "a", "meter": "cpu", "quantity": "1"}, "meter"),
        ({"key": "b", "meter": "public-ip", "quantity": "-1"}, "quantity"),
        ({"key": "c", "meter": "public-ip", "quantity": "many"}, "quantity"),
        ({"key": "d", "meter": "public-ip", "quantity": "1",
          "at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "at"),
    ],
)  # fmt: skip
def test_bad_records_are_refused_and_nothing_is_written(
    quiet: Hangar, body: dict[str, str], field: str
) -> None:
    h = quiet
    err = assert_error(h.admin.post(RECORDS, json=body), 422)
    assert field in err["fields"], err
    with h.state.sessions() as session:
        assert session.scalars(select(MeterRecord)).all() == []
