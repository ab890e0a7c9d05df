"""Daily storage settlement on a real database: the spec's 0.03 DCU example end to end, the
next-morning rule, ceil of every fraction, the free quota per tenant, postpaid prices, and
exactly-once charging (spec 10 §2.4, decisions J1, J2)."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Unit
from hangar.billing.orm import LedgerEntry, SettlementMark, StoragePeak, WalletEventRow
from hangar.billing.service import do_add_price, do_append_event, wallet_balances
from hangar.billing.storage_settlement import StorageBilling, StorageSettler, settle_storage
from hangar.billing.subscriptions import Subscribe
from hangar.db.engine import transaction
from hangar.tenancy.orm import User, Workspace
from tests.jobs.support import quiet_hangar
from tests.support import Hangar

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GB = 1024**3


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """``day`` 0 is 1 March 2026 (UTC)."""
    return T0 + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


@pytest.fixture
def quiet_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def ids(h: Hangar) -> tuple[str, str, str]:
    """(tenant, admin user, a workspace) of the first tenant."""
    with h.state.sessions() as session:
        user = session.scalars(select(User).where(User.username == "admin")).one()
        ws = session.scalars(select(Workspace).where(Workspace.tenant_id == user.tenant_id)).first()
        assert ws is not None
        return user.tenant_id, user.id, ws.id


def subscribe(h: Hangar, plan: str, when: datetime) -> None:
    with transaction(h.state.sessions) as session:
        do_append_event(
            session, tenant_id=ids(h)[0], event=Subscribe(when, plan), key=f"buy-{plan}",
            catalog=DEFAULT_CATALOG, created_by=None,
        )  # fmt: skip


def peak(h: Hangar, kind: str, owner: str, day: int, peak_bytes: int) -> None:
    tid = ids(h)[0]
    with transaction(h.state.sessions) as session:
        session.add(
            StoragePeak(
                owner_kind=kind, owner_id=owner, day=at(day).date().isoformat(), tenant_id=tid,
                peak_bytes=peak_bytes, last_bytes=peak_bytes, sampled_at=at(day, 12),
            )
        )  # fmt: skip


def storage_lines(h: Hangar) -> list[tuple[str, str, str, str, datetime, datetime]]:
    """(key, quantity GB, amount, unit, period start, period end) of every storage line."""
    with h.state.sessions() as session:
        rows = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == "storage").order_by(LedgerEntry.key)
        ).all()
        return [(r.key, r.quantity, r.amount, r.unit, r.period_start, r.period_end) for r in rows]


def consumed(h: Hangar) -> list[tuple[str, str]]:
    with h.state.sessions() as session:
        return [
            (row.key, row.payload["amount"])
            for row in session.scalars(
                select(WalletEventRow)
                .where(WalletEventRow.kind == "consume")
                .order_by(WalletEventRow.seq)
            )
        ]


def test_golden_trial_50_gb_costs_0_03_dcu_the_next_morning(quiet_any: Hangar) -> None:
    """B-E5 / J1: Trial, 30 G free, 50 GB used that day → 20 × 0.0015 = 0.03 DCU."""
    h = quiet_any
    tid, uid, _ws = ids(h)
    subscribe(h, "trial", at(0))
    # 50 GB of real (sparse) files in the user's /work/home, sampled during the day.
    data = h.settings.home / "users" / uid / "home" / "dataset.bin"
    data.parent.mkdir(parents=True)
    with data.open("wb") as fh:
        fh.truncate(50 * GB)
    billing = StorageBilling(h.state.sessions, h.settings.home)
    assert billing.step(now=at(0, 9)) == 0
    data.unlink()  # deleted in the afternoon: the day's peak still counts (B-E2)
    assert billing.step(now=at(0, 15)) == 0
    assert billing.step(now=at(0, 23, 59)) == 0  # the day is not over
    assert billing.step(now=at(1, 0, 30)) == 0  # over, but samples begun before midnight may land
    assert billing.step(now=at(1, 1)) == 1  # the early morning of the next day
    day = at(0).date().isoformat()
    key = f"storage:tenant:{tid}:{day}"
    assert storage_lines(h) == [(key, "20", "0.03", "DCU", at(0), at(1))]
    assert consumed(h) == [(f"consume:DCU:{key}", "0.03")]
    with h.state.sessions() as session:
        (dcu, _cu) = wallet_balances(session, tenant_id=tid, at=at(1, 2), catalog=DEFAULT_CATALOG)
    assert dcu.active.value == Decimal("20") - Decimal("0.03")
    # Running again, later, with the 0-byte day 1 sampled: nothing new.
    assert billing.step(now=at(1, 2)) == 0
    assert billing.step(now=at(2, 1)) == 0
    assert len(storage_lines(h)) == 1
    assert len(consumed(h)) == 1


def test_every_fraction_of_a_gb_rounds_up(quiet: Hangar) -> None:
    """J2; spec 10 §2.4 derived example: Basic, 60 G free, 60.4 GB → 1 GB → 0.0015 DCU."""
    tid, _uid, _ws = ids(quiet)
    subscribe(quiet, "basic", at(0))
    peak(quiet, "tenant", tid, 0, int(Decimal("60.4") * GB))
    peak(quiet, "tenant", tid, 1, 61 * GB + 1)  # one byte over 61 GB: 2 GB
    assert settle_storage(quiet.state.sessions, now=at(2, 1)) == 2
    assert [(line[1], line[2]) for line in storage_lines(quiet)] == [
        ("1", "0.0015"),
        ("2", "0.003"),
    ]


def test_a_peak_within_the_free_quota_writes_no_line(quiet: Hangar) -> None:
    tid, _uid, _ws = ids(quiet)
    subscribe(quiet, "trial", at(0))
    peak(quiet, "tenant", tid, 0, 30 * GB)  # exactly the quota
    assert settle_storage(quiet.state.sessions, now=at(1, 1)) == 0
    assert storage_lines(quiet) == []
    assert consumed(quiet) == []
    with quiet.state.sessions() as session:
        mark = session.get(SettlementMark, "storage")
        assert mark is not None and mark.settled_until == at(1)


def test_the_free_quota_is_the_tenants_not_each_owners(quiet: Hangar) -> None:
    """Advanced, 100 G free: a user with 70 GB and a workspace with 60 GB pay for 30 GB."""
    tid, uid, ws = ids(quiet)
    subscribe(quiet, "advanced", at(0))
    peak(quiet, "user", uid, 0, 70 * GB)
    peak(quiet, "workspace", ws, 0, 60 * GB)
    # Day 1 has the meter's tenant row: 40 GB moved from the home to the share at noon, so
    # the owners' peaks sum to 140 but the tenant never held more than 100.
    peak(quiet, "user", uid, 1, 70 * GB)
    peak(quiet, "workspace", ws, 1, 70 * GB)
    peak(quiet, "tenant", tid, 1, 100 * GB)
    settle_storage(quiet.state.sessions, now=at(2, 1))
    assert [(line[1], line[2]) for line in storage_lines(quiet)] == [("30", "0.045")]


def test_after_the_plan_ends_the_free_plans_quota_applies(quiet: Hangar) -> None:
    """Advanced (100 G) bought on day 0 ends on day 30: day 30 gets the free plan's 30 G."""
    tid, _uid, _ws = ids(quiet)
    subscribe(quiet, "advanced", at(0))
    peak(quiet, "tenant", tid, 29, 150 * GB)
    peak(quiet, "tenant", tid, 30, 150 * GB)
    settle_storage(quiet.state.sessions, now=at(31, 1))
    assert [(line[1], line[2]) for line in storage_lines(quiet)] == [
        ("50", "0.075"),
        ("120", "0.18"),
    ]


def test_postpaid_storage_is_billed_only_with_a_storage_price(quiet: Hangar) -> None:
    tid, _uid, _ws = ids(quiet)
    peak(quiet, "tenant", tid, 0, int(Decimal("12.5") * GB))
    peak(quiet, "tenant", tid, 1, int(Decimal("12.5") * GB))
    assert settle_storage(quiet.state.sessions, now=at(1, 1)) == 0  # no price: free
    with transaction(quiet.state.sessions) as session:
        version = do_add_price(
            session, tenant_id=None, meter="storage", rate_per_hour="0.02", unit=Unit.CNY,
            effective_from=at(1), now=at(1), created_by=None,
        ).id  # fmt: skip
    settler = StorageSettler(quiet.state.sessions, postpaid_free_gb=Decimal(10))
    assert settler.step(now=at(2, 1)) == 1
    assert [(line[1], line[2], line[3]) for line in storage_lines(quiet)] == [("3", "0.06", "CNY")]
    with quiet.state.sessions() as session:
        row = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "storage")).one()
        assert row.price_version_id == version
    assert consumed(quiet) == []  # no wallet


def test_settling_again_after_losing_the_mark_charges_nothing_twice(quiet_any: Hangar) -> None:
    h = quiet_any
    tid, _uid, _ws = ids(h)
    subscribe(h, "trial", at(0))
    for day in range(5):
        peak(h, "tenant", tid, day, (31 + day) * GB)
    assert settle_storage(h.state.sessions, now=at(5, 1)) == 5
    first = storage_lines(h)
    # A crash between committing a day and moving the mark: the days are settled again.
    with transaction(h.state.sessions) as session:
        session.execute(delete(SettlementMark))
    assert settle_storage(h.state.sessions, now=at(5, 1)) == 0
    assert storage_lines(h) == first
    assert [amount for _key, amount in consumed(h)] == [
        "0.0015", "0.003", "0.0045", "0.006", "0.0075"
    ]  # fmt: skip


CRASH_DAYS, CRASH_TENANTS = 60, 12

SETTLE_SCRIPT = """
import sys
from datetime import datetime
from hangar.billing.storage_settlement import settle_storage
from hangar.db.engine import make_engine, make_session_factory

engine = make_engine(sys.argv[1])
settle_storage(make_session_factory(engine), now=datetime.fromisoformat(sys.argv[2]))
"""


def seed_crash(h: Hangar) -> None:
    """The admin's tenant prepaid (Advanced, then the free plan), 11 postpaid tenants."""
    tid = ids(h)[0]
    subscribe(h, "advanced", at(0))
    with transaction(h.state.sessions) as session:
        do_add_price(
            session, tenant_id=None, meter="storage", rate_per_hour="0.02", unit=Unit.CNY,
            effective_from=at(0), now=at(0), created_by=None,
        )  # fmt: skip
        for day in range(CRASH_DAYS):
            for n in range(CRASH_TENANTS):
                owner = tid if n == 0 else f"postpaid-{n}"
                size = (31 + (day * 7 + n) % 90) * GB + n
                session.add(
                    StoragePeak(
                        owner_kind="tenant", owner_id=owner, day=at(day).date().isoformat(),
                        tenant_id=owner, peak_bytes=size, last_bytes=size,
                        sampled_at=at(day, 12),
                    )
                )  # fmt: skip


def ledger(h: Hangar) -> list[tuple[str, str, str]]:
    """Every line, the prepaid tenant's id replaced (it differs between databases)."""
    tid = ids(h)[0]
    with h.state.sessions() as session:
        return sorted(
            (r.key.replace(tid, "prepaid"), r.amount, r.unit)
            for r in session.scalars(select(LedgerEntry))
        )


def test_a_settler_killed_midway_charges_every_day_once(tmp_path: Path) -> None:
    now = at(CRASH_DAYS, 1)
    with quiet_hangar(tmp_path / "clean", f"sqlite:///{tmp_path / 'clean.db'}") as clean:
        seed_crash(clean)
        settle_storage(clean.state.sessions, now=now)
        expected = ledger(clean)
        expected_consumed = [(k.replace(ids(clean)[0], "prepaid"), a) for k, a in consumed(clean)]
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    with quiet_hangar(tmp_path / "home", url) as h:
        seed_crash(h)
        proc = subprocess.Popen([sys.executable, "-c", SETTLE_SCRIPT, url, now.isoformat()])
        try:
            # A plain WAL reader: it never waits for the settler's write lock.
            with contextlib.closing(sqlite3.connect(tmp_path / "crash.db")) as reader:
                while proc.poll() is None:
                    (seen,) = reader.execute(
                        "SELECT count(*) FROM ledger_entries WHERE kind = 'storage'"
                    ).fetchone()
                    if seen:
                        proc.send_signal(signal.SIGKILL)
                        break
                    time.sleep(0.001)
        finally:
            code = proc.wait(timeout=60)
        assert code == -signal.SIGKILL, "the settler finished before it could be killed"
        interrupted = len(ledger(h))
        assert 0 < interrupted < len(expected)
        settle_storage(h.state.sessions, now=now)
        settle_storage(h.state.sessions, now=now)
        assert ledger(h) == expected
        tid = ids(h)[0]
        assert [(k.replace(tid, "prepaid"), a) for k, a in consumed(h)] == expected_consumed
