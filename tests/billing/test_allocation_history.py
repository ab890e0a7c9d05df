"""Allocation history (spec 09 §3.3, spec 01 §2) through the real quota, queue and association
APIs: every change point appends a row only when a level moves, drops to 0 included, and the
recorded history gives the worked example's 72 GPU-hours in the usage report and the
allocation export."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hangar.billing.allocation_history import record_allocations
from hangar.billing.orm import AllocationChange
from hangar.db.engine import transaction
from hangar.resources.orm import Quota, QuotaWorkspace
from tests.jobs.support import quiet_hangar
from tests.resources.conftest import Setup, build_setup
from tests.support import fresh_pg_database

Q = "/api/v1/quotas"
QU = "/api/v1/queues"
USAGE = "/api/v1/usage"
TODAY = datetime.now(UTC).date()
MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[Setup]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield build_setup(h)


@pytest.fixture
def setup_any(tmp_path: Path, any_db_url: str) -> Iterator[Setup]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield build_setup(h)


@pytest.fixture
def setup_pg(tmp_path: Path, pg_server: str, worker_id: str) -> Iterator[Setup]:
    url = fresh_pg_database(pg_server, f"hangar_alloc_{worker_id}_{os.getpid()}")
    with quiet_hangar(tmp_path / "home", url) as h:
        yield build_setup(h)


def history(s: Setup, workspace_id: str) -> list[tuple[str, str, str]]:
    """(card model, cards, reason) of the workspace's rows, oldest first."""
    with s.h.state.sessions() as session:
        rows = session.scalars(
            select(AllocationChange)
            .where(AllocationChange.workspace_id == workspace_id)
            .order_by(AllocationChange.at)
        )
        return [(r.gpu_model, r.cards, r.reason) for r in rows]


def backdate(s: Setup, workspace_id: str, *days_ago: int) -> None:
    """Move the workspace's rows, oldest first, to midnight ``days_ago`` days back."""
    with transaction(s.h.state.sessions) as session:
        rows = session.scalars(
            select(AllocationChange)
            .where(AllocationChange.workspace_id == workspace_id)
            .order_by(AllocationChange.at)
        ).all()
        assert len(rows) == len(days_ago)
        for row, back in zip(rows, days_ago, strict=True):
            row.at = MIDNIGHT - timedelta(days=back)


def test_the_72_gpu_hour_example_through_the_quota_api(setup_any: Setup) -> None:
    s = setup_any
    ws = s.workspace
    q = s.quota("q", cards=1, workspace_ids=[ws["id"]])
    assert history(s, ws["id"]) == [("H800", "1", "quota.create")]
    s.admin.call("POST", f"{Q}/{q['id']}/stop")  # stopped quotas keep their cards
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 2})
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"weight": 9})  # no level change
    s.admin.call("POST", f"{Q}/{q['id']}/start")
    assert history(s, ws["id"]) == [("H800", "1", "quota.create"), ("H800", "2", "quota.resize")]

    # 1 card from day 1, 2 cards from day 2 (days 4 and 3 ago): 1×24 + 2×24 = 72 over both.
    backdate(s, ws["id"], 4, 3)
    days = {"start": str(TODAY - timedelta(days=4)), "end": str(TODAY - timedelta(days=3))}
    report = s.admin.call("GET", f"{USAGE}/workspaces", params=days)
    row = next(r for r in report["rows"] if r["workspace_id"] == ws["id"])
    assert (row["gpu_model"], row["allocated_gpu_hours"], row["gpu_hours"]) == (
        "H800", "72.00", "0.00",
    )  # fmt: skip
    assert report["allocated_gpu_hours_total"] == "72.00"
    export = s.admin.call("GET", f"{USAGE}/allocations", params=days)
    mine = [r for r in export["rows"] if r["cluster_id"] == s.cluster["id"]]
    assert [(r["cluster_name"], r["gpu_model"], r["allocated_gpu_hours"]) for r in mine] == [
        ("ded-a", "H800", "72.00")
    ]

    # Dissociating drops the workspace to 0 cards: from then on nothing more accrues.
    s.admin.call("DELETE", f"{Q}/{q['id']}/workspaces/{ws['id']}", 204)
    assert history(s, ws["id"])[-1] == ("H800", "0", "quota.dissociate")
    backdate(s, ws["id"], 4, 3, 2)
    days["end"] = str(TODAY - timedelta(days=1))
    report = s.admin.call("GET", f"{USAGE}/workspaces", params=days)
    row = next(r for r in report["rows"] if r["workspace_id"] == ws["id"])
    assert row["allocated_gpu_hours"] == "72.00"


def test_delete_and_queues_move_the_levels(setup: Setup) -> None:
    s = setup
    ws2 = s.h.create_workspace("TeamB")
    q = s.quota("q", cards=2, instance_count=2, workspace_ids=[s.workspace["id"], ws2["id"]])
    assert history(s, ws2["id"]) == [("H800", "4", "quota.create")]
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.admin.call("DELETE", f"{Q}/{q['id']}", 204)
    for ws_id in (s.workspace["id"], ws2["id"]):
        assert history(s, ws_id)[-1] == ("H800", "0", "quota.delete")

    # Queues allocate to the tenant's default workspace; the built-in queue allocates nothing.
    default = s.h.default_workspace()
    assert history(s, default["id"]) == []
    queue = s.queue("train", cards=4)
    s.admin.call("POST", f"{QU}/{queue['id']}/resize", json={"instance_count": 2})
    s.admin.call("POST", f"{QU}/{queue['id']}/stop")
    s.admin.call("DELETE", f"{QU}/{queue['id']}", 204)
    assert history(s, default["id"]) == [
        ("H800", "4", "queue.create"), ("H800", "8", "queue.resize"), ("H800", "0", "queue.delete"),
    ]  # fmt: skip


def test_recording_again_adds_nothing_and_a_late_row_stays_after_the_last(setup: Setup) -> None:
    s = setup
    q = s.quota("q", cards=1, workspace_ids=[s.workspace["id"]])
    with transaction(s.h.state.sessions) as session:
        assert record_allocations(session, tenant_id=q["tenant_id"], reason="again") == []
    # The creation row now lies after the clock reading of the next change.
    later = datetime.now(UTC) + timedelta(hours=1)
    with transaction(s.h.state.sessions) as session:
        row = session.scalars(
            select(AllocationChange).where(AllocationChange.workspace_id == s.workspace["id"])
        ).one()
        row.at = later
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 3})
    with s.h.state.sessions() as session:
        ats = list(
            session.scalars(
                select(AllocationChange.at)
                .where(AllocationChange.workspace_id == s.workspace["id"])
                .order_by(AllocationChange.at)
            )
        )
    assert len(ats) == 2 and ats[1] > ats[0] == later


def test_concurrent_changes_record_in_turn_on_postgresql(setup_pg: Setup) -> None:
    """A resizes q1 (1 → 2 cards) while B associates q2 (1 card) with the same workspace.
    Unserialised, B would record 1 + 1 = 2 from its snapshot; B waits for A's lock instead
    and records 2 + 1 = 3."""
    s = setup_pg
    ws = s.workspace["id"]
    q1 = s.quota("q1", cards=1, workspace_ids=[ws])
    q2 = s.quota("q2", cards=1, weight=2)
    tenant_id = q1["tenant_id"]
    a = s.h.state.sessions()
    a.begin()
    quota = a.get(Quota, q1["id"])
    assert quota is not None
    quota.instance_count = 2
    record_allocations(a, tenant_id=tenant_id, reason="a")  # holds the tenant lock
    failures: list[BaseException] = []

    def b() -> None:
        try:
            with transaction(s.h.state.sessions) as session:
                session.add(QuotaWorkspace(quota_id=q2["id"], workspace_id=ws))
                record_allocations(session, tenant_id=tenant_id, reason="b")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    other = threading.Thread(target=b)
    other.start()
    time.sleep(0.5)
    assert other.is_alive()  # waiting for A's lock
    a.commit()
    a.close()
    other.join(timeout=10)
    assert not failures
    assert [(c, r) for _, c, r in history(s, ws)] == [("1", "quota.create"), ("2", "a"), ("3", "b")]
