"""Quota ↔ workspace associations: W4 (default workspace: queues only), A3, A4."""

from __future__ import annotations

from hangar.audit.orm import AuditRecord
from tests.resources.conftest import Setup
from tests.support import assert_error, create_tenant

Q = "/api/v1/quotas"


def test_default_workspace_cannot_hold_a_quota(setup: Setup) -> None:
    s = setup
    default = s.h.default_workspace()
    body = assert_error(s.admin.post(Q, json=s.quota_body("q", workspace_ids=[default["id"]])), 422)
    assert "default workspace" in body["message"] and "(W4)" in body["message"]
    q = s.quota("q")
    body = assert_error(
        s.admin.post(f"{Q}/{q['id']}/workspaces", json={"workspace_id": default["id"]}), 422
    )
    assert "can use queues only" in body["fields"]["workspace_id"]


def test_associate_and_dissociate(setup: Setup) -> None:
    s = setup
    q = s.quota("q")
    ws2 = s.h.create_workspace("TeamB")
    done = s.admin.call("POST", f"{Q}/{q['id']}/workspaces", json={"workspace_id": ws2["id"]})
    assert [w["name"] for w in done["workspaces"]] == ["TeamB"]
    body = assert_error(
        s.admin.post(f"{Q}/{q['id']}/workspaces", json={"workspace_id": ws2["id"]}), 409
    )
    assert "already associated" in body["message"]
    s.admin.call("POST", f"{Q}/{q['id']}/workspaces", json={"workspace_id": s.workspace["id"]})
    # A workspace may hold several quotas (W4).
    other = s.quota("q2", weight=2, workspace_ids=[ws2["id"]])
    assert {x["id"] for x in s.admin.call("GET", f"{Q}?workspace={ws2['id']}")} == {
        q["id"],
        other["id"],
    }
    s.admin.call("DELETE", f"{Q}/{q['id']}/workspaces/{ws2['id']}", 204)
    assert [w["name"] for w in s.admin.call("GET", f"{Q}/{q['id']}")["workspaces"]] == ["TeamA"]
    assert_error(s.admin.delete(f"{Q}/{q['id']}/workspaces/{ws2['id']}"), 404)
    with s.h.state.sessions() as session:
        actions = [
            r.action
            for r in session.query(AuditRecord).filter(AuditRecord.target_id == q["id"]).all()
        ]
    assert "quota.workspaces.add" in actions and "quota.workspaces.remove" in actions


def test_dissociation_refused_while_that_workspace_has_unfinished_work(setup: Setup) -> None:
    """A4: only the workspace's own running or queued workloads block its removal."""
    s = setup
    ws2 = s.h.create_workspace("TeamB")
    q = s.quota("q", instance_count=4, workspace_ids=[s.workspace["id"], ws2["id"]])
    s.workload(state="RUNNING", quota_id=q["id"], workspace_id=s.workspace["id"])
    s.workload(state="QUEUED", quota_id=q["id"], workspace_id=s.workspace["id"])
    s.workload(state="FAILED", quota_id=q["id"], workspace_id=ws2["id"])
    body = assert_error(s.admin.delete(f"{Q}/{q['id']}/workspaces/{s.workspace['id']}"), 409)
    assert "1 running and 1 queued" in body["message"] and "(A4)" in body["message"]
    assert "wait" in body["message"] and "migrate" in body["message"]
    s.admin.call("DELETE", f"{Q}/{q['id']}/workspaces/{ws2['id']}", 204)


def test_who_may_associate(setup: Setup) -> None:
    s = setup
    alice, alice_api = s.h.user_api("alice")
    q = s.quota("q", admin_ids=[alice["id"]])
    ws2 = s.h.create_workspace("TeamB")
    # A quota admin who does not administer the workspace may not (A3).
    body = assert_error(
        alice_api.post(f"{Q}/{q['id']}/workspaces", json={"workspace_id": ws2["id"]}), 403
    )
    assert "(A3)" in body["message"]
    s.h.add_member(ws2["id"], alice["id"], "admin")
    alice_api.call("POST", f"{Q}/{q['id']}/workspaces", json={"workspace_id": ws2["id"]})
    alice_api.call("DELETE", f"{Q}/{q['id']}/workspaces/{ws2['id']}", 204)
    # A workspace admin who is not a quota admin may not either.
    bob, bob_api = s.h.user_api("bob")
    s.h.add_member(ws2["id"], bob["id"], "admin")
    assert_error(bob_api.post(f"{Q}/{q['id']}/workspaces", json={"workspace_id": ws2["id"]}), 404)


def test_foreign_and_unknown_workspaces_are_404(setup: Setup) -> None:
    s = setup
    q = s.quota("q")
    other = create_tenant(s.h, "other-co", "other-owner")
    theirs = other.call("POST", "/api/v1/workspaces", 201, json={"name": "Theirs"})
    for ws_id in (theirs["id"], "nosuchws"):
        body = assert_error(
            s.admin.post(f"{Q}/{q['id']}/workspaces", json={"workspace_id": ws_id}), 404
        )
        assert body["fields"] == {"workspace_id": "unknown workspace"}
