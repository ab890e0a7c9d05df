"""``hangar usage``: used GPU-hours per workspace and per user, and the CSV / XLSX exports,
against a live server whose SQLite file the test can reach to record usage."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

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
    assert {"user_id": me.id, "username": "admin", "gpu_hours": "1.50"} in users["rows"]

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
