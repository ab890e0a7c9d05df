"""Matrix rows 1-6 on the real workspace endpoints, and the workspace rules around them.

Rows: 1 add members, 2 list members, 3 edit a member's roles, 4 remove a member, 5/6 the
workspace's configuration (here: PATCH and DELETE of the workspace). Allowed answers 2xx;
denied answers 403 ``permission_denied`` with a message naming the action.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import Api, Hangar, assert_error, sqlite_hangar

_names = itertools.count()


@dataclass
class Setup:
    hangar: Hangar
    ws_id: str
    apis: dict[str, Api]
    ids: dict[str, str]

    def fresh_workspace(self) -> str:
        """A workspace of its own for a test that changes it, with the three roles in it."""
        ws = self.hangar.create_workspace(f"Rows{next(_names)}")
        for role in ("admin", "developer", "operator"):
            self.hangar.add_member(ws["id"], self.ids[role], role)
        return str(ws["id"])

    def spare_user(self) -> str:
        return str(self.hangar.create_user(f"spare{next(_names)}")["id"])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with sqlite_hangar(tmp_path_factory.mktemp("rows")) as h:
        ws = h.create_workspace("RowsWs")
        apis: dict[str, Api] = {}
        ids: dict[str, str] = {}
        for role in ("admin", "developer", "operator"):
            user, apis[role] = h.user_api(f"r_{role}")
            ids[role] = user["id"]
            h.add_member(ws["id"], user["id"], role)
        user, apis["second"] = h.user_api("r_second")
        ids["second"] = user["id"]
        group = h.admin.call(
            "POST", "/api/v1/groups", 201,
            json={"name": "second level", "policy": "second_level_admin"},
        )  # fmt: skip
        h.admin.call(
            "POST", f"/api/v1/groups/{group['id']}/members", json={"user_ids": [user["id"]]}
        )
        user, apis["t_admin"] = h.user_api("r_tadmin", groups=("admin",))
        ids["t_admin"] = user["id"]
        ids["owner"] = h.admin.call("GET", "/api/v1/auth/me")["id"]
        apis["owner"] = h.admin
        yield Setup(h, ws["id"], apis, ids)


ROLES = ["admin", "developer", "operator"]


def _denied(response: Any, label: str, role: str) -> None:
    body = assert_error(response, 403, "permission_denied")
    assert label in body["message"], body
    assert role in body["message"], body  # names the role(s) held


@pytest.mark.parametrize("role", ROLES)
def test_row01_add_member(setup: Setup, role: str) -> None:
    ws = setup.fresh_workspace()
    newcomer = setup.spare_user()
    response = setup.apis[role].post(
        f"/api/v1/workspaces/{ws}/members", json={"user_id": newcomer, "roles": ["developer"]}
    )
    members = {
        m["user_id"] for m in setup.hangar.admin.call("GET", f"/api/v1/workspaces/{ws}/members")
    }
    if role == "admin":
        assert response.status_code == 201, response.text
        assert response.json()["roles"] == ["developer"]
        assert newcomer in members
    else:
        _denied(response, "Workspace users – add", role)
        assert newcomer not in members


@pytest.mark.parametrize("role", ROLES)
def test_row02_list_members(setup: Setup, role: str) -> None:
    members = setup.apis[role].call("GET", f"/api/v1/workspaces/{setup.ws_id}/members")
    by_id = {m["user_id"]: m for m in members}
    assert by_id[setup.ids[role]]["roles"] == [role]
    # Tenant admins are listed as implicit admins (W7).
    assert by_id[setup.ids["owner"]]["implicit"] is True
    t_admin = by_id[setup.ids["t_admin"]]
    assert (t_admin["roles"], t_admin["implicit"]) == (["admin"], True)
    assert by_id[setup.ids["developer"]]["implicit"] is False


@pytest.mark.parametrize("role", ROLES)
def test_row03_edit_member(setup: Setup, role: str) -> None:
    ws = setup.fresh_workspace()
    target = setup.spare_user()
    setup.hangar.add_member(ws, target, "developer")
    response = setup.apis[role].put(
        f"/api/v1/workspaces/{ws}/members/{target}", json={"roles": ["operator", "developer"]}
    )
    members = setup.hangar.admin.call("GET", f"/api/v1/workspaces/{ws}/members")
    held = next(m["roles"] for m in members if m["user_id"] == target)
    if role == "admin":
        assert response.status_code == 200, response.text
        assert held == ["developer", "operator"]
    else:
        _denied(response, "Workspace users – edit", role)
        assert held == ["developer"]


@pytest.mark.parametrize("role", ROLES)
def test_row04_remove_member(setup: Setup, role: str) -> None:
    ws = setup.fresh_workspace()
    target = setup.spare_user()
    setup.hangar.add_member(ws, target, "operator")
    response = setup.apis[role].delete(f"/api/v1/workspaces/{ws}/members/{target}")
    members = {
        m["user_id"] for m in setup.hangar.admin.call("GET", f"/api/v1/workspaces/{ws}/members")
    }
    if role == "admin":
        assert response.status_code == 204, response.text
        assert target not in members
    else:
        _denied(response, "Workspace users – delete", role)
        assert target in members


@pytest.mark.parametrize("role", ROLES)
def test_row05_06_edit_workspace(setup: Setup, role: str) -> None:
    ws = setup.fresh_workspace()
    response = setup.apis[role].patch(
        f"/api/v1/workspaces/{ws}", json={"description": f"by {role}", "tags": {"team": "a"}}
    )
    after = setup.hangar.admin.call("GET", f"/api/v1/workspaces/{ws}")
    if role == "admin":
        assert response.status_code == 200, response.text
        assert after["description"] == "by admin" and after["tags"] == {"team": "a"}
    else:
        _denied(response, "Workspace configuration – button", role)
        assert after["description"] == ""


@pytest.mark.parametrize("role", ROLES)
def test_row05_06_delete_workspace(setup: Setup, role: str) -> None:
    ws = setup.fresh_workspace()
    response = setup.apis[role].delete(f"/api/v1/workspaces/{ws}")
    listed = {w["id"] for w in setup.hangar.admin.call("GET", "/api/v1/workspaces")}
    if role == "admin":
        assert response.status_code == 204, response.text
        assert ws not in listed
        assert_error(setup.hangar.admin.get(f"/api/v1/workspaces/{ws}"), 404, "not_found")
    else:
        _denied(response, "Workspace configuration – button", role)
        assert ws in listed


def test_member_of_one_workspace_cannot_manage_another(setup: Setup) -> None:
    """A workspace admin is admin of their workspace only: elsewhere the workspace is 404."""
    other = setup.hangar.create_workspace(f"Else{next(_names)}")
    response = setup.apis["admin"].post(
        f"/api/v1/workspaces/{other['id']}/members",
        json={"user_id": setup.spare_user(), "roles": ["developer"]},
    )
    assert_error(response, 404, "not_found")


# --- W7: tenant admins are implicit and irremovable ----------------------------------------
@pytest.mark.parametrize("remover", ["owner", "admin"])
@pytest.mark.parametrize("removed", ["owner", "t_admin"])
def test_tenant_admins_cannot_be_removed_from_a_workspace(
    setup: Setup, remover: str, removed: str
) -> None:
    ws = setup.fresh_workspace()
    response = setup.apis[remover].delete(f"/api/v1/workspaces/{ws}/members/{setup.ids[removed]}")
    body = assert_error(response, 409, "conflict")
    assert "'admin'" in body["message"] and "group" in body["message"]
    members = setup.hangar.admin.call("GET", f"/api/v1/workspaces/{ws}/members")
    assert setup.ids[removed] in {m["user_id"] for m in members if m["implicit"]}


def test_tenant_admin_enters_every_workspace_without_a_role(setup: Setup) -> None:
    ws = setup.fresh_workspace()
    got = setup.apis["t_admin"].call("GET", f"/api/v1/workspaces/{ws}")
    assert got["my_roles"] == ["admin"]
    listed = {w["id"] for w in setup.apis["t_admin"].call("GET", "/api/v1/workspaces")}
    assert ws in listed


def test_removing_from_the_admin_group_removes_implicit_membership(setup: Setup) -> None:
    h = setup.hangar
    user, api = h.user_api(f"leaver{next(_names)}", groups=("admin",))
    ws = setup.fresh_workspace()
    assert api.call("GET", f"/api/v1/workspaces/{ws}")["my_roles"] == ["admin"]
    group = h.group("admin")
    h.admin.call("DELETE", f"/api/v1/groups/{group['id']}/members/{user['id']}", 204)
    assert_error(api.get(f"/api/v1/workspaces/{ws}"), 404, "not_found")  # T5: revoked at once
    members = h.admin.call("GET", f"/api/v1/workspaces/{ws}/members")
    assert user["id"] not in {m["user_id"] for m in members}


# --- who may create workspaces, and the creator's role --------------------------------------
def test_second_level_admin_creates_a_workspace_and_becomes_its_admin(setup: Setup) -> None:
    api = setup.apis["second"]
    ws = setup.hangar.create_workspace(f"Second{next(_names)}", api)
    assert ws["my_roles"] == ["admin"]
    assert ws["created_by"] == setup.ids["second"]
    members = api.call("GET", f"/api/v1/workspaces/{ws['id']}/members")
    mine = next(m for m in members if m["user_id"] == setup.ids["second"])
    assert mine["roles"] == ["admin"] and mine["implicit"] is False
    # ... and administers it: row 1 on the real endpoint.
    api.call(
        "POST", f"/api/v1/workspaces/{ws['id']}/members", 201,
        json={"user_id": setup.ids["developer"], "roles": ["developer"]},
    )  # fmt: skip
    # They see only the workspaces they created or belong to (spec 01 §6.5).
    listed = {w["id"] for w in api.call("GET", "/api/v1/workspaces")}
    assert ws["id"] in listed and setup.ws_id not in listed


@pytest.mark.parametrize("role", ["developer", "operator", "admin"])
def test_regular_users_cannot_create_workspaces(setup: Setup, role: str) -> None:
    """Even a workspace admin is a regular user at tenant level (W3, decision A2)."""
    name = f"Nope{next(_names)}"
    response = setup.apis[role].post("/api/v1/workspaces", json={"name": name})
    body = assert_error(response, 403, "permission_denied")
    assert "Create workspaces" in body["message"]
    names = {w["name"] for w in setup.hangar.admin.call("GET", "/api/v1/workspaces")}
    assert name not in names


def test_tenant_admin_creator_is_an_implicit_admin(setup: Setup) -> None:
    ws = setup.hangar.create_workspace(f"ByAdmin{next(_names)}", setup.apis["t_admin"])
    assert ws["created_by"] == setup.ids["t_admin"]
    members = setup.hangar.admin.call("GET", f"/api/v1/workspaces/{ws['id']}/members")
    mine = next(m for m in members if m["user_id"] == setup.ids["t_admin"])
    assert mine["roles"] == ["admin"] and mine["implicit"] is True


# --- the default workspace (W2) ---------------------------------------------------------------
def test_default_workspace_cannot_be_renamed_or_deleted(setup: Setup) -> None:
    h = setup.hangar
    default = h.default_workspace()
    body = assert_error(
        h.admin.patch(f"/api/v1/workspaces/{default['id']}", json={"name": "Other"}), 409
    )
    assert "default workspace" in body["message"]
    body = assert_error(h.admin.delete(f"/api/v1/workspaces/{default['id']}"), 409)
    assert "default workspace" in body["message"]
    after = h.admin.call("GET", f"/api/v1/workspaces/{default['id']}")
    assert after["name"] == "default" and after["is_default"] is True
    # Its description may still be edited.
    h.admin.call("PATCH", f"/api/v1/workspaces/{default['id']}", json={"description": "main"})


def test_adding_an_existing_member_is_a_conflict(setup: Setup) -> None:
    ws = setup.fresh_workspace()
    response = setup.hangar.admin.post(
        f"/api/v1/workspaces/{ws}/members",
        json={"user_id": setup.ids["developer"], "roles": ["operator"]},
    )
    body = assert_error(response, 409, "already_exists")
    assert "already a member" in body["message"]


def test_editing_or_removing_a_non_member_is_404(setup: Setup) -> None:
    ws = setup.fresh_workspace()
    stranger = setup.spare_user()
    assert_error(
        setup.hangar.admin.put(
            f"/api/v1/workspaces/{ws}/members/{stranger}", json={"roles": ["developer"]}
        ),
        404,
        "not_found",
    )
    assert_error(
        setup.hangar.admin.delete(f"/api/v1/workspaces/{ws}/members/{stranger}"), 404, "not_found"
    )
