"""Console: the platform admin sets a tenant's free platform storage on the billing Policy tab
(the form version of ``PUT /api/v1/tenants/{id}/storage-quota``); bad input is named in the
form and changes nothing; tenant admins see the quota but may not change it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.tenancy.orm import Tenant
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar
from tests.web.console import logged_in
from tests.web.test_console_billing import new_tenant
from tests.web.test_console_pages import assert_no_inline_code

FORM = "storage-quota-form"


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def quota_of(h: Hangar, name: str) -> int:
    with h.state.sessions() as session:
        return session.query(Tenant).filter_by(name=name).one().storage_quota_gib


def test_platform_admin_sets_a_tenants_storage_quota(h: Hangar) -> None:
    new_tenant(h, "acme", "olga")
    acme = next(t for t in h.admin.call("GET", "/api/v1/tenants") if t["name"] == "acme")
    admin = logged_in(h, "admin", ADMIN_PASSWORD)
    page = admin.get(f"/billing/policy?tenant_id={acme['id']}")
    assert page.status_code == 200
    assert_no_inline_code(page.text, "/billing/policy")
    assert f'id="{FORM}"' in page.text and '<dd id="storage-quota-gib">300 GiB</dd>' in page.text
    saved = admin.htmx("POST", "/billing/storage-quota",
                       {"tenant_id": acme["id"], "storage_quota_gib": "500"}, form=FORM)  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert '<dd id="storage-quota-gib">500 GiB</dd>' in saved.text
    assert "acme: 500 GiB free platform storage." in saved.text
    assert quota_of(h, "acme") == 500
    quotas = {t["name"]: t["storage_quota_gib"] for t in h.admin.call("GET", "/api/v1/tenants")}
    assert quotas.pop("acme") == 500 and set(quotas.values()) == {300}  # no other tenant moved


@pytest.mark.parametrize("bad", ["-5", "1000001", "2.5", "lots", "", "9" * 5000])
def test_bad_input_is_named_and_changes_nothing(h: Hangar, bad: str) -> None:
    new_tenant(h, "acme", "olga")
    acme = next(t for t in h.admin.call("GET", "/api/v1/tenants") if t["name"] == "acme")
    admin = logged_in(h, "admin", ADMIN_PASSWORD)
    refused = admin.htmx("POST", "/billing/storage-quota",
                         {"tenant_id": acme["id"], "storage_quota_gib": bad}, form=FORM)  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.headers["HX-Retarget"] == f"#{FORM}-errors"
    assert "storage quota: must be a whole number of GiB from 0 to 1000000" in refused.text
    assert quota_of(h, "acme") == 300


def test_tenant_admins_see_the_quota_but_cannot_change_it(h: Hangar) -> None:
    owner = new_tenant(h, "acme", "olga")
    page = owner.get("/billing/policy")
    assert page.status_code == 200
    assert (
        '<dd id="storage-quota-gib">300 GiB</dd>' in page.text and f'id="{FORM}"' not in page.text
    )
    acme = next(t for t in h.admin.call("GET", "/api/v1/tenants") if t["name"] == "acme")
    refused = owner.htmx("POST", "/billing/storage-quota",
                         {"tenant_id": acme["id"], "storage_quota_gib": "5000"}, form=FORM)  # fmt: skip
    assert refused.status_code == 403
    assert quota_of(h, "acme") == 300
