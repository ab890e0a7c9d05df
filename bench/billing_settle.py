"""Billing throughput: hourly settlement and a monthly statement, on a real SQLite database.

Builds a fresh database with the real migrations, one tenant, a price book (a 40G card at
1.28 DCU/h, an 80G card at 2.56 DCU/h, CPU and memory priced, one price change in the middle
of the range) and ``--intervals`` usage intervals spread over ``--hours`` hours. Then:

1. settle: :func:`hangar.billing.settlement.settle` over every hour, timed; reports the
   usage-hours settled (interval × hour overlaps, each one ledger line per meter) per second;
2. settle again: the idempotent re-run (every line already present), timed;
3. baseline: the same number of ready-made ledger rows written to a fresh database with the
   same bulk insert, in transactions of the same size (the database's own floor: what
   settlement costs beyond writing its lines);
4. statement: ``GET /api/v1/billing/statements`` for one month with ``--lines`` ledger lines,
   through the real app (service query, exact totals, JSON), timed; baseline: the bare
   ``SELECT`` of those rows with the sqlite3 module.

    .venv/bin/python bench/billing_settle.py [--intervals 1000 --hours 1000] [--lines 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from hangar.billing.money import Unit
from hangar.billing.orm import LedgerEntry
from hangar.billing.service import do_add_price
from hangar.billing.settlement import settle
from hangar.db.base import new_id, ordered_id
from hangar.db.bulk import insert_many
from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.db.migrate import upgrade
from hangar.tenancy.orm import Tenant
from hangar.workloads.orm import UsageInterval

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GIB = 1024**3
PASSWORD = "bench-admin-password"  # a throwaway database


def build(url: str, *, intervals: int, hours: int) -> tuple[object, str]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        tenant = Tenant(name="bench")
        session.add(tenant)
        session.flush()
        tid = tenant.id
        for meter, rate, unit in (
            ("dc100-40g", "1.28", Unit.DCU),
            ("dc100-80g", "2.56", Unit.DCU),
            ("cpu", "0.02", Unit.DCU),
            ("memory", "0.001", Unit.DCU),
        ):
            do_add_price(
                session, tenant_id=None, meter=meter, rate_per_hour=rate, unit=unit,
                effective_from=T0, now=T0, created_by=None,
            )  # fmt: skip
        change = T0 + timedelta(hours=hours // 2, minutes=30)
        do_add_price(
            session, tenant_id=None, meter="dc100-80g", rate_per_hour="2.40", unit=Unit.DCU,
            effective_from=change, now=T0, created_by=None,
        )  # fmt: skip
    rows = []
    for i in range(intervals):
        # Staggered starts (so hours hold partial seconds), every interval ~hours long.
        start = T0 + timedelta(seconds=(i * 37) % 3600)
        end = T0 + timedelta(hours=hours) - timedelta(seconds=(i * 53) % 3600)
        rows.append(
            {
                "id": new_id(), "key": f"bench-{i}", "run_id": f"r{i}", "workload_id": f"w{i}",
                "tenant_id": tid, "workspace_id": f"ws{i % 10}", "user_id": f"u{i % 50}",
                "node_name": f"node-{i % 100}", "gpus": 1 + i % 8,
                "gpu_model": "dc100-80g" if i % 2 else "dc100-40g", "started_at": start,
                "ended_at": end,
            }
        )  # fmt: skip
    with transaction(sessions) as session:
        session.execute(insert(UsageInterval), rows)
    return sessions, tid


def bench_settle(intervals: int, hours: int, workdir: Path) -> None:
    sessions, _ = build(f"sqlite:///{workdir / 'settle.db'}", intervals=intervals, hours=hours)
    now = T0 + timedelta(hours=hours + 1)
    started = time.perf_counter()
    added = settle(sessions, now=now)  # type: ignore[arg-type]
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = settle(sessions, now=now, lookback=timedelta(hours=hours + 1))  # type: ignore[arg-type]
    second = time.perf_counter() - started
    with sessions() as session:  # type: ignore[operator]
        count = session.scalar(select(func.count()).select_from(LedgerEntry))
    usage_hours = intervals * hours
    print(f"settle: {intervals} intervals × {hours} h = {usage_hours:,} usage-hours")
    print(f"  first pass   {first:7.2f} s  {usage_hours / first:12,.0f} usage-hours/s  "
          f"({added:,} ledger lines, {count:,} in the table)")  # fmt: skip
    print(f"  re-run       {second:7.2f} s  (added {again} lines: idempotent)")
    floor = bench_bare_insert(count or 0, workdir)
    print(f"  baseline     {floor:7.2f} s  bare insert of {count:,} ready rows "
          f"(settlement = {first / floor:.1f}× the database's floor)")  # fmt: skip


def bench_bare_insert(count: int, workdir: Path) -> float:
    """Write ``count`` ready-made ledger rows, 20,000 per transaction (settlement's batch)."""
    engine = make_engine(f"sqlite:///{workdir / 'floor.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    table = LedgerEntry.__table__
    created = datetime.now(UTC)
    started = time.perf_counter()
    for batch in range(0, count, 20_000):
        rows = []
        for i in range(batch, min(count, batch + 20_000)):
            hour = T0 + timedelta(hours=i // 1000)
            rows.append(
                {
                    "id": ordered_id(), "key": f"compute:{hour:%Y-%m-%dT%H}:i{i % 1000}:m:v",
                    "tenant_id": "t", "workspace_id": "ws", "user_id": "u", "kind": "compute",
                    "meter": "dc100-40g", "quantity": "1", "seconds": 3600,
                    "amount": "1.28", "unit": "DCU", "usage_interval_id": f"i{i % 1000}",
                    "workload_id": "w", "price_version_id": "v", "period_start": hour,
                    "period_end": hour + timedelta(hours=1), "note": "", "created_at": created,
                }
            )  # fmt: skip
        with transaction(sessions) as session:
            insert_many(session, table, rows)  # type: ignore[arg-type]
    return time.perf_counter() - started


def bench_statement(lines: int, workdir: Path) -> None:
    from fastapi.testclient import TestClient

    from hangar.app import create_app
    from hangar.config import Settings

    home = workdir / "home"
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{workdir / 'statement.db'}",
        admin_password=PASSWORD,
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        state = app.state.hangar
        with state.sessions() as session:
            tid = session.scalar(select(Tenant.id).order_by(Tenant.created_at))
        rows = []
        for i in range(lines):
            start = T0 + timedelta(seconds=(i * 26) % (30 * 86400))
            rows.append(
                {
                    "id": new_id(), "key": f"compute:i{i}:dc100-40g:x:v", "tenant_id": tid,
                    "workspace_id": "ws", "user_id": "u", "kind": "compute",
                    "meter": "dc100-40g", "quantity": "1", "seconds": 3600,
                    "amount": "1.280000", "unit": "DCU", "usage_interval_id": f"i{i}",
                    "workload_id": f"w{i}", "price_version_id": "v", "period_start": start,
                    "period_end": start + timedelta(hours=1), "note": "",
                    "created_at": start,
                }
            )  # fmt: skip
        with transaction(state.sessions) as session:
            session.execute(insert(LedgerEntry), rows)
        login = {"username": settings.admin_username, "password": PASSWORD}
        token = client.post("/api/v1/auth/token", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        params = {"start": T0.isoformat(), "end": (T0 + timedelta(days=31)).isoformat()}
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get("/api/v1/billing/statements", params=params, headers=headers)
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
        body = response.json()
        database = str(app.state.hangar.engine.url.database)
        started = time.perf_counter()
        with sqlite3.connect(database) as raw:
            raw.execute(
                "SELECT * FROM ledger_entries WHERE tenant_id = ? AND period_start >= ? "
                "ORDER BY period_start, key",
                (tid, "2000-01-01"),
            ).fetchall()
        bare = time.perf_counter() - started
        print(f"statement: one month, {len(body['lines']):,} line items")
        runs = ", ".join(f"{t:.2f}" for t in timings)
        print(f"  GET /api/v1/billing/statements  best {min(timings):.2f} s  (runs {runs}), "
              f"total {body['totals']}")  # fmt: skip
        print(f"  baseline: bare SELECT of the rows  {bare:.2f} s "
              f"(the API = {min(timings) / bare:.1f}× it)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hangar-bench-billing-") as tmp:
        bench_settle(args.intervals, args.hours, Path(tmp))
        if args.lines:
            bench_statement(args.lines, Path(tmp))


if __name__ == "__main__":
    main()
