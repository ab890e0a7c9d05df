"""The console in a real browser (Debian's Chromium via Playwright) against a real HTTP server.

It proves what the TestClient cannot: htmx loads under the strict CSP, the CSRF header rides
along on every htmx request, fragments land where they should, and nothing trips the CSP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.resources.inventory import sync_inventory
from hangar.web.assets import HTMX_FILE
from tests import support
from tests.resources.conftest import HOSTS, spec_body
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, live_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing; install it with: apt-get install -y chromium chromium-driver",
            pytrace=False,
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Chromium logs every 4xx/5xx answer to the console; the test provokes exactly one 422.
HTTP_STATUS_LOG = "Failed to load resource: the server responded with a status of "


def require_vendored_htmx() -> None:
    """Without htmx the console's buttons do nothing: a failure to fix, never a skip."""
    if not HTMX_FILE.is_file():
        pytest.fail(
            f"{HTMX_FILE} is missing, so the console has no htmx; run scripts/web-assets.sh "
            "(make test does) and re-run",
            pytrace=False,
        )


def watch_for_errors(page: Page) -> tuple[list[str], list[str]]:
    """Console errors (CSP violations are reported there), uncaught page exceptions, and
    separately the HTTP error statuses Chromium logs."""
    errors: list[str] = []
    statuses: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if message.text.startswith(HTTP_STATUS_LOG):
            statuses.append(message.text.removeprefix(HTTP_STATUS_LOG))
        else:
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors, statuses


def create_user_via_api(url: str, username: str) -> None:
    with httpx.Client(base_url=url) as client:
        login = client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 201, login.text
        created = client.post(
            "/api/v1/users",
            json={"username": username, "password": USER_PASSWORD},
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        )
        assert created.status_code == 201, created.text


def test_admin_adds_a_member_and_finds_it_in_the_audit(
    browser: Browser, tmp_path: Path, db_url: str
) -> None:
    require_vendored_htmx()
    with live_server(support.test_settings(tmp_path / "home", db_url)) as url:
        create_user_via_api(url, "dana")
        page = browser.new_page(base_url=url)
        page.set_default_timeout(5000)
        errors, statuses = watch_for_errors(page)

        page.goto("/workspaces")
        expect(page).to_have_url(f"{url}/login?next=/workspaces")
        page.fill("#login-username", "admin")
        page.fill("#login-password", ADMIN_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{url}/workspaces")
        assert page.evaluate("typeof htmx") == "object", "htmx did not load"

        # A bad name first: the message lands in the form's error box, not as a new page.
        page.fill("#create-workspace-name", "9lives")
        page.click("#create-workspace-form button[type=submit]")
        expect(page.locator("#create-workspace-form-errors")).to_contain_text(
            "must start with a letter"
        )
        page.fill("#create-workspace-name", "vision_lab")
        page.click("#create-workspace-form button[type=submit]")
        expect(page.locator("#flash")).to_contain_text("Created workspace 'vision_lab'")
        page.click("#workspaces a:text-is('vision_lab')")
        expect(page.locator("h1")).to_contain_text("vision_lab")

        page.select_option("#add-member-user", label="dana")
        page.check("#add-member-developer")
        page.click("#add-member-form button[type=submit]")
        expect(page.locator("#flash")).to_contain_text("Added 'dana' as developer")
        expect(page.locator("#members tbody")).to_contain_text("dana")

        page.click("nav a:text-is('Audit')")
        page.fill("#audit-action", "workspace.members.add")
        page.click("form.filters button[type=submit]")
        rows = page.locator("table.audit tbody tr")
        # The audit record is written just after the response; give it a moment.
        deadline = time.monotonic() + 5
        while "dana" not in rows.first.inner_text() and time.monotonic() < deadline:
            page.reload()
        expect(rows.first).to_contain_text("workspace.members.add")
        expect(rows.first).to_contain_text("member: dana")
        expect(rows.first).to_contain_text("success")
        assert "action=workspace.members.add" in (
            page.locator("a[href^='/api/v1/audit/export.csv']").get_attribute("href") or ""
        )

        # The header's switcher enters a workspace on change; logging out ends at the login page.
        page.select_option("#workspace-switcher", label="vision_lab")
        expect(page.locator("h1")).to_contain_text("vision_lab")
        page.click("header button:text-is('Log out')")
        expect(page).to_have_url(f"{url}/login")
        page.goto("/audit")
        expect(page).to_have_url(f"{url}/login?next=/audit")

        assert errors == [], "the browser reported errors (CSP violations?):\n" + "\n".join(errors)
        assert statuses == ["422 (Unprocessable Entity)"], statuses


def test_admin_edits_limits_row_by_row(browser: Browser, tmp_path: Path, db_url: str) -> None:
    """A row's boxes sit in other table cells than its form (``form=`` attribute): htmx must
    still send them, and errors must land in that row's error box."""
    require_vendored_htmx()
    settings = support.test_settings(tmp_path / "home", db_url, cap_user_max_gpus=16)
    with live_server(settings) as url:
        create_user_via_api(url, "dana")
        page = browser.new_page(base_url=url)
        page.set_default_timeout(5000)
        errors, statuses = watch_for_errors(page)
        page.goto("/limits")
        page.fill("#login-username", "admin")
        page.fill("#login-password", ADMIN_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{url}/limits")

        page.fill("#tenant-limits-max_gpus", "8")
        page.click("#tenant-limits-form button[type=submit]")
        expect(page.locator("#flash")).to_contain_text("Saved the tenant defaults: GPUs 8")

        row_id = page.locator("tr", has_text="dana").get_attribute("id") or ""
        box, form = f"#{row_id}-max_gpus", f"#{row_id}-form"
        page.fill(box, "99")
        page.click(f"{form} button[type=submit]")
        expect(page.locator(f"{form}-errors")).to_contain_text("may be at most 16")
        page.fill(box, "4")
        page.fill(f"#{row_id}-pfs_gib", "20")
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#flash")).to_contain_text("in effect now: GPUs 4")
        expect(page.locator(f"#{row_id}-pfs_gib")).to_have_value("20")
        page.fill(box, "")
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#flash")).to_contain_text("in effect now: GPUs 8")

        assert errors == [], "the browser reported errors (CSP violations?):\n" + "\n".join(errors)
        assert statuses == ["422 (Unprocessable Entity)"], statuses


def _dedicated_cluster(url: str, db_url: str) -> None:
    engine = make_engine(db_url)
    with transaction(make_session_factory(engine)) as session:
        sync_inventory(session, HOSTS, backend="ci")
    engine.dispose()
    with httpx.Client(base_url=url) as client:
        token = client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        me = client.get("/api/v1/auth/me").json()
        cluster = client.post(
            "/api/v1/clusters", json={"name": "ded-a", "tenant_id": me["tenant_id"]}
        ).json()
        for node in client.get("/api/v1/nodes").json():
            if node["name"].startswith("gpu-a"):
                client.put(
                    f"/api/v1/nodes/{node['id']}/cluster", json={"cluster_id": cluster["id"]}
                )
        assert client.post("/api/v1/specs", json=spec_body(cluster["id"], 2)).status_code == 201
        assert client.post("/api/v1/workspaces", json={"name": "TeamA"}).status_code == 201


def test_admin_creates_and_stops_a_quota(browser: Browser, tmp_path: Path, db_url: str) -> None:
    require_vendored_htmx()
    settings = support.test_settings(tmp_path / "home", db_url)
    with live_server(settings) as url:
        _dedicated_cluster(url, db_url)
        page = browser.new_page(base_url=url)
        page.set_default_timeout(5000)
        errors, statuses = watch_for_errors(page)
        page.goto("/quotas")
        page.fill("#login-username", "admin")
        page.fill("#login-password", ADMIN_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{url}/quotas")

        form = "#create-quota-form"
        page.fill("#quota-name", "browser-q")
        page.fill("#quota-count", "3")
        page.check(f"{form} input[name=workload_types][value=training]")
        page.check(f"{form} input[name=workload_types][value=ide]")
        page.check(f"{form} input[name=workspace_ids]")
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#flash")).to_contain_text("Created quota 'browser-q'.")
        row = page.locator("tr", has_text="browser-q")
        expect(row).to_contain_text("0/6")
        expect(row).to_contain_text("exclusive")
        expect(row).to_contain_text("TeamA")

        page.fill("#quota-name", "too-big")
        page.fill("#quota-count", "9")
        page.check(f"{form} input[name=workload_types][value=training]")
        page.fill("#quota-weight", "2")
        page.click(f"{form} button[type=submit]")
        expect(page.locator(f"{form}-errors")).to_contain_text("at most 5")

        page.locator("tr", has_text="browser-q").get_by_role("button", name="Stop").click()
        expect(page.locator("#flash")).to_contain_text("Stopped quota 'browser-q'")
        expect(page.locator("tr", has_text="browser-q")).to_contain_text("stopped")

        assert errors == [], "the browser reported errors (CSP violations?):\n" + "\n".join(errors)
        assert statuses == ["422 (Unprocessable Entity)"], statuses
