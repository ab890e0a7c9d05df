"""Console mutations: htmx requests, CSRF, fragments with field messages, audit actions."""

from __future__ import annotations

from typing import Any

from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in


def audit_actions(hangar: Hangar, action: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = hangar.admin.call("GET", f"/api/v1/audit?action={action}")[
        "items"
    ]
    return items


def admin_console(hangar: Hangar) -> Console:
    return logged_in(hangar, "admin", ADMIN_PASSWORD)


def test_htmx_posts_need_the_csrf_token(hangar: Hangar) -> None:
    console = admin_console(hangar)
    refused = console.htmx("POST", "/workspaces", {"name": "lab"}, csrf=False)
    assert refused.status_code == 403
    assert "CSRF token" in refused.text
    # A plain form post (what a forged cross-site form would send) is refused too.
    forged = console.client.post("/workspaces", data={"name": "lab"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "<h1>Not allowed</h1>" in forged.text

    created = console.htmx("POST", "/workspaces", {"name": "lab"}, form="create-workspace-form")
    assert created.status_code == 200
    assert '<section id="workspaces"' in created.text
    assert "Created workspace &#39;lab&#39;." in created.text
    assert [w["name"] for w in hangar.admin.call("GET", "/api/v1/workspaces")] == [
        "default",
        "lab",
    ]
    # The console's audit records read like the API's.
    results = [r["result"] for r in audit_actions(hangar, "workspace.create")]
    assert sorted(results) == ["denied", "denied", "success"]


def test_bad_workspace_input_shows_the_field_message_in_the_form(hangar: Hangar) -> None:
    console = admin_console(hangar)
    bad = console.htmx("POST", "/workspaces", {"name": "9bad"}, form="create-workspace-form")
    assert bad.status_code == 422
    assert bad.headers["hx-retarget"] == "#create-workspace-form-errors"
    assert bad.headers["hx-reswap"] == "innerHTML"
    assert "name: must start with a letter" in bad.text
    assert "<html" not in bad.text

    console.htmx("POST", "/workspaces", {"name": "dup"}, form="create-workspace-form")
    dup = console.htmx("POST", "/workspaces", {"name": "dup"}, form="create-workspace-form")
    assert dup.status_code == 409
    assert "a workspace named &#39;dup&#39; already exists" in dup.text
    assert "<code>name</code> already exists" in dup.text

    # Errors from buttons, which are not forms, go to the page's flash area.
    unknown = console.htmx("POST", "/workspaces", {"name": "9bad"})
    assert unknown.headers["hx-retarget"] == "#flash"


def test_members_are_added_changed_and_removed(hangar: Hangar) -> None:
    bob, _ = hangar.user_api("bob")
    ws = hangar.create_workspace("team_a")
    console = admin_console(hangar)
    members = f"/workspaces/{ws['id']}/members"

    no_roles = console.htmx("POST", members, {"user_id": bob["id"]}, form="add-member-form")
    assert no_roles.status_code == 422
    assert "roles: at least one role is required" in no_roles.text
    bad_role = console.htmx("POST", members, {"user_id": bob["id"], "roles": ["boss"]})
    assert "&#39;boss&#39; is not a workspace role" in bad_role.text

    added = console.htmx("POST", members, {"user_id": bob["id"], "roles": ["developer"]})
    assert added.status_code == 200, added.text
    assert "Added &#39;bob&#39; as developer." in added.text
    assert f'id="roles-{bob["id"]}-form"' in added.text
    again = console.htmx("POST", members, {"user_id": bob["id"], "roles": ["developer"]})
    assert again.status_code == 409
    assert "already a member" in again.text

    changed = console.htmx("PUT", f"{members}/{bob['id']}", {"roles": ["developer", "operator"]})
    assert changed.status_code == 200
    assert "now holds: developer, operator" in changed.text
    roles = {m["username"]: m["roles"] for m in hangar.admin.call("GET", f"/api/v1{members}")}
    assert roles["bob"] == ["developer", "operator"]

    admin_id = hangar.admin.call("GET", "/api/v1/auth/me")["id"]
    implicit = console.htmx("DELETE", f"{members}/{admin_id}")
    assert implicit.status_code == 409
    assert "remove them from the &#39;admin&#39; user group" in implicit.text

    removed = console.htmx("DELETE", f"{members}/{bob['id']}")
    assert removed.status_code == 200
    assert "Removed &#39;bob&#39;" in removed.text
    assert "bob" not in {m["username"] for m in hangar.admin.call("GET", f"/api/v1{members}")}
    for action in ("workspace.members.add", "workspace.members.update"):
        assert any(r["result"] == "success" for r in audit_actions(hangar, action)), action
    removals = audit_actions(hangar, "workspace.members.remove")
    assert {r["result"] for r in removals} == {"success", "failed"}
    assert all(r["workspace_id"] == ws["id"] for r in removals)


def test_a_developer_cannot_add_members(hangar: Hangar) -> None:
    bob, _ = hangar.user_api("bob")
    carol = hangar.create_user("carol")
    ws = hangar.create_workspace("team_b")
    hangar.add_member(ws["id"], bob["id"], "developer")
    console = logged_in(hangar, "bob", USER_PASSWORD)
    console.get(f"/workspaces/{ws['id']}")
    denied = console.htmx(
        "POST", f"/workspaces/{ws['id']}/members", {"user_id": carol["id"], "roles": ["admin"]}
    )
    assert denied.status_code == 403
    assert "is not allowed for your workspace role(s) (developer)" in denied.text


def test_users_are_created_disabled_and_enabled(hangar: Hangar) -> None:
    console = admin_console(hangar)
    short = console.htmx(
        "POST", "/users", {"username": "eve", "password": "short"}, form="create-user-form"
    )
    assert short.status_code == 422
    assert "password: must be at least 8 characters" in short.text

    created = console.htmx("POST", "/users", {"username": "eve", "password": USER_PASSWORD})
    assert created.status_code == 200
    assert "Created sub-account &#39;eve&#39;" in created.text
    taken = console.htmx("POST", "/users", {"username": "eve", "password": USER_PASSWORD})
    assert "username &#39;eve&#39; is already taken" in taken.text

    eve_console = logged_in(hangar, "eve", USER_PASSWORD)
    eve = next(u for u in hangar.admin.call("GET", "/api/v1/users") if u["username"] == "eve")
    disabled = console.htmx("POST", f"/users/{eve['id']}/disable")
    assert disabled.status_code == 200
    assert "Disabled &#39;eve&#39;" in disabled.text
    # Disabling ends the user's sessions at once.
    assert eve_console.get("/workspaces").status_code == 303

    own_id = hangar.admin.call("GET", "/api/v1/auth/me")["id"]
    self_disable = console.htmx("POST", f"/users/{own_id}/disable")
    assert self_disable.status_code == 409
    enabled = console.htmx("POST", f"/users/{eve['id']}/enable")
    assert "Enabled &#39;eve&#39;." in enabled.text
    assert Console(hangar).login("eve", USER_PASSWORD).status_code == 303


def test_groups_show_the_quota_and_are_created(hangar: Hangar) -> None:
    console = admin_console(hangar)
    page = console.get("/groups")
    assert "<strong>0 of 20</strong>" in page.text
    assert "admin" in page.text

    bad = console.htmx("POST", "/groups", {"name": "-x"}, form="create-group-form")
    assert bad.status_code == 422
    assert bad.headers["hx-retarget"] == "#create-group-form-errors"
    assert "name: may contain letters" in bad.text

    created = console.htmx("POST", "/groups", {"name": "second line", "second_level_admin": "true"})
    assert created.status_code == 200
    assert "<strong>1 of 20</strong>" in created.text
    group = hangar.group("second line")
    assert group["policy"] == "second_level_admin"


def test_a_token_secret_is_shown_once_and_can_be_revoked(hangar: Hangar) -> None:
    console = admin_console(hangar)
    bad = console.htmx(
        "POST", "/tokens", {"name": "ci", "scopes": "root"}, form="create-token-form"
    )
    assert bad.status_code == 422
    assert "&#39;root&#39; is not a scope" in bad.text
    not_a_number = console.htmx("POST", "/tokens", {"name": "ci", "expires_in_days": "soon"})
    assert "expires_in_days: Input should be a valid integer" in not_a_number.text
    forever = console.htmx("POST", "/tokens", {"name": "forever", "expires_in_days": ""})
    assert forever.status_code == 200
    assert "never" in forever.text

    created = console.htmx(
        "POST", "/tokens", {"name": "ci", "scopes": "workspace:read", "expires_in_days": "7"}
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    secret = created.text.split('<code class="secret-value">', 1)[1].split("</code>", 1)[0]
    assert secret.startswith("hgr_")
    me = hangar.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["scopes"] == ["workspace:read"]
    assert secret not in console.get("/tokens").text

    token = next(t for t in hangar.admin.call("GET", "/api/v1/tokens") if t["name"] == "ci")
    assert token["expires_at"] is not None
    revoked = console.htmx("DELETE", f"/tokens/{token['id']}")
    assert revoked.status_code == 200
    assert "Revoked token &#39;ci&#39;." in revoked.text
    refused = hangar.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


def test_the_audit_page_filters_pages_and_links_the_export(hangar: Hangar) -> None:
    console = admin_console(hangar)
    for name in ("alpha", "beta"):
        console.htmx("POST", "/workspaces", {"name": name})

    page = console.get("/audit?action=workspace.create&result=success&user=admin")
    assert page.status_code == 200
    assert "2 records." in page.text
    assert page.text.count("<code>workspace.create</code>") == 2
    assert "<code>auth.login</code>" not in page.text
    export = "/api/v1/audit/export.csv?user=admin&amp;action=workspace.create&amp;result=success"
    assert export in page.text
    csv = console.get(export.replace("&amp;", "&"))
    assert csv.status_code == 200
    assert csv.text.count("workspace.create") == 2

    since = console.get("/audit?since=2020-01-01T00:00&until=2999-01-01T00:00&action=auth")
    assert "since=2020-01-01T00%3A00%3A00%2B00%3A00" in since.text
    assert "<code>auth.login</code>" in since.text
    # The export link carries the times as the API wants them: ISO 8601 with the zone.
    link = since.text.split('href="/api/v1/audit/export.csv?', 1)[1].split('"', 1)[0]
    timed = console.get("/api/v1/audit/export.csv?" + link.replace("&amp;", "&"))
    assert timed.status_code == 200, timed.text
    assert "auth.login" in timed.text

    bad = console.get("/audit?since=yesterday&action=auth")
    assert bad.status_code == 422
    assert "since: &#39;yesterday&#39; is not a date and time" in bad.text
    assert 'value="auth"' in bad.text, "the form keeps what was typed"
    backwards = console.get("/audit?since=2030-01-01T00:00&until=2020-01-01T00:00")
    assert "since: must not be after &#39;until&#39;" in backwards.text
    assert "is not a result" in console.get("/audit?result=maybe").text


def test_the_audit_table_is_paged(hangar: Hangar) -> None:
    console = admin_console(hangar)
    for _ in range(51):
        console.htmx("POST", "/workspaces", {"name": "9bad"})
    first = console.get("/audit?result=failed")
    assert "51 records." in first.text
    assert "Page 1 of 2" in first.text
    assert first.text.count("<code>workspace.create</code>") == 50
    assert '<a href="/audit?result=failed&amp;page=2">Older</a>' in first.text
    second = console.get("/audit?result=failed&page=2")
    assert second.text.count("<code>workspace.create</code>") == 1
    assert '<a href="/audit?result=failed&amp;page=1">Newer</a>' in second.text
