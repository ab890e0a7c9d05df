"""Hourly compute settlement on a real database: exact lines, idempotency, price splits,
prepaid wallets, and usage of deleted workloads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Unit
from hangar.billing.orm import LedgerEntry, SettlementMark, WalletEventRow
from hangar.billing.service import (
    do_add_price,
    do_append_event,
    wallet_balances,
)
from hangar.billing.settlement import Settler, settle
from hangar.billing.subscriptions import Subscribe
from hangar.db.engine import transaction
from hangar.tenancy.orm import User
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload
from hangar.workloads.service import do_close_usage, do_open_usage
from tests.jobs.support import JOBS, build_team, drive, quiet_hangar
from tests.support import Hangar

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GIB = 1024**3


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


@pytest.fixture
def quiet_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    """``quiet`` once on SQLite and once on PostgreSQL."""
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return T0 + timedelta(hours=hour, minutes=minute, seconds=second)


def tenant_id(h: Hangar) -> str:
    """The first tenant's (the platform admin's)."""
    with h.state.sessions() as session:
        tid = session.scalar(select(User.tenant_id).where(User.username == "admin"))
        assert tid is not None
        return tid


def price(h: Hangar, meter: str, rate: str, effective_from: datetime, unit: Unit = Unit.DCU) -> str:
    with transaction(h.state.sessions) as session:
        row = do_add_price(
            session, tenant_id=None, meter=meter, rate_per_hour=rate, unit=unit,
            effective_from=effective_from, now=effective_from, created_by=None,
        )  # fmt: skip
        return row.id


def usage(
    h: Hangar, key: str, start: datetime, end: datetime | None, **resources: int | str
) -> str:
    with transaction(h.state.sessions) as session:
        row = UsageInterval(
            key=key, run_id="r-" + key, workload_id="w-" + key, tenant_id=tenant_id(h),
            workspace_id="ws", user_id="u", node_name="gpu-a1", started_at=start, ended_at=end,
            **resources,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def lines(h: Hangar) -> list[tuple[str, str, str, str, int, datetime, datetime]]:
    """(interval, meter, amount, price version, seconds, start, end) of every ledger line."""
    with h.state.sessions() as session:
        rows = session.scalars(
            select(LedgerEntry).order_by(LedgerEntry.period_start, LedgerEntry.key)
        ).all()
        return [
            (r.usage_interval_id or "", r.meter, r.amount, r.price_version_id or "", r.seconds,
             r.period_start, r.period_end)
            for r in rows
        ]  # fmt: skip


def test_hours_are_rated_per_second_and_only_completed_hours_are_settled(quiet: Hangar) -> None:
    v1 = price(quiet, "dc100-40g", "1.28", at(0))
    closed = usage(quiet, "a", at(10, 20), at(12, 10, 30), gpus=2, gpu_model="dc100-40g")
    still_open = usage(quiet, "b", at(12, 30), None, gpus=1, gpu_model="dc100-40g")
    assert settle(quiet.state.sessions, now=at(13, 5)) == 4
    assert lines(quiet) == [
        # 2 cards × 1.28 × 2400 s / 3600 = 1.70666… → 1.706667 (half up, 0.000001)
        (closed, "dc100-40g", "1.706667", v1, 2400, at(10, 20), at(11)),
        (closed, "dc100-40g", "2.56", v1, 3600, at(11), at(12)),
        (closed, "dc100-40g", "0.448", v1, 630, at(12), at(12, 10, 30)),
        (still_open, "dc100-40g", "0.64", v1, 1800, at(12, 30), at(13)),
    ]
    # The current hour (13:00-14:00) is not complete: nothing of it is billed yet.
    assert settle(quiet.state.sessions, now=at(13, 59, 59)) == 0
    assert settle(quiet.state.sessions, now=at(14, 0, 1)) == 1
    assert lines(quiet)[-1] == (still_open, "dc100-40g", "1.28", v1, 3600, at(13), at(14))


def test_settling_again_adds_nothing_even_without_the_mark(quiet_any: Hangar) -> None:
    price(quiet_any, "dc100-80g", "2.56", at(0))
    usage(quiet_any, "a", at(1, 0, 7), at(3, 59, 1), gpus=3, gpu_model="dc100-80g")
    assert settle(quiet_any.state.sessions, now=at(5)) == 3
    first = lines(quiet_any)
    assert settle(quiet_any.state.sessions, now=at(5)) == 0
    # A crash between committing an hour and moving the mark: the hour is settled again.
    with transaction(quiet_any.state.sessions) as session:
        session.execute(delete(SettlementMark))
    assert settle(quiet_any.state.sessions, now=at(6)) == 0
    assert lines(quiet_any) == first
    total = sum(Decimal(line[2]) for line in first)
    # 3 cards × 2.56/h × (2 h 58 min 54 s = 10734 s) / 3600, split at the hours
    assert total == Decimal("22.89920") == Decimal("2.56") * 3 * 10734 / 3600


def test_a_price_change_splits_the_hour_at_its_effective_time(quiet_any: Hangar) -> None:
    old = price(quiet_any, "dc100-40g", "1.28", at(0))
    new = price(quiet_any, "dc100-40g", "2.00", at(11, 30))
    interval = usage(quiet_any, "a", at(11), at(12), gpus=2, gpu_model="dc100-40g")
    settle(quiet_any.state.sessions, now=at(12))
    assert lines(quiet_any) == [
        (interval, "dc100-40g", "1.28", old, 1800, at(11), at(11, 30)),
        (interval, "dc100-40g", "2", new, 1800, at(11, 30), at(12)),
    ]


def test_vgpu_share_cpu_and_memory_meters(quiet: Hangar) -> None:
    price(quiet, "dc100-80g", "2.56", at(0))
    price(quiet, "cpu", "0.05", at(0))
    price(quiet, "memory", "0.002", at(0))
    interval = usage(
        quiet, "a", at(2), at(2, 45), gpu_milli=250, gpu_model="dc100-80g",
        cpu_millicores=1500, mem_bytes=6 * GIB,
    )  # fmt: skip
    unpriced = usage(quiet, "b", at(2), at(3), gpus=1, gpu_model="a10")
    settle(quiet.state.sessions, now=at(3))
    got = {(line[0], line[1]): line[2] for line in lines(quiet)}
    assert got == {
        (interval, "dc100-80g"): "0.48",  # 0.25 card × 2.56 × 0.75 h
        (interval, "cpu"): "0.05625",  # 1.5 cores × 0.05 × 0.75 h
        (interval, "memory"): "0.009",  # 6 GiB × 0.002 × 0.75 h
    }
    assert unpriced not in {line[0] for line in lines(quiet)}  # a meter with no price: free


def test_prepaid_wallet_is_deducted_once_per_hour(quiet_any: Hangar) -> None:
    price(quiet_any, "dc100-40g", "1.28", at(0))
    tid = tenant_id(quiet_any)
    with transaction(quiet_any.state.sessions) as session:
        do_append_event(
            session, tenant_id=tid, event=Subscribe(at(0), "basic"), key="buy-basic",
            catalog=DEFAULT_CATALOG, created_by=None,
        )  # fmt: skip
    usage(quiet_any, "a", at(1), at(3, 30), gpus=1, gpu_model="dc100-40g")
    settle(quiet_any.state.sessions, now=at(4))
    settle(quiet_any.state.sessions, now=at(5))
    with transaction(quiet_any.state.sessions) as session:
        session.execute(delete(SettlementMark))
    settle(quiet_any.state.sessions, now=at(5))
    with quiet_any.state.sessions() as session:
        consumed = session.scalars(
            select(WalletEventRow.payload).where(WalletEventRow.kind == "consume")
        ).all()
        assert [c["amount"] for c in consumed] == ["1.28", "1.28", "0.64"]
        (dcu, _cu) = wallet_balances(session, tenant_id=tid, at=at(6), catalog=DEFAULT_CATALOG)
    assert dcu.active.value == Decimal("56.6") - Decimal("3.2")
    assert dcu.arrears.value == 0


def test_usage_of_a_deleted_job_is_still_billed(quiet: Hangar) -> None:
    price(quiet, "cpu", "0.1", at(0))
    price(quiet, "memory", "0.01", at(0))
    team = build_team(quiet, {"dev": "developer"})
    job = team.submit(name="gone")
    drive(quiet, job["id"], "queue", "admit", "launched")
    with transaction(quiet.state.sessions) as session:
        workload = session.get(Workload, job["id"])
        assert workload is not None
        run = session.scalars(select(Run).where(Run.workload_id == job["id"])).one()
        nodes = session.scalars(select(RunNode).where(RunNode.run_id == run.id)).all()
        do_open_usage(session, workload, run, nodes, segment=0, now=at(8))
        do_close_usage(session, run, now=at(9, 30))
    drive(quiet, job["id"], "fail")
    team.s.admin.call("DELETE", f"{JOBS}/{job['id']}", 204)
    settle(quiet.state.sessions, now=at(10))
    with quiet.state.sessions() as session:
        rows = session.scalars(select(LedgerEntry).order_by(LedgerEntry.key)).all()
        assert {r.workload_id for r in rows} == {job["id"]}
        by_meter: dict[str, Decimal] = {}
        for r in rows:
            by_meter[r.meter] = by_meter.get(r.meter, Decimal(0)) + Decimal(r.amount)
    # 2 cores × 0.1 × 1.5 h = 0.3; 4 GiB × 0.01 × 1.5 h = 0.06
    assert by_meter == {"cpu": Decimal("0.3"), "memory": Decimal("0.06")}


def test_a_gap_in_prices_stops_settlement_until_fixed(quiet: Hangar) -> None:
    price(quiet, "dc100-40g", "1.28", at(5))
    usage(quiet, "a", at(4), at(6), gpus=1, gpu_model="dc100-40g")
    settler = Settler(quiet.state.sessions)
    assert settler.step(now=at(7)) == 0  # 04:00-05:00 has no price: nothing is skipped
    with quiet.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
        assert session.get(SettlementMark, "compute") is None


def test_usage_recorded_late_or_closed_retroactively_is_corrected(quiet: Hangar) -> None:
    v1 = price(quiet, "dc100-40g", "1.28", at(0))
    running = usage(quiet, "a", at(9, 30), None, gpus=1, gpu_model="dc100-40g")
    settle(quiet.state.sessions, now=at(12, 1))  # billed as open through 12:00
    # After a restart the reconciler closes it at the end its backend observed (10:15), and
    # records a run that started (and ended) while hour 11 was being settled.
    with transaction(quiet.state.sessions) as session:
        row = session.get(UsageInterval, running)
        assert row is not None
        row.ended_at = at(10, 15)
    late = usage(quiet, "b", at(11, 59, 30), at(12, 0, 30), gpus=2, gpu_model="dc100-40g")
    assert settle(quiet.state.sessions, now=at(13, 1)) == 2
    assert settle(quiet.state.sessions, now=at(13, 2)) == 0
    with quiet.state.sessions() as session:
        rows = session.scalars(select(LedgerEntry).order_by(LedgerEntry.period_start)).all()
        got = sorted((r.kind, r.usage_interval_id, r.amount, r.period_start) for r in rows)
    assert got == sorted([
        ("compute", running, "0.64", at(9, 30)),
        ("compute", running, "1.28", at(10)),
        ("adjustment", running, "-0.96", at(10)),  # billed 3600 s, used 900 s
        ("compute", running, "1.28", at(11)),
        ("adjustment", running, "-1.28", at(11)),  # not used at all
        ("compute", late, "0.021333", at(11, 59, 30)),  # 2 × 1.28 × 30 s
        ("compute", late, "0.021333", at(12)),
    ])  # fmt: skip
    assert {r.price_version_id for r in rows} == {v1}
    total = sum(Decimal(r.amount) for r in rows if r.usage_interval_id == running)
    assert total == Decimal("1.28") * Decimal(45 * 60) / 3600
