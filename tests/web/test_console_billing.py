"""Console: the Billing pages (balance and buckets, plan purchases, statements, the price
book) over the real app and database, with usage settled by the real settlement."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hangar.billing.orm import LedgerEntry, PriceVersionRow, WalletEventRow
from hangar.billing.settlement import settle
from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.billing.test_settlement import price, tenant_id
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in
from tests.web.test_console_pages import assert_no_inline_code

# Last month, so that settling "now" covers it whatever today is.
NOW = datetime.now(UTC)
THIS_MONTH = datetime(NOW.year, NOW.month, 1, tzinfo=UTC)
LAST_MONTH = (THIS_MONTH - timedelta(days=1)).replace(day=1)
T0 = LAST_MONTH + timedelta(days=2)


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


@pytest.fixture
def h_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    """``h`` once on SQLite and once on PostgreSQL."""
    with quiet_hangar(tmp_path / "home", any_db_url) as hangar:
        yield hangar


@pytest.fixture
def admin(h: Hangar) -> Console:
    return logged_in(h, "admin", ADMIN_PASSWORD)


def at(hour: int, minute: int = 0) -> datetime:
    return T0 + timedelta(hours=hour, minutes=minute)


def usage(h: Hangar, key: str, ws_id: str, start: datetime, end: datetime, gpus: int) -> str:
    with transaction(h.state.sessions) as session:
        row = UsageInterval(
            key=key, run_id="r-" + key, workload_id="w-" + key, tenant_id=tenant_id(h),
            workspace_id=ws_id, user_id="u", node_name="gpu-a1", started_at=start, ended_at=end,
            gpus=gpus, gpu_model="dc100-40g",
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def new_tenant(h: Hangar, name: str, owner: str) -> Console:
    """Another tenant, created by the platform admin; its owner logged in to the console."""
    h.admin.call(
        "POST", "/api/v1/tenants", 201,
        json={"name": name, "owner_username": owner, "owner_password": USER_PASSWORD},
    )  # fmt: skip
    return logged_in(h, owner, USER_PASSWORD)


def event(console: Console, form: str, **fields: str) -> httpx.Response:
    """Send one of the wallet forms (``form``: its id) as htmx does."""
    return console.htmx("POST", "/billing/wallet/events", fields, form=form)


def count(h: Hangar, table: type[object]) -> int:
    with h.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def row_of(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">.*?</tr>', page, re.S)
    assert found is not None, page
    return found.group(0)


def test_statements_show_settled_lines_totals_and_groups(h_any: Hangar) -> None:
    h = h_any
    admin = logged_in(h, "admin", ADMIN_PASSWORD)
    version = price(h, "dc100-40g", "1.28", at(0))
    ws = h.create_workspace("train")
    first = usage(h, "a", ws["id"], at(10, 0), at(11, 30), gpus=1)
    usage(h, "b", ws["id"], at(10, 20), at(10, 40), gpus=1)
    settle(h.state.sessions, now=at(12))

    month = LAST_MONTH.strftime("%Y-%m")
    page = admin.get(f"/billing/statements?month={month}")
    assert page.status_code == 200, page.text
    assert_no_inline_code(page.text, "/billing/statements")
    assert "3 lines from" in page.text
    # 1.28 × (1 h + 0.5 h + 20 min) = 2.346667: exact, then rounded once.
    total = row_of(page.text, "total-DCU")
    assert "2.346667" in total and "<strong>2.35</strong>" in total
    assert "train" in page.text and "1.28 DCU/h from" in page.text
    assert version in page.text and first in page.text
    assert f"/billing/statements.csv?month={month}" in page.text

    csv = admin.get(f"/billing/statements.csv?month={month}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    body = csv.text.splitlines()
    assert body[0].startswith("id,key,kind,meter,quantity,seconds,amount,unit") and len(body) == 4

    # The current month (the default) has nothing; a bad month is refused in the page.
    empty = admin.get("/billing/statements")
    assert empty.status_code == 200 and "0 lines from" in empty.text
    bad = admin.get("/billing/statements?month=2026-13")
    assert bad.status_code == 422 and "must be a month written YYYY-MM" in bad.text


def test_subscribing_through_the_form_shows_the_bucket_and_balance(h_any: Hangar) -> None:
    h = h_any
    owner = new_tenant(h, "acme", "olga")
    page = owner.get("/billing")
    assert page.status_code == 200, page.text
    assert_no_inline_code(page.text, "/billing")
    assert "Postpaid" in page.text and 'id="subscribe-form"' in page.text
    assert 'id="credit-form"' not in page.text  # platform admin only

    # An extension pack needs a plan first: the wallet's refusal, nothing written.
    refused = event(owner, "extension-form", kind="buy_extension", key="extension-10")
    assert refused.status_code == 409, refused.text
    assert refused.headers["HX-Retarget"] == "#extension-form-errors"
    assert count(h, WalletEventRow) == 0

    # An unknown plan: the catalog's message, nothing written.
    unknown = event(owner, "subscribe-form", kind="subscribe", key="gold")
    assert unknown.status_code == 422, unknown.text
    assert "unknown plan &#39;gold&#39;" in unknown.text and "basic" in unknown.text
    assert count(h, WalletEventRow) == 0 and count(h, LedgerEntry) == 0

    done = event(owner, "subscribe-form", kind="subscribe", key="basic", idempotency_key="k1")
    assert done.status_code == 200, done.text
    assert "Subscribed (basic), event 1: the period runs to" in done.text
    assert "Basic" in done.text and "56.6 DCU" in done.text
    assert ">56.6<" in row_of(done.text, "balance-DCU")
    bucket = row_of(done.text, "bucket-1")
    assert "plan" in bucket and "basic" in bucket and "active" in bucket
    # The same key again (a double submit) records nothing new.
    event(owner, "subscribe-form", kind="subscribe", key="basic", idempotency_key="k1")
    assert count(h, WalletEventRow) == 1

    # A renewal is queued to the period end; the pack now goes through.
    renewed = event(owner, "subscribe-form", kind="subscribe", key="basic")
    assert "queued, starts" in renewed.text and "<dt>Queued</dt>" in renewed.text
    pack = event(owner, "extension-form", kind="buy_extension", key="extension-10")
    assert pack.status_code == 200 and ">66.6<" in row_of(pack.text, "balance-DCU")
    # Purchases are charged in currency on the ledger: 365 × 2 + 67.5.
    page = owner.get("/billing")
    assert ">797.5<" in row_of(page.text, "ledger-CNY")

    # A tenant admin may not credit, even by posting the form by hand.
    denied = event(owner, "credit-form", kind="credit", amount="5", unit="DCU")
    assert denied.status_code == 403
    assert count(h, WalletEventRow) == 3


def test_the_platform_admin_credits_and_grants_trials_to_a_tenant(
    h: Hangar, admin: Console
) -> None:
    olga = new_tenant(h, "acme", "olga")
    event(olga, "subscribe-form", kind="subscribe", key="basic")
    acme = next(t for t in h.admin.call("GET", "/api/v1/tenants") if t["name"] == "acme")
    page = admin.get(f"/billing?tenant_id={acme['id']}")
    assert page.status_code == 200 and 'id="credit-form"' in page.text
    assert f'<option value="{acme["id"]}" selected>acme</option>' in page.text
    bad = event(admin, "credit-form", kind="credit", unit="DCU", tenant_id=acme["id"])
    assert bad.status_code == 422 and "amount" in bad.text
    credited = event(
        admin, "credit-form", kind="credit", amount="2.5", unit="DCU", tenant_id=acme["id"]
    )
    assert credited.status_code == 200, credited.text
    trial = event(
        admin, "trial-form", kind="grant_trial", key="notebook-trial", tenant_id=acme["id"]
    )
    assert trial.status_code == 200, trial.text
    cu = row_of(trial.text, "balance-CU")  # 250 now, two more tranches of 250 to come
    assert ">250<" in cu and ">500<" in cu
    seen = olga.get("/billing")
    assert ">59.1<" in row_of(seen.text, "balance-DCU") and "trial_grant" in seen.text
    # The admin's own tenant is untouched; a tenant admin cannot look at another tenant.
    assert "Postpaid" in admin.get("/billing").text
    other = olga.get(f"/billing?tenant_id={tenant_id(h)}")
    assert other.status_code == 404


def test_the_price_book_and_adding_a_version(h: Hangar, admin: Console) -> None:
    price(h, "dc100-40g", "1.28", at(0))
    page = admin.get("/billing/prices")
    assert page.status_code == 200 and 'id="add-price-form"' in page.text
    assert_no_inline_code(page.text, "/billing/prices")
    assert "1.28" in page.text and "in force" in page.text

    bad = admin.htmx("POST", "/billing/prices",
                     {"meter": "dc100-40g", "rate_per_hour": "lots", "unit": "DCU"},
                     form="add-price-form")  # fmt: skip
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#add-price-form-errors"
    assert "rate_per_hour" in bad.text
    past = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    backdated = admin.htmx("POST", "/billing/prices",
                           {"meter": "dc100-40g", "rate_per_hour": "2", "unit": "DCU",
                            "effective_from": past}, form="add-price-form")  # fmt: skip
    assert backdated.status_code == 422 and "never backdated" in backdated.text
    other_unit = admin.htmx("POST", "/billing/prices",
                            {"meter": "dc100-40g", "rate_per_hour": "2", "unit": "CU"},
                            form="add-price-form")  # fmt: skip
    assert other_unit.status_code == 422 and "one unit" in other_unit.text
    assert count(h, PriceVersionRow) == 1

    later = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    added = admin.htmx("POST", "/billing/prices",
                       {"meter": "dc100-40g", "rate_per_hour": "1.5", "unit": "DCU",
                        "effective_from": later}, form="add-price-form")  # fmt: skip
    assert added.status_code == 200, added.text
    assert "Added price 1.5 DCU/h for &#39;dc100-40g&#39;" in added.text
    assert "scheduled" in added.text and count(h, PriceVersionRow) == 2

    # Tenant admins read the book but have no form, and may not post one.
    olga = new_tenant(h, "acme", "olga")
    seen = olga.get("/billing/prices")
    assert seen.status_code == 200 and "1.5" in seen.text and 'id="add-price-form"' not in seen.text
    cpu = {"meter": "cpu", "rate_per_hour": "1", "unit": "DCU"}
    denied = olga.htmx("POST", "/billing/prices", cpu, form="add-price-form")
    assert denied.status_code == 403 and count(h, PriceVersionRow) == 2


def test_a_plain_member_may_not_open_the_billing_pages(h: Hangar) -> None:
    h.create_user("pat")
    pat = logged_in(h, "pat", USER_PASSWORD)
    assert "/billing" not in pat.get("/workspaces").text.split("</nav>", 1)[0]
    for path in ("/billing", "/billing/statements", "/billing/prices", "/billing/statements.csv"):
        assert pat.get(path).status_code == 403, path
    denied = event(pat, "subscribe-form", kind="subscribe", key="basic")
    assert denied.status_code == 403 and count(h, WalletEventRow) == 0
