"""The Jobs pages in a real browser: submit a job from the form, then watch its log grow
live (htmx polling with out-of-band pollers) under the strict CSP, until it ends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests import support
from tests.support import ADMIN_PASSWORD, live_server
from tests.web.test_browser import browser, require_vendored_htmx, watch_for_errors

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture, shared with the console's other browser tests

COMMAND = "for i in 1 2 3; do echo line $i; sleep 1; done"


def test_submit_a_job_and_follow_its_log(browser: Browser, tmp_path: Path, db_url: str) -> None:
    require_vendored_htmx()
    with live_server(support.test_settings(tmp_path / "home", db_url)) as url:
        page = browser.new_page(base_url=url)
        page.set_default_timeout(5000)
        errors, statuses = watch_for_errors(page)
        page.goto("/jobs/new")
        page.fill("#login-username", "admin")
        page.fill("#login-password", ADMIN_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{url}/jobs/new")

        page.fill("#job-name", "browser-job")
        page.fill("#job-command", COMMAND)
        page.select_option("#job-mode", "single")
        page.check("input[name=resource_kind][value=custom]")
        page.fill("#job-cpu", "0.5")
        page.fill("#job-mem", "0.25")
        page.click("#create-job-form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{16}$"), timeout=10000)
        expect(page.locator("#log-text")).to_contain_text("line 1", timeout=20000)
        expect(page.locator("#log-text")).to_contain_text("line 3", timeout=20000)
        expect(page.locator("#log-poller")).to_contain_text("End of log.", timeout=20000)
        expect(page.locator("#log-text")).to_have_text("line 1\nline 2\nline 3\n")
        expect(page.locator("#job")).to_contain_text("Completed", timeout=20000)

        assert errors == [], "the browser reported errors (CSP violations?):\n" + "\n".join(errors)
        assert statuses == [], statuses
