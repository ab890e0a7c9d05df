"""Console: the billing Policy & alerts tab: the platform admin sets the minimum-balance gate
and the exhausted-wallet policy and records deposits; tenant admins read; bad input is shown
in the form and saves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hangar.billing.orm import BillingPolicy
from tests.billing.test_gates import consume
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar
from tests.web.console import logged_in
from tests.web.test_console_billing import new_tenant
from tests.web.test_console_pages import assert_no_inline_code


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def test_platform_admin_sets_the_gate_and_records_a_deposit(h: Hangar) -> None:
    admin = logged_in(h, "admin", ADMIN_PASSWORD)
    page = admin.get("/billing/policy")
    assert page.status_code == 200
    assert_no_inline_code(page.text, "/billing/policy")
    assert "none (no gate)" in page.text and 'id="policy-form"' in page.text
    saved = admin.htmx("POST", "/billing/policy",
                       {"min_balance": "100", "min_balance_unit": "CNY",
                        "exhausted_action": "stop"}, form="policy-form")  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert "more than 100 CNY" in saved.text and "stop compute (data is kept)" in saved.text
    bad = admin.htmx("POST", "/billing/deposits", {"amount": "-5", "unit": "CNY"},
                     form="deposit-form")  # fmt: skip
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#deposit-form-errors"
    form = {"amount": "120.50", "unit": "CNY", "note": "order 9", "idempotency_key": "k-9"}
    paid = admin.htmx("POST", "/billing/deposits", form, form="deposit-form")
    assert paid.status_code == 200 and "Recorded a deposit of 120.5 CNY" in paid.text
    again = admin.htmx("POST", "/billing/deposits", form, form="deposit-form")  # double submit
    assert '<dd id="policy-balance">120.5 CNY</dd>' in again.text


def test_tenant_admins_read_but_cannot_change_it(h: Hangar) -> None:
    owner = new_tenant(h, "acme", "olga")
    page = owner.get("/billing/policy")
    assert page.status_code == 200 and 'id="policy-form"' not in page.text
    assert "No alerts" in page.text
    refused = owner.htmx("POST", "/billing/policy", {"min_balance": "0"}, form="policy-form")
    assert refused.status_code == 403
    with h.state.sessions() as session:
        assert session.query(BillingPolicy).count() == 0


def test_the_compensation_voucher_is_offered_and_granted_once(h: Hangar) -> None:
    admin = logged_in(h, "admin", ADMIN_PASSWORD)
    h.admin.call("POST", "/api/v1/billing/wallet/events", 201,
                 json={"kind": "subscribe", "key": "trial"})  # fmt: skip
    consume(h, "40", datetime.now(UTC) + timedelta(seconds=1))  # 20 DCU of arrears
    page = admin.get("/billing/policy").text
    assert "above 10 DCU: data may be cleaned" in page and "voucher due 10 DCU" in page
    assert 'id="compensate-form"' in page
    key = page.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]
    form = {"idempotency_key": key}
    granted = admin.htmx("POST", "/billing/arrears/compensation", form, form="compensate-form")
    assert granted.status_code == 200, granted.text
    assert "Granted a compensation voucher of 10 DCU" in granted.text
    assert 'id="compensate-form"' not in granted.text  # nothing more is due
