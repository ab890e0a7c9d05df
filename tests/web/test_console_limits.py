"""The Limits page: tenant defaults and per-user overrides, with the API's gates and messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar, sqlite_hangar
from tests.web.console import Console, logged_in

CAP_GPUS = 16
OVER_CAP = (
    f"max_gpus: GPU cards in use at once may be at most {CAP_GPUS} on this installation "
    f"(asked {CAP_GPUS + 1})"
)
NEGATIVE = "max_gpus: Input should be greater than or equal to 0"


@pytest.fixture
def hangar(tmp_path: Path) -> Iterator[Hangar]:
    """Like the shared fixture, with a GPU cap below the stock default of 10000."""
    with sqlite_hangar(tmp_path, cap_user_max_gpus=CAP_GPUS) as h:
        yield h


def admin_console(hangar: Hangar) -> Console:
    return logged_in(hangar, "admin", ADMIN_PASSWORD)


def has_limits_link(page: str) -> bool:
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return 'href="/limits"' in nav


def audit_actions(hangar: Hangar, action: str) -> list[dict[str, Any]]:
    page: dict[str, Any] = hangar.admin.call("GET", f"/api/v1/audit?action={action}")
    items: list[dict[str, Any]] = page["items"]
    return items


def test_admins_see_defaults_caps_and_every_user(hangar: Hangar) -> None:
    bob = hangar.create_user("bob")
    page = admin_console(hangar).get("/limits")
    assert page.status_code == 200, page.text
    assert has_limits_link(page.text)
    assert 'id="tenant-limits-form"' in page.text
    assert 'id="tenant-limits-max_gpus" name="max_gpus" type="number" step="1" value="10000"' in (
        page.text
    )
    assert f"at most {CAP_GPUS} on this installation" in page.text
    assert f'<form id="limits-{bob["id"]}-form" hx-patch="/limits/users/{bob["id"]}"' in page.text
    assert f'form="limits-{bob["id"]}-form"' in page.text
    # The stock default of 10000 GPUs is above this installation's cap, which wins.
    assert "capped</span>" in page.text


def test_a_plain_user_has_no_limits_page(hangar: Hangar) -> None:
    hangar.user_api("bob")
    console = logged_in(hangar, "bob", USER_PASSWORD)
    assert not has_limits_link(console.get("/workspaces").text)
    denied = console.get("/limits")
    assert denied.status_code == 403
    assert "<h1>Not allowed</h1>" in denied.text
    refused = console.htmx("PATCH", "/limits", {"max_gpus": "1"}, form="tenant-limits-form")
    assert refused.status_code == 403
    assert refused.headers["hx-retarget"] == "#tenant-limits-form-errors"
    assert hangar.admin.call("GET", "/api/v1/settings/limits")["max_gpus"] == 10_000
    assert [r["result"] for r in audit_actions(hangar, "settings.limits.update")] == ["denied"]


def test_tenant_defaults_are_saved_and_bad_values_named(hangar: Hangar) -> None:
    console = admin_console(hangar)
    form = "tenant-limits-form"
    saved = console.htmx(
        "PATCH", "/limits", {"max_gpus": "8", "max_cpus": "64", "pfs_gib": "100"}, form=form
    )
    assert saved.status_code == 200, saved.text
    assert "Saved the tenant defaults: GPUs 8, CPU cores 64, Parallel FS (GiB) 100." in saved.text
    assert 'name="max_cpus" type="number" step="1" value="64"' in saved.text
    expected = {"max_gpus": 8, "max_cpus": 64, "pfs_gib": 100}
    assert hangar.admin.call("GET", "/api/v1/settings/limits") == expected

    for value, message in ((str(CAP_GPUS + 1), OVER_CAP), ("-1", NEGATIVE)):
        bad = console.htmx(
            "PATCH", "/limits", {"max_gpus": value, "max_cpus": "64", "pfs_gib": "100"}, form=form
        )
        assert bad.status_code == 422
        assert bad.headers["hx-retarget"] == "#tenant-limits-form-errors"
        assert message in bad.text
        assert "<html" not in bad.text
    empty = console.htmx(
        "PATCH", "/limits", {"max_gpus": "8", "max_cpus": "", "pfs_gib": "100"}, form=form
    )
    assert "max_cpus: a tenant default cannot be empty" in empty.text
    assert hangar.admin.call("GET", "/api/v1/settings/limits") == expected

    records = audit_actions(hangar, "settings.limits.update")
    assert sorted(r["result"] for r in records) == ["failed", "failed", "failed", "success"]
    done = next(r for r in records if r["result"] == "success")
    assert (done["method"], done["path"], done["target_type"]) == (
        "PATCH",
        "/limits",
        "tenant_settings",
    )


def test_a_users_override_is_set_and_cleared(hangar: Hangar) -> None:
    bob = hangar.create_user("bob")
    console = admin_console(hangar)
    url, form = f"/limits/users/{bob['id']}", f"limits-{bob['id']}-form"
    api_url = f"/api/v1/users/{bob['id']}/limits"

    saved = console.htmx(
        "PATCH", url, {"max_gpus": "4", "max_cpus": "", "pfs_gib": "10"}, form=form
    )
    assert saved.status_code == 200, saved.text
    assert "Saved the limits of &#39;bob&#39;; in effect now: GPUs 4, CPU cores 10000" in saved.text
    assert f'id="limits-{bob["id"]}-max_gpus" name="max_gpus" type="number" step="1"' in saved.text
    limits = hangar.admin.call("GET", api_url)
    assert limits["overrides"] == {"max_gpus": 4, "max_cpus": None, "pfs_gib": 10}

    # An empty box clears the override, so the tenant default applies again.
    cleared = console.htmx("PATCH", url, {"max_gpus": "", "max_cpus": "", "pfs_gib": "10"})
    assert cleared.status_code == 200
    limits = hangar.admin.call("GET", api_url)
    assert limits["overrides"] == {"max_gpus": None, "max_cpus": None, "pfs_gib": 10}
    assert limits["effective"]["max_gpus"] == CAP_GPUS

    for value, message in ((str(CAP_GPUS + 1), OVER_CAP), ("-1", NEGATIVE)):
        bad = console.htmx("PATCH", url, {"max_gpus": value}, form=form)
        assert bad.status_code == 422
        assert bad.headers["hx-retarget"] == f"#{form}-errors"
        assert message in bad.text
    assert hangar.admin.call("GET", api_url) == limits

    records = audit_actions(hangar, "user.limits.update")
    assert sorted(r["result"] for r in records) == ["failed", "failed", "success", "success"]
    assert {r["target_id"] for r in records if r["result"] == "success"} == {bob["id"]}
    assert {r["target_type"] for r in records if r["result"] == "success"} == {"user_limits"}


def test_an_unknown_user_is_named_in_the_form(hangar: Hangar) -> None:
    console = admin_console(hangar)
    missing = console.htmx(
        "PATCH", "/limits/users/nope", {"max_gpus": "1"}, form="limits-nope-form"
    )
    assert missing.status_code == 404
    assert missing.headers["hx-retarget"] == "#limits-nope-form-errors"
    assert "nope" in missing.text
