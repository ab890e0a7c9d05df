"""The account page: profile, and changing one's own password through htmx."""

from __future__ import annotations

from tests.support import USER_PASSWORD, Hangar
from tests.web.console import logged_in


def test_account_page_changes_password(hangar: Hangar) -> None:
    hangar.user_api("acct_user")
    console = logged_in(hangar, "acct_user", USER_PASSWORD)
    page = console.client.get("/account")
    assert page.status_code == 200
    assert "acct_user" in page.text and 'href="/account"' in page.text

    wrong = console.htmx(
        "POST", "/account/password",
        {"current_password": "not-it-at-all", "new_password": "fresh-pass-9"},
        form="password-form",
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "current_password" in wrong.text

    changed = console.htmx(
        "POST", "/account/password",
        {"current_password": USER_PASSWORD, "new_password": "fresh-pass-9"},
        form="password-form",
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert "Password changed" in changed.text
    # The session that changed it stays signed in; the new password works for logins.
    assert console.client.get("/account").status_code == 200
    assert hangar.login("acct_user", "fresh-pass-9").username == "acct_user"
