"""Console pages over the real app: login, rendering, who sees what, errors, CSP."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from hangar.app import create_app
from hangar.web import assets as web_assets
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in

TEMPLATES = Path(web_assets.__file__).parent / "templates"
ADMIN_NAV = ("/users", "/groups", "/limits", "/audit", "/billing", "/usage")
PAGES = (
    "/workspaces",
    "/resources",
    "/quotas",
    "/devenvs",
    "/jobs",
    "/images",
    "/models",
    "/datasets",
    "/code",
    "/queue",
    "/costs",
    "/users",
    "/groups",
    "/limits",
    "/tokens",
    "/audit",
    "/billing",
    "/usage",
    "/simulator",
    "/account",
)


def nav_links(page: str) -> list[str]:
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'href="([^"]+)"', nav)


def test_login_form_sets_the_session_cookie_and_redirects(hangar: Hangar) -> None:
    console = Console(hangar)
    form = console.get("/login")
    assert form.status_code == 200
    assert 'id="login-form"' in form.text

    response = console.login("admin", ADMIN_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hangar_session=hgr_")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()

    home = console.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/workspaces")
    page = console.get("/workspaces")
    assert page.status_code == 200
    assert console.csrf, "the page must carry the CSRF token for htmx"
    assert "default" in page.text


def test_wrong_password_shows_the_form_again_with_the_message(hangar: Hangar) -> None:
    console = Console(hangar)
    response = console.login("admin", "not-the-password")
    assert response.status_code == 401
    assert "wrong username or password" in response.text
    assert 'value="admin"' in response.text, "the username should stay filled in"
    assert "hangar_session" not in response.headers.get("set-cookie", "")


def test_pages_need_a_login_and_come_back_after_it(hangar: Hangar) -> None:
    console = Console(hangar)
    response = console.get("/audit?action=auth")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/audit%3Faction%3Dauth"

    response = console.login("admin", ADMIN_PASSWORD, next_path="/audit%3Faction%3Dauth")
    assert response.headers["location"] == "/audit?action=auth"
    # Only same-site paths are followed after a login.
    other = Console(hangar).login("admin", ADMIN_PASSWORD, next_path="//evil.example/")
    assert other.headers["location"] == "/"


def test_htmx_requests_without_a_login_are_sent_to_the_login_page(hangar: Hangar) -> None:
    response = Console(hangar).htmx("POST", "/workspaces", {"name": "x"}, csrf=False)
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/workspaces"


def test_api_paths_keep_answering_json(hangar: Hangar) -> None:
    response = hangar.client.get("/api/v1/workspaces", follow_redirects=False)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_page_renders_for_a_tenant_admin(hangar: Hangar) -> None:
    console = logged_in(hangar, "admin", ADMIN_PASSWORD)
    default = hangar.default_workspace()
    for path in (*PAGES, f"/workspaces/{default['id']}"):
        page = console.get(path)
        assert page.status_code == 200, f"{path}: {page.status_code} {page.text[:500]}"
        assert '<span class="user" title="Signed in as">admin</span>' in page.text
        assert '<span class="tenant" title="Tenant">default</span>' in page.text
        assert 'id="workspace-switcher"' in page.text
        assert nav_links(page.text) == list(PAGES), path
    workspaces = console.get("/workspaces").text
    assert 'id="create-workspace-form"' in workspaces
    assert default["id"] in workspaces


def test_a_plain_user_sees_no_admin_pages(hangar: Hangar) -> None:
    hangar.user_api("bob")
    console = logged_in(hangar, "bob", USER_PASSWORD)
    page = console.get("/workspaces")
    assert page.status_code == 200
    links = nav_links(page.text)
    assert "/workspaces" in links
    assert "/tokens" in links
    assert not set(ADMIN_NAV) & set(links)
    assert 'id="create-workspace-form"' not in page.text
    assert "not a member of any workspace" in page.text

    for path in ADMIN_NAV:
        denied = console.get(path)
        assert denied.status_code == 403, path
        assert "<h1>Not allowed</h1>" in denied.text
        assert "needs one of the tenant roles" in denied.text


def test_member_controls_follow_the_matrix(hangar: Hangar) -> None:
    bob, _ = hangar.user_api("bob")
    carol, _ = hangar.user_api("carol")
    ws = hangar.create_workspace("research")
    hangar.add_member(ws["id"], bob["id"], "developer", "operator")
    hangar.add_member(ws["id"], carol["id"], "admin")

    developer = logged_in(hangar, "bob", USER_PASSWORD).get(f"/workspaces/{ws['id']}")
    assert developer.status_code == 200
    assert "carol" in developer.text
    for control in ('id="add-member-form"', "hx-put=", "hx-delete="):
        assert control not in developer.text

    ws_admin = logged_in(hangar, "carol", USER_PASSWORD).get(f"/workspaces/{ws['id']}")
    for control in ('id="add-member-form"', f'id="roles-{bob["id"]}-form"', "hx-delete="):
        assert control in ws_admin.text
    # The tenant admin is an implicit member: marked, and offered no removal.
    assert "implicit: tenant admin" in ws_admin.text
    admin_id = hangar.admin.call("GET", "/api/v1/auth/me")["id"]
    admin_row = ws_admin.text.split(f'<tr id="member-{admin_id}">', 1)[1]
    assert "hx-delete" not in admin_row.split("</tr>", 1)[0]


def test_a_workspace_of_another_tenant_is_a_404_page(hangar: Hangar) -> None:
    hangar.admin.call(
        "POST", "/api/v1/tenants", 201,
        json={"name": "other", "owner_username": "otto", "owner_password": USER_PASSWORD},
    )  # fmt: skip
    foreign = hangar.login("otto").call("GET", "/api/v1/workspaces")[0]
    console = logged_in(hangar, "admin", ADMIN_PASSWORD)

    page = console.get(f"/workspaces/{foreign['id']}")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.text
    assert f"workspace &#39;{foreign['id']}&#39; not found" in page.text
    assert console.get("/no/such/page").status_code == 404

    fragment = console.htmx(
        "POST", f"/workspaces/{foreign['id']}/members", {"user_id": "x", "roles": ["developer"]}
    )
    assert fragment.status_code == 404
    assert fragment.headers["hx-retarget"] == "#flash"
    assert "<html" not in fragment.text


def test_the_workspace_switcher_enters_a_workspace(hangar: Hangar) -> None:
    ws = hangar.create_workspace("vision")
    console = logged_in(hangar, "admin", ADMIN_PASSWORD)
    plain = console.get(f"/workspaces/enter?workspace_id={ws['id']}")
    assert (plain.status_code, plain.headers["location"]) == (303, f"/workspaces/{ws['id']}")
    htmx = console.htmx("GET", f"/workspaces/enter?workspace_id={ws['id']}")
    assert htmx.headers["hx-redirect"] == f"/workspaces/{ws['id']}"
    # The choice is remembered for this login: other pages show it as current.
    assert f'<option value="{ws["id"]}" selected>' in console.get("/tokens").text
    assert console.get("/workspaces/enter?workspace_id=nope").status_code == 404


def test_logout_ends_the_session(hangar: Hangar) -> None:
    console = logged_in(hangar, "admin", ADMIN_PASSWORD)
    cookie = console.client.cookies["hangar_session"]
    assert console.htmx("POST", "/logout", csrf=False).status_code == 403

    response = console.htmx("POST", "/logout")
    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/login"
    assert "hangar_session" not in console.client.cookies
    # The server forgot the session: the old cookie no longer opens pages.
    console.client.cookies.set("hangar_session", cookie)
    again = console.get("/workspaces")
    assert (again.status_code, again.headers["location"]) == (303, "/login?next=/workspaces")


def test_static_files_are_served(hangar: Hangar) -> None:
    css = hangar.client.get("/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_csp_forbids_inline_code_and_pages_contain_none(hangar: Hangar) -> None:
    console = logged_in(hangar, "admin", ADMIN_PASSWORD)
    default = hangar.default_workspace()
    for path in ("/login", *PAGES, f"/workspaces/{default['id']}", "/nope"):
        page = console.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "style-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert_no_inline_code(page.text, path)
    for template in TEMPLATES.rglob("*.html"):
        assert_no_inline_code(template.read_text(), str(template))


def assert_no_inline_code(text: str, where: str) -> None:
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", text, re.S):
        assert "src=" in attrs and not body.strip(), f"{where}: inline <script>"
    assert not re.search(r"<style", text, re.I), f"{where}: <style> element"
    assert not re.search(r"\sstyle\s*=", text, re.I), f"{where}: style= attribute"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), f"{where}: inline event handler"
    assert not re.search(r"\shx-on", text), f"{where}: hx-on needs eval"
    assert "javascript:" not in text, f"{where}: javascript: URL"


def test_htmx_is_configured_for_the_csp(hangar: Hangar) -> None:
    page = Console(hangar).get("/login").text
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)
    assert config is not None
    assert '"includeIndicatorStyles": false' in config.group(1)
    assert '"allowEval": false' in config.group(1)
    assert '{"code": "4..", "error": false, "swap": true}' in config.group(1)


def test_pages_load_without_htmx_and_the_server_says_why(
    hangar: Hangar, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(web_assets, "HTMX_FILE", Path("/nonexistent/htmx.min.js"))
    with caplog.at_level(logging.WARNING, logger="hangar.web"):
        create_app(hangar.settings, hangar.state)
    assert "run scripts/web-assets.sh" in caplog.text

    page = Console(hangar).get("/login")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "scripts/web-assets.sh" in page.text
