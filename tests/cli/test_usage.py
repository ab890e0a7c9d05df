"""``hangar usage``: used and allocated GPU-hours per workspace, per user (with the amount
spent) and per cluster × card model, and the CSV / XLSX exports, against a live server whose
SQLite file the test can reach to record usage and allocation changes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.orm import AllocationChange
from hangar.client import HangarClient
from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.cli.conftest import Cli
from tests.support import live_server
from tests.support import test_settings as settings_for


@pytest.fixture(scope="module")
def usage_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('cli-usage-db')}/h.db"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, usage_db_url: str) -> Iterator[str]:
    home = tmp_path_factory.mktemp("cli-usage") / "home"
    with live_server(settings_for(home, usage_db_url, billing_settle_seconds=3600)) as url:
        yield url


@pytest.fixture
def sessions(usage_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = sa.create_engine(usage_db_url)
    try:
        yield sessionmaker(engine)
    finally:
        engine.dispose()


def test_usage_per_workspace_and_user_with_exports(
    cli: Cli, admin_client: HangarClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    me = admin_client.whoami()
    ws = admin_client.workspaces.create(name="usage_cli", tags={"cost": "vision"})
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday -= timedelta(days=1)
    with transaction(sessions) as session:
        session.add(
            UsageInterval(
                key="cli-usage-1", run_id="r1", workload_id="w1", tenant_id=me.tenant_id,
                workspace_id=ws.id, user_id=me.id, node_name="gpu-a1", gpus=0, gpu_milli=500,
                gpu_model="A100", started_at=yesterday, ended_at=yesterday + timedelta(hours=3),
            )
        )  # fmt: skip

    report = cli.json("usage", "workspaces")
    row = next(r for r in report["rows"] if r["workspace_id"] == ws.id)
    assert (row["gpu_model"], row["gpu_hours"], row["tags"]) == ("A100", "1.50", {"cost": "vision"})
    shown = cli.ok("usage", "workspaces", "--start", str(yesterday.date())).stdout
    assert "usage_cli" in shown and "1.50" in shown and "cost=vision" in shown

    users = cli.json("usage", "users")
    assert {
        "user_id": me.id, "username": "admin", "gpu_hours": "1.50", "amount_spent": {}
    } in users["rows"]  # fmt: skip
    assert "SPENT" in cli.ok("usage", "users").stdout

    out = tmp_path / "usage.csv"
    assert "Wrote" in cli.ok("usage", "workspaces", "--csv", str(out)).stderr
    rows = list(csv.DictReader(out.open(newline="")))
    assert {(r["workspace_name"], r["gpu_hours"]) for r in rows} >= {("usage_cli", "1.50")}
    book = tmp_path / "usage.xlsx"
    cli.ok("usage", "workspaces", "--xlsx", str(book))
    sheet = openpyxl.load_workbook(book).active
    assert sheet is not None
    assert any(v[1] == "usage_cli" for v in sheet.iter_rows(values_only=True))


def test_bad_days_are_refused(cli: Cli) -> None:
    assert "YYYY-MM-DD" in cli.fails(2, "usage", "workspaces", "--start", "yesterday").stderr
    future = str((datetime.now(UTC) + timedelta(days=2)).date())
    err = cli.fails(1, "usage", "users", "--end", future)
    assert "future" in err.stderr


def test_allocations_per_cluster_and_card_model(
    cli: Cli, admin_client: HangarClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    me = admin_client.whoami()
    ws = admin_client.workspaces.create(name="alloc_cli")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day1, day2 = today - timedelta(days=3), today - timedelta(days=2)
    with transaction(sessions) as session:
        for at, cards in ((day1, "1"), (day2, "2"), (today - timedelta(days=1), "0")):
            session.add(
                AllocationChange(
                    tenant_id=me.tenant_id, workspace_id=ws.id, cluster_id="cli-cluster",
                    gpu_model="H800", cards=cards, at=at, reason="test",
                )
            )  # fmt: skip
    days = ("--start", str(day1.date()), "--end", str(day2.date()))

    report = cli.json("usage", "allocations", *days, "--tenant", me.tenant_id)
    assert [
        (r["cluster_id"], r["gpu_model"], r["allocated_gpu_hours"]) for r in report["rows"]
    ] == [("cli-cluster", "H800", "72.00")]
    shown = cli.ok("usage", "allocations", *days).stdout
    assert "(deleted) cli-cluster" in shown and "72.00" in shown
    row = next(
        r for r in cli.json("usage", "workspaces", *days)["rows"] if r["workspace_id"] == ws.id
    )
    assert (row["gpu_model"], row["allocated_gpu_hours"]) == ("H800", "72.00")
    assert "ALLOCATED" in cli.ok("usage", "workspaces", *days).stdout

    out = tmp_path / "allocations.csv"
    assert "Wrote" in cli.ok("usage", "allocations", *days, "--csv", str(out)).stderr
    rows = list(csv.DictReader(out.open(newline="")))
    assert [(r["gpu_model"], r["allocated_gpu_hours"]) for r in rows] == [("H800", "72.00")]
    book = tmp_path / "allocations.xlsx"
    cli.ok("usage", "allocations", *days, "--xlsx", str(book))
    sheet = openpyxl.load_workbook(book).active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True))[1][4] == "H800"
    err = cli.fails(1, "usage", "allocations", "--start", str((today - timedelta(days=200)).date()))
    assert "180 days" in err.stderr
