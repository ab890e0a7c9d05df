"""Usage statistics (``/api/v1/usage``) through the real app and database: JSON, CSV, XLSX,
allocated GPU-hours from recorded allocation changes, per user with the amount spent, the
allocation export per cluster × card model, range refusals and who may look."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from hangar.billing.orm import AllocationChange, LedgerEntry
from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.jobs.support import quiet_hangar
from tests.support import Api, Hangar, assert_error, create_tenant

USAGE = "/api/v1/usage"
TODAY = datetime.now(UTC).date()
MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
YESTERDAY = TODAY - timedelta(days=1)
ALL_PATHS = (
    "workspaces", "workspaces.csv", "workspaces.xlsx", "users",
    "allocations", "allocations.csv", "allocations.xlsx",
)  # fmt: skip


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


def record(
    h: Hangar, key: str, *, ws: dict[str, str], user_id: str | None, start: datetime,
    end: datetime | None, gpus: int = 0, gpu_milli: int = 0, model: str = "A100",
) -> None:  # fmt: skip
    """A usage interval as the reconciler leaves it (no workload row: deleted jobs count)."""
    with transaction(h.state.sessions) as session:
        session.add(
            UsageInterval(
                key=key, run_id="r-" + key, workload_id="w-" + key, tenant_id=ws["tenant_id"],
                workspace_id=ws["id"], user_id=user_id, node_name="gpu-a1", gpus=gpus,
                gpu_milli=gpu_milli, gpu_model=model, started_at=start, ended_at=end,
            )
        )  # fmt: skip


def arrange(h: Hangar) -> tuple[dict[str, str], dict[str, str], str]:
    """ws ``train`` (tagged): 2 A100 × 3 h yesterday + a vGPU slice (455‰) × 2 h;
    ws ``idle``: nothing. Returns both workspaces and the admin's user id."""
    me = h.admin.call("GET", "/api/v1/auth/me")
    train = h.admin.call(
        "POST", "/api/v1/workspaces", 201, json={"name": "train", "tags": {"cost": "ml"}}
    )
    idle = h.create_workspace("idle")
    train["tenant_id"] = idle["tenant_id"] = me["tenant_id"]  # reads do not carry it
    admin_id = me["id"]
    y = MIDNIGHT - timedelta(days=1)
    record(h, "a", ws=train, user_id=admin_id, start=y + timedelta(hours=1),
           end=y + timedelta(hours=4), gpus=2)  # fmt: skip
    record(h, "b", ws=train, user_id=None, start=y, end=y + timedelta(hours=2),
           gpu_milli=455, model="L40S")  # fmt: skip
    # Eight days ago: outside the default week.
    record(h, "c", ws=train, user_id=admin_id, start=y - timedelta(days=7),
           end=y - timedelta(days=7) + timedelta(hours=5), gpus=8)  # fmt: skip
    return train, idle, admin_id


def test_workspace_usage_json_csv_and_xlsx_agree(quiet: Hangar) -> None:
    train, idle, _ = arrange(quiet)
    report = quiet.admin.call("GET", f"{USAGE}/workspaces")
    assert (report["start"], report["end"]) == (
        str(TODAY - timedelta(days=6)), str(TODAY),
    )  # fmt: skip
    mine = {(r["workspace_name"], r["gpu_model"]): r for r in report["rows"]}
    assert mine[("train", "A100")]["gpu_hours"] == "6.00"
    assert mine[("train", "L40S")]["gpu_hours"] == "0.91"
    assert mine[("train", "A100")]["tags"] == {"cost": "ml"}
    assert mine[("idle", "")]["gpu_hours"] == "0.00"
    assert report["gpu_hours_total"] == "6.91"
    assert report["workspaces_in_use"] == 1
    assert report["workspaces_total"] == len({r["workspace_id"] for r in report["rows"]}) >= 3

    wider = quiet.admin.call(
        "GET", f"{USAGE}/workspaces", params={"start": str(TODAY - timedelta(days=10))}
    )
    assert wider["gpu_hours_total"] == "46.91"

    params = {"start": str(YESTERDAY), "end": str(YESTERDAY)}
    response = quiet.admin.get(f"{USAGE}/workspaces.csv", params=params)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    got = {(r["workspace_name"], r["gpu_model"]): r["gpu_hours"] for r in rows}
    assert got[("train", "A100")] == "6.00" and got[("train", "L40S")] == "0.91"
    assert got[("idle", "")] == "0.00"
    assert next(r for r in rows if r["workspace_id"] == train["id"])["tags"] == '{"cost": "ml"}'

    response = quiet.admin.get(f"{USAGE}/workspaces.xlsx", params=params)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == (
        "workspace_id", "workspace_name", "tags", "gpu_model", "gpu_hours", "allocated_gpu_hours",
    )  # fmt: skip
    by_key = {(v[1], v[3]): v[4] for v in values[1:]}
    assert float(by_key[("train", "A100")]) == 6.0  # type: ignore[arg-type]
    assert float(by_key[("train", "L40S")]) == 0.91  # type: ignore[arg-type]
    assert idle["id"] in {v[0] for v in values[1:]}


def test_user_usage_counts_deleted_users_without_a_name(quiet: Hangar) -> None:
    _, _, admin_id = arrange(quiet)
    report = quiet.admin.call("GET", f"{USAGE}/users")
    assert report["rows"] == [
        {"user_id": None, "username": None, "gpu_hours": "0.91", "amount_spent": {}},
        {"user_id": admin_id, "username": "admin", "gpu_hours": "6.00", "amount_spent": {}},
    ]
    assert report["gpu_hours_total"] == "6.91"


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"end": str(TODAY + timedelta(days=1))}, "end", "future"),
        ({"start": str(TODAY - timedelta(days=180))}, "start", "last 180 days"),
        ({"start": str(TODAY), "end": str(YESTERDAY)}, "start", "after end"),
    ],
)
def test_a_range_beyond_180_days_or_in_the_future_is_refused(
    quiet: Hangar, params: dict[str, str], field: str, rule: str
) -> None:
    for path in ALL_PATHS:
        err = assert_error(quiet.admin.get(f"{USAGE}/{path}", params=params), 422)
        assert field in err["fields"] and rule in err["message"]


def test_only_tenant_admins_see_their_own_tenant(quiet: Hangar) -> None:
    arrange(quiet)
    _, dev = quiet.user_api("dev")
    for path in ALL_PATHS:
        assert_error(dev.get(f"{USAGE}/{path}"), 403)
    other = create_tenant(quiet, "acme", "acme-owner")
    report = other.call("GET", f"{USAGE}/workspaces")
    assert report["gpu_hours_total"] == "0.00" and report["workspaces_in_use"] == 0
    assert {r["workspace_name"] for r in report["rows"]} <= {"default"}
    assert other.call("GET", f"{USAGE}/users")["rows"] == []


def allocate(h: Hangar, tenant_id: str, ws_id: str, cluster_id: str, model: str,
             *changes: tuple[datetime, int]) -> None:  # fmt: skip
    """Allocation changes as the quota services record them: ``(from, cards)``."""
    with transaction(h.state.sessions) as session:
        for at, cards in changes:
            session.add(
                AllocationChange(
                    tenant_id=tenant_id, workspace_id=ws_id, cluster_id=cluster_id,
                    gpu_model=model, cards=str(cards), at=at, reason="test",
                )
            )  # fmt: skip


def arrange_allocations(h: Hangar) -> tuple[dict[str, str], str, Api, str]:
    """On top of :func:`arrange`: ws ``train`` gets 1 A100 two days ago, 2 from yesterday,
    none from today (72 GPU-hours) and 1 L40S for 6 h yesterday; a deleted workspace had
    1 H800 yesterday (24). Tenant ``acme`` had 2 H800 yesterday (48) on its own cluster.
    Returns ``train``, the cluster id, acme's owner and acme's tenant id."""
    train, _, _ = arrange(h)
    tid = train["tenant_id"]
    cluster = h.admin.call(
        "POST", "/api/v1/clusters", 201, json={"name": "ded-u", "tenant_id": tid}
    )
    y = MIDNIGHT - timedelta(days=1)
    allocate(h, tid, train["id"], cluster["id"], "A100",
             (y - timedelta(days=1), 1), (y, 2), (MIDNIGHT, 0))  # fmt: skip
    allocate(h, tid, train["id"], cluster["id"], "L40S", (y, 1), (y + timedelta(hours=6), 0))
    allocate(h, tid, "gone-ws", cluster["id"], "H800", (y, 1), (MIDNIGHT, 0))
    acme = create_tenant(h, "acme", "acme-owner")
    acme_tid = acme.call("GET", "/api/v1/auth/me")["tenant_id"]
    acme_cluster = h.admin.call(
        "POST", "/api/v1/clusters", 201, json={"name": "ded-acme", "tenant_id": acme_tid}
    )
    allocate(h, acme_tid, "acme-ws", acme_cluster["id"], "H800", (y, 2), (MIDNIGHT, 0))
    return train, cluster["id"], acme, acme_tid


def test_allocated_gpu_hours_follow_the_recorded_changes(quiet: Hangar) -> None:
    train, _, _, _ = arrange_allocations(quiet)
    params = {"start": str(TODAY - timedelta(days=2)), "end": str(YESTERDAY)}
    report = quiet.admin.call("GET", f"{USAGE}/workspaces", params=params)
    got = {
        (r["workspace_name"], r["gpu_model"]): (r["gpu_hours"], r["allocated_gpu_hours"])
        for r in report["rows"]
    }
    assert got[("train", "A100")] == ("6.00", "72.00")  # 1×24 + 2×24
    assert got[("train", "L40S")] == ("0.91", "6.00")
    assert got[("idle", "")] == ("0.00", "0.00")
    assert got[(None, "H800")] == ("0.00", "24.00")  # a deleted workspace's allocation
    assert report["allocated_gpu_hours_total"] == "102.00"
    assert report["gpu_hours_total"] == "6.91" and report["workspaces_in_use"] == 1
    # Yesterday alone: 2 A100 × 24.
    one_day = {"start": str(YESTERDAY), "end": str(YESTERDAY)}
    rows = csv.DictReader(
        io.StringIO(quiet.admin.get(f"{USAGE}/workspaces.csv", params=one_day).text)
    )
    by_key = {(r["workspace_id"], r["gpu_model"]): r["allocated_gpu_hours"] for r in rows}
    assert by_key[(train["id"], "A100")] == "48.00"


def test_amount_spent_per_user_and_unit(quiet: Hangar) -> None:
    _, _, admin_id = arrange(quiet)
    _, dev = quiet.user_api("dev")
    dev_id = dev.call("GET", "/api/v1/auth/me")["id"]
    tid = quiet.admin.call("GET", "/api/v1/auth/me")["tenant_id"]
    y = MIDNIGHT - timedelta(days=1)
    lines = [  # (user, kind, amount, unit, hour start, usage interval)
        (admin_id, "compute", "1.5", "DCU", y + timedelta(hours=1), "ui-1"),
        (admin_id, "compute", "2.25", "DCU", y + timedelta(hours=2), "ui-1"),
        (admin_id, "adjustment", "-0.25", "DCU", y + timedelta(hours=1), "ui-1"),
        (admin_id, "compute", "0.4", "CNY", y + timedelta(hours=3), "ui-2"),
        (None, "compute", "3", "CU", y, "ui-3"),
        (dev_id, "compute", "0.5", "DCU", y, "ui-4"),  # CPU-only work: spending, no GPU-hours
        (admin_id, "plan_purchase", "100", "CNY", y, None),  # a wallet movement, not spending
        (admin_id, "adjustment", "-5", "DCU", y, None),  # an arrears payment
        (admin_id, "compute", "10", "DCU", y - timedelta(days=7), "ui-5"),  # outside the week
    ]
    with transaction(quiet.state.sessions) as session:
        for n, (user_id, kind, amount, unit, at, interval) in enumerate(lines):
            session.add(
                LedgerEntry(
                    key=f"test:{n}", tenant_id=tid, user_id=user_id, kind=kind, amount=amount,
                    unit=unit, usage_interval_id=interval, period_start=at,
                    period_end=at + timedelta(hours=1),
                )
            )  # fmt: skip
    report = quiet.admin.call("GET", f"{USAGE}/users")
    rows = {r["username"]: (r["gpu_hours"], r["amount_spent"]) for r in report["rows"]}
    assert rows == {
        "admin": ("6.00", {"CNY": "0.4", "DCU": "3.5"}),
        "dev": ("0.00", {"DCU": "0.5"}),
        None: ("0.91", {"CU": "3"}),
    }
    assert report["amount_spent_total"] == {"CNY": "0.4", "CU": "3", "DCU": "4"}
    assert report["gpu_hours_total"] == "6.91"


def test_allocation_export_per_cluster_and_card_model(quiet: Hangar) -> None:
    train, cluster_id, acme, acme_tid = arrange_allocations(quiet)
    params = {"start": str(TODAY - timedelta(days=2)), "end": str(YESTERDAY)}
    mine = quiet.admin.call(
        "GET", f"{USAGE}/allocations", params={**params, "tenant_id": train["tenant_id"]}
    )
    got = [(r["cluster_name"], r["gpu_model"], r["allocated_gpu_hours"]) for r in mine["rows"]]
    assert got == [
        ("ded-u", "A100", "72.00"), ("ded-u", "H800", "24.00"), ("ded-u", "L40S", "6.00"),
    ]  # fmt: skip
    assert mine["allocated_gpu_hours_total"] == "102.00"
    assert {r["cluster_id"] for r in mine["rows"]} == {cluster_id}

    # Platform admin, no tenant named: every tenant, grouped by tenant.
    every = quiet.admin.call("GET", f"{USAGE}/allocations", params=params)
    assert every["tenant_id"] is None and every["allocated_gpu_hours_total"] == "150.00"
    assert ("acme", "ded-acme", "H800", "48.00") in [
        (r["tenant_name"], r["cluster_name"], r["gpu_model"], r["allocated_gpu_hours"])
        for r in every["rows"]
    ]
    tenants = [r["tenant_id"] for r in every["rows"]]
    assert tenants == sorted(tenants, key=tenants.index)  # each tenant's rows together
    one = quiet.admin.call("GET", f"{USAGE}/allocations", params={**params, "tenant_id": acme_tid})
    assert [r["allocated_gpu_hours"] for r in one["rows"]] == ["48.00"]
    assert_error(quiet.admin.get(f"{USAGE}/allocations", params={"tenant_id": "nope"}), 404)

    # A tenant admin sees their own tenant and cannot name another.
    own = acme.call("GET", f"{USAGE}/allocations", params=params)
    assert own["tenant_id"] == acme_tid and own["allocated_gpu_hours_total"] == "48.00"
    assert_error(acme.get(f"{USAGE}/allocations", params={"tenant_id": mine["tenant_id"]}), 404)

    response = acme.get(f"{USAGE}/allocations.csv", params=params)
    assert response.status_code == 200
    assert "hangar-allocations-" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["tenant_name"], r["cluster_name"], r["gpu_model"], r["allocated_gpu_hours"])
            for r in rows] == [("acme", "ded-acme", "H800", "48.00")]  # fmt: skip
    response = acme.get(f"{USAGE}/allocations.xlsx", params=params)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][-1] == "allocated_gpu_hours" and float(values[1][-1]) == 48.0  # type: ignore[arg-type]
