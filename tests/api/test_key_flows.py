"""The flows that matter most, through the app, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import func, select

from hangar.audit.orm import AuditRecord
from hangar.tenancy.orm import LoginFailure, WorkspaceRole
from tests.support import USER_PASSWORD, Api, Hangar, assert_error, console_login, create_tenant


def test_workspace_and_members(hangar_any: Hangar) -> None:
    h = hangar_any
    user, dev = h.user_api("flow-dev")
    ws = h.create_workspace("FlowWs")
    assert_error(h.admin.post("/api/v1/workspaces", json={"name": "FlowWs"}), 409, "already_exists")
    h.add_member(ws["id"], user["id"], "developer", "operator")
    assert_error(
        h.admin.post(
            f"/api/v1/workspaces/{ws['id']}/members",
            json={"user_id": user["id"], "roles": ["admin"]},
        ),
        409,
        "already_exists",
    )
    mine = dev.call("GET", f"/api/v1/workspaces/{ws['id']}")
    assert mine["my_roles"] == ["developer", "operator"] and mine["member_count"] == 2
    assert_error(
        dev.post(
            f"/api/v1/workspaces/{ws['id']}/members",
            json={"user_id": user["id"], "roles": ["admin"]},
        ),
        403,
    )
    h.admin.call(
        "PUT", f"/api/v1/workspaces/{ws['id']}/members/{user['id']}", json={"roles": ["admin"]}
    )
    dev.call("PATCH", f"/api/v1/workspaces/{ws['id']}", json={"description": "now mine"})
    h.admin.call("DELETE", f"/api/v1/workspaces/{ws['id']}", 204)
    assert_error(dev.get(f"/api/v1/workspaces/{ws['id']}"), 404, "not_found")
    with h.state.sessions() as session:  # the roles went with the workspace
        left = (
            select(func.count())
            .select_from(WorkspaceRole)
            .where(WorkspaceRole.workspace_id == ws["id"])
        )
        assert session.scalar(left) == 0


def test_deleting_a_user_removes_their_access(hangar_any: Hangar) -> None:
    h = hangar_any
    user, api = h.user_api("flow-gone", groups=("admin",))
    ws = h.create_workspace("GoneWs", api)
    h.admin.call("DELETE", f"/api/v1/users/{user['id']}", 204)
    assert_error(api.get("/api/v1/auth/me"), 401, "not_authenticated")
    assert h.admin.call("GET", f"/api/v1/workspaces/{ws['id']}")["created_by"] is None
    assert user["id"] not in h.group("admin")["member_ids"]
    assert_error(h.admin.get(f"/api/v1/users/{user['id']}"), 404, "not_found")


def test_duplicate_username_and_tenant_isolation(hangar_any: Hangar) -> None:
    h = hangar_any
    h.create_user("dup-user")
    assert_error(
        h.admin.post("/api/v1/users", json={"username": "dup-user", "password": USER_PASSWORD}),
        409,
        "already_exists",
    )
    other = create_tenant(h, "second", "second-owner")
    theirs = other.call("POST", "/api/v1/workspaces", 201, json={"name": "FlowWs"})
    assert_error(h.admin.get(f"/api/v1/workspaces/{theirs['id']}"), 404, "not_found")
    their_tenant = other.call("GET", "/api/v1/auth/me")["tenant_id"]
    assert {r["tenant_id"] for r in other.call("GET", "/api/v1/audit")["items"]} == {their_tenant}


def test_login_failures_count_and_sessions_work(hangar_any: Hangar) -> None:
    h = hangar_any
    h.create_user("flow-login")
    response = h.client.post(
        "/api/v1/auth/login", json={"username": "flow-login", "password": "wrong-pass"}
    )
    assert_error(response, 401, "not_authenticated")
    with h.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1
    client, csrf = console_login(h, "flow-login")
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "c"}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 201
    )
    assert_error(client.post("/api/v1/tokens", json={"name": "c"}), 403, "permission_denied")


def test_every_mutation_is_audited_once(hangar_any: Hangar) -> None:
    h = hangar_any
    h.admin  # noqa: B018 - log in first; the login is a mutation too

    def count() -> int:
        with h.state.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)

    before = count()
    h.create_workspace("Audited")
    assert_error(h.admin.post("/api/v1/workspaces", json={"name": "Audited"}), 409)
    assert_error(h.admin.post("/api/v1/workspaces", json={"name": "1x"}), 422)
    assert count() == before + 3
    results = [
        r["result"]
        for r in h.admin.call("GET", "/api/v1/audit", params={"action": "workspace.create"})[
            "items"
        ]
    ]
    assert results == ["failed", "failed", "success"]


def _race(api: Api, name: str, n: int) -> list[httpx.Response]:
    """Send ``n`` identical creates at once; return the answers."""
    barrier = threading.Barrier(n)
    answers: list[httpx.Response] = []

    def create() -> None:
        barrier.wait()
        answers.append(api.post("/api/v1/workspaces", json={"name": name}))

    threads = [threading.Thread(target=create) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_racing_duplicates_are_409_not_500(hangar_any: Hangar) -> None:
    """On PostgreSQL requests run in parallel: two may pass the name check together, and the
    database's unique constraint decides. The loser must get a 409 like any duplicate."""
    for round_ in range(3):
        answers = _race(hangar_any.admin, f"Race{round_}", 6)
        assert sorted(r.status_code for r in answers) == [201] + [409] * 5
        for r in answers:
            if r.status_code == 409:
                assert_error(r, 409, "already_exists")
