"""Console: the Usage statistics page (tables per workspace × card model and per user, SVG
bar charts, the API's downloads) over the real app and database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from hangar.billing.settlement import settle
from hangar.db.engine import transaction
from hangar.web.pages.usage_charts import LABEL_W, MAX_BARS, VALUE_W, WIDTH, bar_chart
from hangar.workloads.orm import UsageInterval
from tests.billing.test_settlement import price
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in
from tests.web.test_console_pages import assert_no_inline_code

TODAY = datetime.now(UTC).date()
MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


@pytest.fixture
def admin(h: Hangar) -> Console:
    return logged_in(h, "admin", ADMIN_PASSWORD)


def record(
    h: Hangar, key: str, ws: dict[str, str], user_id: str | None, start: datetime, hours: int,
    *, gpus: int = 0, gpu_milli: int = 0, model: str = "A100",
) -> None:  # fmt: skip
    """A usage interval as the reconciler leaves it (no workload row: deleted jobs count)."""
    with transaction(h.state.sessions) as session:
        session.add(
            UsageInterval(
                key=key, run_id="r-" + key, workload_id="w-" + key, tenant_id=ws["tenant_id"],
                workspace_id=ws["id"], user_id=user_id, node_name="gpu-a1", gpus=gpus,
                gpu_milli=gpu_milli, gpu_model=model, started_at=start,
                ended_at=start + timedelta(hours=hours),
            )
        )  # fmt: skip


def arrange(h: Hangar) -> str:
    """ws ``train`` (tagged): 2 A100 × 3 h yesterday by the admin, and a 455‰ L40S slice ×
    2 h by a deleted user; ws ``idle``: nothing; 8 × A100 × 5 h eight days ago."""
    me = h.admin.call("GET", "/api/v1/auth/me")
    train = h.admin.call(
        "POST", "/api/v1/workspaces", 201, json={"name": "train", "tags": {"cost": "ml"}}
    )
    h.create_workspace("idle")
    train["tenant_id"] = me["tenant_id"]
    y = MIDNIGHT - timedelta(days=1)
    record(h, "a", train, me["id"], y + timedelta(hours=1), 3, gpus=2)
    record(h, "b", train, None, y, 2, gpu_milli=455, model="L40S")
    record(h, "c", train, me["id"], y - timedelta(days=7), 5, gpus=8)
    return str(me["id"])


def test_the_usage_page_shows_tables_charts_and_downloads(h: Hangar, admin: Console) -> None:
    arrange(h)
    page = admin.get("/usage")
    assert page.status_code == 200, page.text
    assert_no_inline_code(page.text, "/usage")
    week = f"start={TODAY - timedelta(days=6)}&amp;end={TODAY}"
    assert f"/api/v1/usage/workspaces.csv?{week}" in page.text
    assert f"/api/v1/usage/workspaces.xlsx?{week}" in page.text
    summary = page.text.split('id="usage-summary"', 1)[1].split("</dl>", 1)[0]
    assert "<dd>6.91</dd>" in summary and "<dt>Workspaces in use</dt><dd>1</dd>" in summary
    table = page.text.split('id="usage-workspaces"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"train<div.*?cost: ml.*?A100</td>\s*<td class=\"num\">6.00</td>", table, re.S)
    assert re.search(r"L40S</td>\s*<td class=\"num\">0.91</td>", table)
    assert re.search(r"idle<div.*?—</td>\s*<td class=\"num\">0.00</td>", table, re.S)
    users = page.text.split('id="usage-users"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"admin</td>\s*<td class=\"num\">6.00</td>", users)
    assert "(deleted users)" in users
    # Server-drawn bars: the largest of each chart spans the full width, smaller ones less.
    charts = page.text.split('id="usage-charts"', 1)[1].split("</section>", 1)[0]
    assert charts.count("<svg") >= 3 and "<script" not in charts
    assert "<title>train: 6.91 Used GPU-hours</title>" in charts
    assert "<title>A100: 6.00 Used GPU-hours</title>" in charts
    assert "<title>L40S: 0.91 Used GPU-hours</title>" in charts

    # Every measure of the reports is a column (allocated GPU-hours: nothing allocated here).
    assert '<th class="num">Allocated GPU-hours</th>' in table
    assert 'id="usage-allocations"' in page.text and "/api/v1/usage/allocations.csv?" in page.text

    # A wider range takes in the 8 × 5 h of eight days ago.
    wide = admin.get(f"/usage?start={TODAY - timedelta(days=10)}&end={TODAY}")
    assert "<dd>46.91</dd>" in wide.text
    # Refusals are shown in the page, naming the field.
    old = admin.get(f"/usage?start={TODAY - timedelta(days=200)}&end={TODAY}")
    assert old.status_code == 422 and "180" in old.text and 'id="usage-range"' in old.text
    bad = admin.get("/usage?start=yesterday")
    assert bad.status_code == 422 and "must be a day written YYYY-MM-DD" in bad.text

    # The amount spent per user comes from the settled ledger.
    price(h, "A100", "1.5", MIDNIGHT - timedelta(days=30))
    settle(h.state.sessions, now=MIDNIGHT)
    users = admin.get("/usage").text.split('id="usage-users"', 1)[1].split("</section>", 1)[0]
    # 2 A100 × 3 h × 1.5 DCU/h yesterday (L40S is unpriced, so free).
    assert re.search(
        r"admin</td>\s*<td class=\"num\">6.00</td>\s*<td class=\"num\">9 DCU</td>", users
    )


def test_a_plain_member_may_not_open_the_usage_page(h: Hangar) -> None:
    h.create_user("pat")
    pat = logged_in(h, "pat", USER_PASSWORD)
    assert pat.get("/usage").status_code == 403
    assert 'href="/usage"' not in pat.get("/workspaces").text


def test_bars_scale_to_the_peak_and_list_what_is_left_out() -> None:
    items = [(f"ws-{i:02}", [Decimal(30 - i), Decimal(0)]) for i in range(MAX_BARS + 3)]
    chart = bar_chart("t", items, ["gpu_hours", "allocated_gpu_hours"])
    assert len(chart.rows) == MAX_BARS and chart.left_out == 3
    widths = [bar.width for bar in chart.rows[0].bars]
    assert widths[0] == WIDTH - LABEL_W - VALUE_W and widths[1] == 0
    assert chart.rows[1].bars[0].width < widths[0]
    assert chart.legend[1][0] == "Allocated GPU-hours"
    assert bar_chart("t", [], ["gpu_hours"]).rows == []
