"""Usage statistics (``/api/v1/usage``) through the real app and database: JSON, CSV, XLSX,
per user, range refusals and who may look."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.jobs.support import quiet_hangar
from tests.support import Hangar, assert_error, create_tenant

USAGE = "/api/v1/usage"
TODAY = datetime.now(UTC).date()
MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
YESTERDAY = TODAY - timedelta(days=1)


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
    assert values[0] == ("workspace_id", "workspace_name", "tags", "gpu_model", "gpu_hours")
    by_key = {(v[1], v[3]): v[4] for v in values[1:]}
    assert float(by_key[("train", "A100")]) == 6.0  # type: ignore[arg-type]
    assert float(by_key[("train", "L40S")]) == 0.91  # type: ignore[arg-type]
    assert idle["id"] in {v[0] for v in values[1:]}


def test_user_usage_counts_deleted_users_without_a_name(quiet: Hangar) -> None:
    _, _, admin_id = arrange(quiet)
    report = quiet.admin.call("GET", f"{USAGE}/users")
    assert report["rows"] == [
        {"user_id": None, "username": None, "gpu_hours": "0.91"},
        {"user_id": admin_id, "username": "admin", "gpu_hours": "6.00"},
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
    for path in ("workspaces", "workspaces.csv", "workspaces.xlsx", "users"):
        err = assert_error(quiet.admin.get(f"{USAGE}/{path}", params=params), 422)
        assert field in err["fields"] and rule in err["message"]


def test_only_tenant_admins_see_their_own_tenant(quiet: Hangar) -> None:
    arrange(quiet)
    _, dev = quiet.user_api("dev")
    for path in ("workspaces", "workspaces.csv", "workspaces.xlsx", "users"):
        assert_error(dev.get(f"{USAGE}/{path}"), 403)
    other = create_tenant(quiet, "acme", "acme-owner")
    report = other.call("GET", f"{USAGE}/workspaces")
    assert report["gpu_hours_total"] == "0.00" and report["workspaces_in_use"] == 0
    assert {r["workspace_name"] for r in report["rows"]} <= {"default"}
    assert other.call("GET", f"{USAGE}/users")["rows"] == []
