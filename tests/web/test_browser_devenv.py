"""A JupyterLab environment in a real browser: created and started from the console form,
opened through the proxy, a notebook cell run in real JupyterLab; a user of another workspace
gets 404 at the same URL. Real server (uvicorn), scheduler, local backend, JupyterLab and
Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import support
from tests.devenvs.support import DEVENVS, delete_all, live_api, outsider, port_block
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, live_server
from tests.web.test_browser import browser, require_vendored_htmx, watch_for_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["browser"]  # the fixture, shared with the console's other browser tests

STARTUP = 90_000  # ms: JupyterLab's first start and first page load on a small machine


def log_in(page: Page, url: str, path: str, username: str, password: str) -> None:
    page.goto(path)
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(f"{url}{path}")


def run_cell(lab: Page, code: str) -> str:
    """Open a new Python notebook from the launcher, run ``code`` in its first cell and
    return the cell's output."""
    lab.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
    notebook = lab.locator(".jp-NotebookPanel:visible")
    # The kernel is ready when the status bar reads "Python 3 (ipykernel) | Idle" (the
    # toolbar's indicator says idle while it still initialises).
    expect(lab.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=STARTUP)
    editor = notebook.locator(".jp-Cell .cm-content").first
    editor.click()
    editor.press_sequentially(code)
    editor.press("Shift+Enter")
    output = notebook.locator(".jp-Cell .jp-OutputArea-output").first
    expect(output).not_to_be_empty(timeout=STARTUP)
    return output.inner_text()


def test_open_jupyterlab_from_the_console_and_run_a_cell(
    browser: Browser, tmp_path: Path, db_url: str
) -> None:
    require_vendored_htmx()
    settings = support.test_settings(
        tmp_path / "home", db_url, devenv_loop_seconds=0.5, **port_block()
    )
    with live_server(settings) as url:
        admin = live_api(url, "admin", ADMIN_PASSWORD)
        try:
            context = browser.new_context(base_url=url)
            page = context.new_page()
            page.set_default_timeout(10_000)
            errors, statuses = watch_for_errors(page)
            log_in(page, url, "/devenvs", "admin", ADMIN_PASSWORD)

            page.click("a.button:text-is('New environment')")
            expect(page.locator("h1")).to_have_text("New dev environment")
            page.fill("#devenv-name", "browser-lab")
            page.check("input[name=ide][value=jupyterlab]")
            page.fill("#devenv-cpu", "1")
            page.fill("#devenv-mem", "1")
            page.check("#create-devenv-form input[name=start]")
            page.click("#create-devenv-form button[type=submit]")
            expect(page).to_have_url(re.compile(r"/devenvs/[0-9a-f]{16}$"))
            env_id = page.url.rsplit("/", 1)[1]
            # The section reloads itself every few seconds while the environment starts.
            expect(page.locator("#devenv h1 .badge")).to_have_text("Running", timeout=STARTUP)
            open_link = page.locator("#devenv a.button:text-is('Open JupyterLab')")
            expect(open_link).to_have_attribute("href", f"/dev/{env_id}/")

            with context.expect_page() as opened:
                open_link.click()
            lab = opened.value
            lab.set_default_timeout(STARTUP)
            # Running means the process runs; until JupyterLab listens (a few seconds) the
            # proxy shows a page that reloads itself.
            expect(lab).to_have_url(re.compile(rf"/dev/{env_id}/lab"), timeout=STARTUP)
            assert run_cell(lab, "print(6*7)").strip() == "42"
            lab.close()

            assert errors == [], "the console reported errors:\n" + "\n".join(errors)
            assert statuses == [], statuses
            context.close()

            # A user of another workspace: the same URL is a 404, as for nothing at all.
            outsider(admin, "browser_outsider")
            other = browser.new_context(base_url=url)
            other_page = other.new_page()
            log_in(other_page, url, "/devenvs", "browser_outsider", USER_PASSWORD)
            answer = other_page.goto(f"/dev/{env_id}/lab")
            assert answer is not None and answer.status == 404
            expect(other_page.locator("body")).not_to_contain_text("JupyterLab")
            assert admin.call("GET", f"{DEVENVS}/{env_id}")["status"] == "Running"
            other.close()
        finally:
            delete_all(admin)
