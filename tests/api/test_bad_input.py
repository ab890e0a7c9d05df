"""Bad input answers a precise error, in one shape, and writes nothing.

Every error body is exactly ``{"code", "message", "fields"}``; ``assert_error`` checks that.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hangar.db.base import utcnow
from hangar.tenancy.orm import ApiToken, Workspace
from tests.support import (
    Api,
    Hangar,
    assert_error,
    console_login,
    create_tenant,
    sqlite_hangar,
)

BODY_LIMIT = 4096
_n = itertools.count()


@dataclass
class World:
    hangar: Hangar
    other: Api  # main account of a second tenant
    other_ids: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sqlite_hangar(tmp_path_factory.mktemp("bad"), max_body_bytes=BODY_LIMIT) as h:
        other = create_tenant(h, "acme", "acme-owner")
        ws = other.call("POST", "/api/v1/workspaces", 201, json={"name": "AcmeWs"})
        user = other.call(
            "POST",
            "/api/v1/users",
            201,
            json={"username": "acme-user", "password": "user-pass-123"},
        )
        group = other.call("POST", "/api/v1/groups", 201, json={"name": "acme group"})
        token = other.call("POST", "/api/v1/tokens", 201, json={"name": "acme token"})
        ids = {
            "workspace": ws["id"],
            "user": user["id"],
            "group": group["id"],
            "token": token["id"],
        }
        yield World(h, other, ids)


def _workspace_count(h: Hangar) -> int:
    with h.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Workspace)) or 0)


# --- workspace names (spec 01 W3, §6.4) ------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "is required"),
        ("   ", "is required"),
        ("a" * 26, "at most 25 characters"),
        ("A" + "数" * 25, "at most 25 characters"),
        ("1team", "must start with a letter"),
        ("_team", "must start with a letter"),
        ("数据团队", "must start with a letter"),
        ("Équipe", "must start with a letter"),
        ("team-a", "may contain only letters, digits, Chinese characters and '_'"),
        ("team a", "may contain only"),
        ("team.a", "may contain only"),
        ("team/a", "may contain only"),
        ("teamé", "may contain only"),
        ("team😀", "may contain only"),
        ("team=1", "may contain only"),
    ],
    ids=[
        "empty", "blank", "26-chars", "26-with-chinese", "digit-first", "underscore-first",
        "chinese-first", "accented-first", "hyphen", "space", "dot", "slash", "accent", "emoji",
        "equals",
    ],
)  # fmt: skip
def test_workspace_name_rule(world: World, name: str, rule: str) -> None:
    h = world.hangar
    before = _workspace_count(h)
    body = assert_error(h.admin.post("/api/v1/workspaces", json={"name": name}), 422)
    assert body["code"] == "validation_failed"
    assert set(body["fields"]) == {"name"}, body
    assert rule in body["fields"]["name"], body
    assert body["message"].startswith("name: "), body
    assert _workspace_count(h) == before


@pytest.mark.parametrize(
    "name",
    ["a", "Z", "a" * 25, "A" + "数" * 24, "Team_1", "x_数据_2", "AbC123_"],
    ids=[
        "one-letter",
        "upper",
        "25-chars",
        "25-with-chinese",
        "underscore-digit",
        "mixed",
        "trailing",
    ],
)
def test_workspace_name_accepted(world: World, name: str) -> None:
    ws = world.hangar.admin.call("POST", "/api/v1/workspaces", 201, json={"name": name})
    assert ws["name"] == name
    world.hangar.admin.call("DELETE", f"/api/v1/workspaces/{ws['id']}", 204)


def test_workspace_name_rules_apply_to_rename(world: World) -> None:
    h = world.hangar
    ws = h.create_workspace(f"Ren{next(_n)}")
    body = assert_error(
        h.admin.patch(f"/api/v1/workspaces/{ws['id']}", json={"name": "9lives"}), 422
    )
    assert "must start with a letter" in body["fields"]["name"]


def test_workspace_description_is_at_most_300(world: World) -> None:
    h = world.hangar
    body = assert_error(
        h.admin.post(
            "/api/v1/workspaces", json={"name": f"Desc{next(_n)}", "description": "d" * 301}
        ),
        422,
        "validation_failed",
    )
    assert "at most 300" in body["fields"]["description"]
    h.admin.call(
        "POST",
        "/api/v1/workspaces",
        201,
        json={"name": f"Desc{next(_n)}", "description": "d" * 300},
    )


def test_duplicate_workspace_name_is_409(world: World) -> None:
    h = world.hangar
    name = f"Dup{next(_n)}"
    h.create_workspace(name)
    before = _workspace_count(h)
    body = assert_error(
        h.admin.post("/api/v1/workspaces", json={"name": name}), 409, "already_exists"
    )
    assert name in body["message"] and "name" in body["fields"]
    assert _workspace_count(h) == before
    # Unique per tenant only: another tenant may use the same name.
    world.other.call("POST", "/api/v1/workspaces", 201, json={"name": name})
    # Renaming onto a taken name is the same conflict.
    ws = h.create_workspace(f"Dup{next(_n)}")
    assert_error(
        h.admin.patch(f"/api/v1/workspaces/{ws['id']}", json={"name": name}), 409, "already_exists"
    )


def test_duplicate_username_is_409_across_tenants(world: World) -> None:
    h = world.hangar
    h.create_user("twin")
    body = assert_error(
        h.admin.post("/api/v1/users", json={"username": "twin", "password": "user-pass-123"}),
        409,
        "already_exists",
    )
    assert "twin" in body["message"] and "username" in body["fields"]
    # Usernames are global: logins carry no tenant.
    assert_error(
        world.other.post("/api/v1/users", json={"username": "twin", "password": "user-pass-123"}),
        409,
        "already_exists",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "Upper", "password": "user-pass-123"}, "username"),
        ({"username": "1abc", "password": "user-pass-123"}, "username"),
        ({"username": "a", "password": "user-pass-123"}, "username"),
        ({"username": "okname", "password": "short"}, "password"),
    ],
    ids=["uppercase", "digit-first", "too-short", "short-password"],
)
def test_user_rules_name_the_field(world: World, payload: dict[str, str], field: str) -> None:
    body = assert_error(
        world.hangar.admin.post("/api/v1/users", json=payload), 422, "validation_failed"
    )
    assert set(body["fields"]) == {field}


# --- other tenants' objects do not exist ------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/workspaces/{workspace}", None),
        ("PATCH", "/api/v1/workspaces/{workspace}", {"description": "x"}),
        ("DELETE", "/api/v1/workspaces/{workspace}", None),
        ("GET", "/api/v1/workspaces/{workspace}/members", None),
        ("POST", "/api/v1/workspaces/{workspace}/access-review", {"points": ["dataset.view"]}),
        ("GET", "/api/v1/users/{user}", None),
        ("PATCH", "/api/v1/users/{user}", {"display_name": "x"}),
        ("DELETE", "/api/v1/users/{user}", None),
        ("GET", "/api/v1/users/{user}/limits", None),
        ("PATCH", "/api/v1/users/{user}/limits", {"max_gpus": 1}),
        ("GET", "/api/v1/groups/{group}", None),
        ("PATCH", "/api/v1/groups/{group}", {"description": "x"}),
        ("DELETE", "/api/v1/groups/{group}", None),
        ("GET", "/api/v1/tokens/{token}", None),
        ("DELETE", "/api/v1/tokens/{token}", None),
    ],
)
def test_other_tenants_objects_are_404(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    url = path.format(**world.other_ids)
    assert_error(world.hangar.admin.request(method, url, json=body), 404, "not_found")


def test_other_tenants_users_cannot_be_added_anywhere(world: World) -> None:
    h = world.hangar
    ws = h.create_workspace(f"Mix{next(_n)}")
    foreign = world.other_ids["user"]
    response = h.admin.post(
        f"/api/v1/workspaces/{ws['id']}/members", json={"user_id": foreign, "roles": ["developer"]}
    )
    assert_error(response, 404, "not_found")
    admin_group = h.group("admin")
    assert_error(
        h.admin.post(f"/api/v1/groups/{admin_group['id']}/members", json={"user_ids": [foreign]}),
        404,
        "not_found",
    )


def test_other_tenants_objects_are_not_listed(world: World) -> None:
    h = world.hangar
    assert world.other_ids["workspace"] not in {
        w["id"] for w in h.admin.call("GET", "/api/v1/workspaces")
    }
    assert world.other_ids["user"] not in {u["id"] for u in h.admin.call("GET", "/api/v1/users")}
    assert world.other_ids["group"] not in {g["id"] for g in h.admin.call("GET", "/api/v1/groups")}
    tokens = h.admin.call("GET", "/api/v1/tokens", params={"all": "true"})
    assert world.other_ids["token"] not in {t["id"] for t in tokens}


def test_only_the_platform_admin_manages_tenants(world: World) -> None:
    body = assert_error(
        world.other.post(
            "/api/v1/tenants",
            json={"name": "evil", "owner_username": "evil", "owner_password": "user-pass-123"},
        ),
        403,
        "permission_denied",
    )
    assert "platform admin" in body["message"]
    assert_error(world.other.get("/api/v1/tenants"), 403, "permission_denied")


def test_custom_group_cap(world: World) -> None:
    """Decision A1: custom groups are capped per tenant (default 20); the preset one is not counted."""
    api = world.other
    quota = api.call("GET", "/api/v1/groups/quota")
    assert quota["cap"] == 20
    for i in range(quota["remaining"]):
        api.call("POST", "/api/v1/groups", 201, json={"name": f"g{i}"})
    assert api.call("GET", "/api/v1/groups/quota")["remaining"] == 0
    body = assert_error(
        api.post("/api/v1/groups", json={"name": "one too many"}), 409, "limit_exceeded"
    )
    assert "20" in body["message"]
    assert_error(api.post("/api/v1/groups", json={"name": "admin"}), 409)
    preset = next(g for g in api.call("GET", "/api/v1/groups") if g["builtin"])
    assert_error(api.delete(f"/api/v1/groups/{preset['id']}"), 409, "conflict")
    assert_error(
        api.patch(f"/api/v1/groups/{preset['id']}", json={"name": "boss"}), 409, "conflict"
    )


# --- tokens that no longer work --------------------------------------------------------------
def _token(h: Hangar, username: str, **body: Any) -> dict[str, Any]:
    api = h.login(username)
    created: dict[str, Any] = api.call(
        "POST", "/api/v1/tokens", 201, json={"name": f"t{next(_n)}", **body}
    )
    return created


def test_expired_token_is_401(world: World) -> None:
    h = world.hangar
    h.create_user("expiring")
    token = _token(h, "expiring", expires_in_days=1)
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert h.client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    with h.state.sessions() as session, session.begin():
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    body = assert_error(h.client.get("/api/v1/auth/me", headers=bearer), 401, "not_authenticated")
    assert "expired" in body["message"]


def test_revoked_token_is_401(world: World) -> None:
    h = world.hangar
    h.create_user("revoking")
    token = _token(h, "revoking")
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert h.client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    h.admin.call("DELETE", f"/api/v1/tokens/{token['id']}")
    body = assert_error(h.client.get("/api/v1/auth/me", headers=bearer), 401, "not_authenticated")
    assert "revoked" in body["message"]
    # Revoking twice is a conflict, not a silent success.
    assert_error(h.admin.delete(f"/api/v1/tokens/{token['id']}"), 409, "conflict")


@pytest.mark.parametrize(
    "header",
    ["Bearer hgr_nope_nope", "Bearer garbage", "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["unknown", "malformed", "basic", "empty"],
)
def test_bad_credentials_are_401(world: World, header: str) -> None:
    response = world.hangar.client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert_error(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def test_disabled_user_is_locked_out_at_once(world: World) -> None:
    h = world.hangar
    user = h.create_user("disabled-soon")
    token = _token(h, "disabled-soon")
    client, csrf = console_login(h, "disabled-soon")
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/auth/me").status_code == 200
    assert h.client.get("/api/v1/auth/me", headers=bearer).status_code == 200

    h.admin.call("PATCH", f"/api/v1/users/{user['id']}", json={"disabled": True})

    assert_error(client.get("/api/v1/auth/me"), 401, "not_authenticated")
    assert_error(
        client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf}),
        401,
        "not_authenticated",
    )
    body = assert_error(h.client.get("/api/v1/auth/me", headers=bearer), 401, "not_authenticated")
    assert "disabled" in body["message"]
    # Nor can they log in again; enabling them lets the (unrevoked) token work again.
    assert_error(
        h.client.post(
            "/api/v1/auth/token", json={"username": "disabled-soon", "password": "user-pass-123"}
        ),
        401,
    )
    h.admin.call("PATCH", f"/api/v1/users/{user['id']}", json={"disabled": False})
    assert h.client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    # The console session stays ended: disabling deleted it.
    assert_error(client.get("/api/v1/auth/me"), 401, "not_authenticated")


def test_the_main_account_and_oneself_cannot_be_disabled(world: World) -> None:
    h = world.hangar
    me = h.admin.call("GET", "/api/v1/auth/me")
    assert_error(
        h.admin.patch(f"/api/v1/users/{me['id']}", json={"disabled": True}), 409, "conflict"
    )
    assert_error(h.admin.delete(f"/api/v1/users/{me['id']}"), 409, "conflict")


# --- body size --------------------------------------------------------------------------------
def test_oversized_body_with_content_length_is_413(world: World) -> None:
    h = world.hangar
    before = _workspace_count(h)
    payload = b'{"name": "Big", "description": "' + b"x" * BODY_LIMIT + b'"}'
    response = h.admin.post(
        "/api/v1/workspaces", content=payload, headers={"Content-Type": "application/json"}
    )
    body = assert_error(response, 413, "payload_too_large")
    assert str(BODY_LIMIT) in body["message"]
    assert _workspace_count(h) == before


def test_oversized_streamed_body_is_413(world: World) -> None:
    """Chunked, without Content-Length: the limit is enforced while the body streams in."""
    h = world.hangar
    before = _workspace_count(h)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "Big", "description": "'
        for _ in range(BODY_LIMIT // 512 + 2):
            yield b"x" * 512
        yield b'"}'

    response = h.admin.post(
        "/api/v1/workspaces", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    body = assert_error(response, 413, "payload_too_large")
    assert str(BODY_LIMIT) in body["message"]
    assert _workspace_count(h) == before


@pytest.mark.parametrize(("size", "status"), [(BODY_LIMIT, 201), (BODY_LIMIT + 1, 413)])
def test_the_limit_is_exact(world: World, size: int, status: int) -> None:
    """A valid JSON body padded with whitespace to exactly the limit passes; one byte more fails."""
    head = b'{"name": "Edge' + str(next(_n)).encode() + b'"'
    payload = head + b" " * (size - len(head) - 1) + b"}"
    assert len(payload) == size
    response = world.hangar.admin.post(
        "/api/v1/workspaces", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text


# --- malformed requests -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "field", "rule"),
    [
        (b'{"name": "Ok1", "colour": "red"}', "colour", "not a known field"),
        (b'{"name": "Ok2", "tags": {}, "owner": 1}', "owner", "not a known field"),
        (b'{"name": ', "body", "not valid JSON"),
        (b"{'name': 'x'}", "body", "not valid JSON"),
        (b"", "body", "required"),
        (b"{}", "name", "is required"),
        (b'{"description": "x"}', "name", "is required"),
        (b'{"name": 5}', "name", "string"),
        (b'{"name": null}', "name", "string"),
        (b'{"name": "Ok3", "tags": ["a"]}', "tags", "dictionary"),
        (b'{"name": "Ok4", "tags": {"k": 1}}', "tags.k", "string"),
        (b"[1, 2]", "body", "dictionary"),
        (b'"Ok5"', "body", "dictionary"),
    ],
    ids=[
        "unknown-field", "unknown-second-field", "truncated-json", "single-quotes", "empty-body",
        "empty-object", "missing-name", "int-name", "null-name", "list-tags", "int-tag-value",
        "array-body", "string-body",
    ],
)  # fmt: skip
def test_malformed_workspace_create(world: World, content: bytes, field: str, rule: str) -> None:
    h = world.hangar
    before = _workspace_count(h)
    response = h.admin.post(
        "/api/v1/workspaces", content=content, headers={"Content-Type": "application/json"}
    )
    body = assert_error(response, 422, "validation_failed")
    assert field in body["fields"], body
    assert rule in body["fields"][field], body
    assert body["message"].startswith(f"{field}: "), body
    assert _workspace_count(h) == before


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/api/v1/users", {"username": "abc", "password": "user-pass-123", "admin": True}, "admin"),
        ("POST", "/api/v1/tokens", {"name": "t", "expires_in_days": 0}, "expires_in_days"),
        ("POST", "/api/v1/tokens", {"name": "t", "expires_in_days": "soon"}, "expires_in_days"),
        ("POST", "/api/v1/tokens", {"name": "t", "scopes": "all"}, "scopes"),
        ("POST", "/api/v1/groups", {"name": "g", "policy": "admin"}, "policy"),
        ("PATCH", "/api/v1/settings/limits", {"max_gpus": -1}, "max_gpus"),
        ("PATCH", "/api/v1/settings/limits", {"max_gpus": "many"}, "max_gpus"),
        ("POST", "/api/v1/auth/login", {"username": "admin"}, "password"),
    ],
    ids=["user-extra", "token-zero-days", "token-str-days", "scopes-not-list", "group-admin-policy",
         "negative-limit", "str-limit", "login-no-password"],
)  # fmt: skip
def test_wrong_fields_elsewhere(
    world: World, method: str, path: str, payload: dict[str, Any], field: str
) -> None:
    body = assert_error(
        world.hangar.admin.request(method, path, json=payload), 422, "validation_failed"
    )
    assert field in body["fields"], body


def test_unknown_endpoint_and_method_use_the_error_shape(world: World) -> None:
    h = world.hangar
    assert_error(h.admin.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(h.admin.request("PUT", "/api/v1/workspaces"), 405, "method_not_allowed")
    assert_error(h.client.get("/api/v1/workspaces"), 401, "not_authenticated")
