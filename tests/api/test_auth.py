"""Authentication: console sessions with CSRF, login throttling, secrets at rest, API tokens
and their scopes, and per-user limits."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hangar.db.base import utcnow
from hangar.tenancy.orm import ConsoleSession, LoginFailure, Tenant, User
from tests.support import (
    ADMIN_PASSWORD,
    USER_PASSWORD,
    Api,
    Hangar,
    assert_error,
    console_login,
    dump_database,
    sqlite_hangar,
)

MAX_FAILURES = 2
CAP_GPUS = 64
_n = itertools.count()


@dataclass
class World:
    hangar: Hangar
    dev: Api
    dev_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sqlite_hangar(
        tmp_path_factory.mktemp("auth"), login_max_failures=MAX_FAILURES, cap_user_max_gpus=CAP_GPUS
    ) as h:
        user, dev = h.user_api("plain")
        yield World(h, dev, user["id"])


@pytest.fixture(scope="module")
def admin_console(world: World) -> tuple[TestClient, str]:
    """One console session of the main account, shared by tests that must not change it."""
    return console_login(world.hangar, "admin", ADMIN_PASSWORD)


def _fresh_user(h: Hangar) -> str:
    name = f"u{next(_n)}"
    h.create_user(name)
    return name


# --- console sessions --------------------------------------------------------------------------
def test_console_login_sets_a_safe_cookie_and_a_csrf_token(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    client = TestClient(h.app, base_url="http://127.0.0.1")
    response = client.post("/api/v1/auth/login", json={"username": name, "password": USER_PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["username"] == name
    raw = response.headers["set-cookie"]
    cookie = SimpleCookie()
    cookie.load(raw)
    morsel = cookie["hangar_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == h.settings.session_ttl_hours * 3600
    assert not morsel["secure"]  # secure_cookies is off for plain-HTTP test servers
    assert len(response.headers["x-csrf-token"]) >= 32
    assert response.headers["x-csrf-token"] not in raw


def test_secure_cookie_setting_marks_the_cookie(tmp_path_factory: pytest.TempPathFactory) -> None:
    with sqlite_hangar(tmp_path_factory.mktemp("secure"), secure_cookies=True) as h:
        response = h.client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200
        assert "secure" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/api/v1/tokens", {"name": "csrf"}),
        ("PATCH", "/api/v1/settings/limits", {"max_gpus": 5}),
        ("POST", "/api/v1/auth/logout", None),
    ],
)
@pytest.mark.parametrize("csrf", ["missing", "wrong"])
def test_unsafe_requests_need_the_csrf_token(
    world: World,
    admin_console: tuple[TestClient, str],
    method: str,
    path: str,
    payload: dict[str, Any] | None,
    csrf: str,
) -> None:
    h = world.hangar
    client, token = admin_console
    headers = {} if csrf == "missing" else {"X-CSRF-Token": token[:-2] + "xx"}
    before = len(h.admin.call("GET", "/api/v1/tokens", params={"all": "true"}))
    body = assert_error(client.request(method, path, json=payload, headers=headers), 403)
    assert body["code"] == "permission_denied" and "CSRF" in body["message"]
    assert len(h.admin.call("GET", "/api/v1/tokens", params={"all": "true"})) == before
    # Safe requests need no token, and the session is still alive.
    assert client.get("/api/v1/auth/me").status_code == 200


def test_with_the_csrf_token_unsafe_requests_work(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    client, csrf = console_login(h, name)
    created = client.post(
        "/api/v1/tokens", json={"name": "from-console"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == client.get("/api/v1/auth/me").json()["id"]


def test_a_token_beats_no_csrf(world: World) -> None:
    """CSRF protects cookies only: a bearer token needs no CSRF header."""
    world.dev.call("POST", "/api/v1/tokens", 201, json={"name": "bearer-no-csrf"})


def test_logout_ends_the_session(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    client, csrf = console_login(h, name)
    cookie = client.cookies["hangar_session"]
    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert (
        'hangar_session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )
    # Even a client that keeps the old cookie is out.
    replay = TestClient(h.app, base_url="http://127.0.0.1", cookies={"hangar_session": cookie})
    assert_error(replay.get("/api/v1/auth/me"), 401, "not_authenticated")


def test_expired_console_session_is_401(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    client, _csrf = console_login(h, name)
    uid = client.get("/api/v1/auth/me").json()["id"]
    with h.state.sessions() as session, session.begin():
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == uid)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    body = assert_error(client.get("/api/v1/auth/me"), 401, "not_authenticated")
    assert "expired" in body["message"]


def test_token_logout_revokes_that_token(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    api = h.login(name)
    api.call("POST", "/api/v1/auth/logout", 204)
    assert_error(api.get("/api/v1/auth/me"), 401, "not_authenticated")


def test_a_sub_account_admin_cannot_take_over_the_main_account(world: World) -> None:
    h = world.hangar
    name = f"subadmin{next(_n)}"
    user, sub_admin = h.user_api(name, groups=("admin",))
    owner = h.admin.call("GET", "/api/v1/auth/me")
    body = assert_error(
        sub_admin.patch(f"/api/v1/users/{owner['id']}", json={"password": "taken-over-1"}),
        403,
        "permission_denied",
    )
    assert "main account" in body["message"]
    h.login("admin", ADMIN_PASSWORD)  # unchanged
    assert_error(sub_admin.patch(f"/api/v1/users/{owner['id']}", json={"disabled": True}), 409)
    assert_error(sub_admin.delete(f"/api/v1/users/{owner['id']}"), 409)
    # The main account may still reset a sub-account admin's password.
    h.admin.call("PATCH", f"/api/v1/users/{user['id']}", json={"password": "reset-by-owner"})
    h.login(name, "reset-by-owner")


def test_session_cookies_and_tokens_are_not_interchangeable(world: World) -> None:
    h = world.hangar
    client, _csrf = console_login(h, "admin", ADMIN_PASSWORD)
    cookie = client.cookies["hangar_session"]
    response = h.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"})
    assert_error(response, 401, "not_authenticated")
    as_cookie = TestClient(
        h.app, base_url="http://127.0.0.1", cookies={"hangar_session": h.admin.token}
    )
    assert_error(as_cookie.get("/api/v1/auth/me"), 401, "not_authenticated")


def test_password_change_ends_sessions(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    client, _csrf = console_login(h, name)
    uid = client.get("/api/v1/auth/me").json()["id"]
    h.admin.call("PATCH", f"/api/v1/users/{uid}", json={"password": "new-pass-456"})
    assert_error(client.get("/api/v1/auth/me"), 401, "not_authenticated")
    assert_error(
        h.client.post("/api/v1/auth/token", json={"username": name, "password": USER_PASSWORD}), 401
    )
    h.login(name, "new-pass-456")


# --- throttling ---------------------------------------------------------------------------------
def test_login_throttling(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    wrong = {"username": name, "password": "wrong-password"}
    for _ in range(MAX_FAILURES):
        body = assert_error(
            h.client.post("/api/v1/auth/login", json=wrong), 401, "not_authenticated"
        )
        assert body["message"] == "wrong username or password"
    # The failures survived their requests' rollbacks: they were written on their own.
    with h.state.sessions() as session:
        stored = session.scalar(
            select(func.count()).select_from(LoginFailure).where(LoginFailure.username == name)
        )
    assert stored == MAX_FAILURES
    # Now even the right password is refused, on both login endpoints, with Retry-After.
    for path in ("/api/v1/auth/login", "/api/v1/auth/token"):
        response = h.client.post(path, json={"username": name, "password": USER_PASSWORD})
        body = assert_error(response, 429, "too_many_requests")
        assert int(response.headers["retry-after"]) == h.settings.login_lockout_minutes * 60
        assert name in body["message"]
    # Other accounts are not affected.
    other = _fresh_user(h)
    h.login(other)


def test_unknown_usernames_are_throttled_and_indistinguishable(world: World) -> None:
    h = world.hangar
    ghost = {"username": "no-such-user", "password": "whatever-123"}
    known = {"username": _fresh_user(h), "password": "whatever-123"}
    a = assert_error(h.client.post("/api/v1/auth/login", json=ghost), 401)
    b = assert_error(h.client.post("/api/v1/auth/login", json=known), 401)
    assert a == b
    for _ in range(MAX_FAILURES - 1):
        h.client.post("/api/v1/auth/login", json=ghost)
    assert_error(h.client.post("/api/v1/auth/login", json=ghost), 429)


def test_success_clears_earlier_failures(world: World) -> None:
    h = world.hangar
    name = _fresh_user(h)
    for _ in range(MAX_FAILURES - 1):
        h.client.post("/api/v1/auth/login", json={"username": name, "password": "nope-nope"})
    h.login(name)
    for _ in range(MAX_FAILURES - 1):
        h.client.post("/api/v1/auth/login", json={"username": name, "password": "nope-nope"})
    h.login(name)  # not locked: the count restarted after the success


# --- secrets at rest ---------------------------------------------------------------------------
def test_no_secret_is_stored_in_clear(world: World) -> None:
    h = world.hangar
    password = "Very-Secret-Password-1"
    user = h.admin.call(
        "POST", "/api/v1/users", 201, json={"username": f"s{next(_n)}", "password": password}
    )
    api = h.login(user["username"], password)
    token = api.call("POST", "/api/v1/tokens", 201, json={"name": "secret-check"})
    client, _csrf = console_login(h, user["username"], password)
    cookie = client.cookies["hangar_session"]
    new_password = "Other-Secret-Password-2"
    h.admin.call("PATCH", f"/api/v1/users/{user['id']}", json={"password": new_password})
    h.client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": "Wrong-Secret-3"}
    )

    dump = dump_database(h.state.engine)
    token_secret = token["token"].split("_", 2)[2]
    cookie_secret = cookie.split("_", 2)[2]
    for secret in (password, new_password, "Wrong-Secret-3", token["token"], token_secret,
                   cookie, cookie_secret, ADMIN_PASSWORD, USER_PASSWORD):  # fmt: skip
        assert secret not in dump, f"a secret is stored in clear: {secret[:6]}..."
    # What is stored instead: an argon2id hash, and a token's lookup prefix with a hash.
    with h.state.sessions() as session:
        stored = session.scalar(select(User).where(User.id == user["id"]))
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
    assert token["prefix"] in dump
    assert token["token"].startswith(f"hgr_{token['prefix']}_")
    assert token["prefix"] not in token_secret


# --- API tokens ------------------------------------------------------------------------------------
def _scoped(world: World, *scopes: str) -> Api:
    created = world.dev.call(
        "POST", "/api/v1/tokens", 201, json={"name": f"scoped{next(_n)}", "scopes": list(scopes)}
    )
    assert created["scopes"] == sorted(set(scopes))
    return Api(world.hangar.client, created["token"], "plain")


def test_read_scope_reads_but_does_not_write(world: World) -> None:
    h = world.hangar
    ws = h.create_workspace(f"Scope{next(_n)}")
    h.add_member(ws["id"], world.dev_id, "admin")
    reader = _scoped(world, "workspace:read", "workspace_users:read")
    assert ws["id"] in {w["id"] for w in reader.call("GET", "/api/v1/workspaces")}
    reader.call("GET", f"/api/v1/workspaces/{ws['id']}/members")
    # The access review is a query, even though it is a POST.
    reader.call(
        "POST", f"/api/v1/workspaces/{ws['id']}/access-review", json={"points": ["dataset.view"]}
    )
    response = reader.patch(f"/api/v1/workspaces/{ws['id']}", json={"description": "no"})
    body = assert_error(response, 403, "permission_denied")
    assert "workspace_config:write" in body["message"]
    response = reader.post(
        f"/api/v1/workspaces/{ws['id']}/members",
        json={"user_id": world.dev_id, "roles": ["developer"]},
    )
    assert "workspace_users:write" in assert_error(response, 403, "permission_denied")["message"]
    # The same user with a full token may do it: the scope, not the role, refused.
    world.dev.call("PATCH", f"/api/v1/workspaces/{ws['id']}", json={"description": "yes"})


def test_workspace_read_token_lists_but_cannot_create(world: World) -> None:
    h = world.hangar
    created = h.admin.call(
        "POST",
        "/api/v1/tokens",
        201,
        json={"name": f"wsread{next(_n)}", "scopes": ["workspace:read"]},
    )
    reader = Api(h.client, created["token"], "admin")
    assert reader.call("GET", "/api/v1/workspaces")
    body = assert_error(
        reader.post("/api/v1/workspaces", json={"name": "ByReader"}), 403, "permission_denied"
    )
    assert "workspace:write" in body["message"]
    assert "ByReader" not in {w["name"] for w in h.admin.call("GET", "/api/v1/workspaces")}
    # Other namespaces are out of reach too.
    assert_error(reader.get("/api/v1/users"), 403, "permission_denied")


def test_scope_of_another_namespace_is_refused(world: World) -> None:
    only_audit = _scoped(world, "audit:read")
    body = assert_error(only_audit.get("/api/v1/workspaces"), 403, "permission_denied")
    assert "workspace:read" in body["message"]


def test_star_read_reads_everything_and_writes_nothing(world: World) -> None:
    reader = _scoped(world, "*:read")
    reader.call("GET", "/api/v1/workspaces")
    reader.call("GET", "/api/v1/tokens")
    assert_error(reader.post("/api/v1/tokens", json={"name": "x"}), 403, "permission_denied")


def test_write_scope_implies_read(world: World) -> None:
    writer = _scoped(world, "token:write")
    writer.call("GET", "/api/v1/tokens")
    writer.call("POST", "/api/v1/tokens", 201, json={"name": f"w{next(_n)}"})


@pytest.mark.parametrize(
    "scopes",
    [["workspace:admin"], ["nosuch:read"], ["ALL"], ["workspace"], [""], [], ["*:delete"]],
    ids=["bad-verb", "bad-namespace", "upper", "no-verb", "blank", "none", "star-bad-verb"],
)
def test_invalid_scopes_are_422_naming_scopes(world: World, scopes: list[str]) -> None:
    response = world.dev.post("/api/v1/tokens", json={"name": "bad", "scopes": scopes})
    body = assert_error(response, 422, "validation_failed")
    assert set(body["fields"]) == {"scopes"}, body


def test_last_used_at_is_recorded(world: World) -> None:
    created = world.dev.call("POST", "/api/v1/tokens", 201, json={"name": f"used{next(_n)}"})
    assert created["last_used_at"] is None
    Api(world.hangar.client, created["token"], "plain").call("GET", "/api/v1/auth/me")
    seen = world.dev.call("GET", f"/api/v1/tokens/{created['id']}")
    assert seen["last_used_at"] is not None
    assert seen["last_used_at"] >= created["created_at"]


def test_token_listing_shows_no_secret(world: World) -> None:
    created = world.dev.call("POST", "/api/v1/tokens", 201, json={"name": f"list{next(_n)}"})
    listed = world.dev.call("GET", "/api/v1/tokens")
    mine = next(t for t in listed if t["id"] == created["id"])
    assert "token" not in mine
    assert created["token"] not in str(listed)


def test_tenant_admin_lists_and_revokes_others_tokens(world: World) -> None:
    h = world.hangar
    created = world.dev.call("POST", "/api/v1/tokens", 201, json={"name": f"victim{next(_n)}"})
    everyone = h.admin.call("GET", "/api/v1/tokens", params={"all": "true"})
    assert created["id"] in {t["id"] for t in everyone}
    assert created["id"] not in {t["id"] for t in h.admin.call("GET", "/api/v1/tokens")}
    h.admin.call("GET", f"/api/v1/tokens/{created['id']}")
    revoked = h.admin.call("DELETE", f"/api/v1/tokens/{created['id']}")
    assert revoked["revoked_at"] is not None
    assert_error(
        h.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {created['token']}"}),
        401,
    )


def test_plain_user_cannot_see_or_revoke_others_tokens(world: World) -> None:
    h = world.hangar
    admin_token = h.admin.call("POST", "/api/v1/tokens", 201, json={"name": f"admins{next(_n)}"})
    assert_error(world.dev.get(f"/api/v1/tokens/{admin_token['id']}"), 404, "not_found")
    assert_error(world.dev.delete(f"/api/v1/tokens/{admin_token['id']}"), 404, "not_found")
    body = assert_error(
        world.dev.get("/api/v1/tokens", params={"all": "true"}), 403, "permission_denied"
    )
    assert "other users' API tokens" in body["message"]
    listed = world.dev.call("GET", "/api/v1/tokens")
    assert admin_token["id"] not in {t["id"] for t in listed}
    # The admin's token still works.
    h.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {admin_token['token']}"}
    ).raise_for_status()


# --- per-user limits (spec 02 §7, decision A7) -----------------------------------------------
def test_limits_defaults_overrides_and_caps(world: World) -> None:
    h = world.hangar
    user = h.create_user(f"lim{next(_n)}")
    url = f"/api/v1/users/{user['id']}/limits"
    defaults = h.admin.call(
        "PATCH", "/api/v1/settings/limits", json={"max_gpus": 8, "max_cpus": 64}
    )
    assert defaults == {"max_gpus": 8, "max_cpus": 64, "pfs_gib": 512}
    limits = h.admin.call("GET", url)
    assert limits["effective"] == defaults and limits["tenant_defaults"] == defaults
    assert limits["overrides"] == {"max_gpus": None, "max_cpus": None, "pfs_gib": None}

    limits = h.admin.call("PATCH", url, json={"max_gpus": 2})
    assert limits["effective"] == {"max_gpus": 2, "max_cpus": 64, "pfs_gib": 512}
    assert limits["overrides"]["max_gpus"] == 2
    # A changed default shows through where no override is set, not where one is.
    h.admin.call("PATCH", "/api/v1/settings/limits", json={"max_gpus": 16, "max_cpus": 32})
    assert h.admin.call("GET", url)["effective"] == {"max_gpus": 2, "max_cpus": 32, "pfs_gib": 512}
    # null clears the override.
    limits = h.admin.call("PATCH", url, json={"max_gpus": None})
    assert limits["effective"]["max_gpus"] == 16 and limits["overrides"]["max_gpus"] is None


@pytest.mark.parametrize("path", ["/api/v1/settings/limits", "/api/v1/users/{uid}/limits"])
def test_limits_above_the_installation_cap_are_refused(world: World, path: str) -> None:
    h = world.hangar
    url = path.format(uid=world.dev_id)
    before = h.admin.call("GET", url)
    body = assert_error(
        h.admin.patch(url, json={"max_gpus": CAP_GPUS + 1}), 422, "validation_failed"
    )
    assert set(body["fields"]) == {"max_gpus"}
    assert f"at most {CAP_GPUS}" in body["message"] and f"asked {CAP_GPUS + 1}" in body["message"]
    assert h.admin.call("GET", url) == before
    h.admin.call("PATCH", url, json={"max_gpus": CAP_GPUS})


def test_tenant_default_above_a_lowered_cap_does_not_take_effect(world: World) -> None:
    """The stock tenant default (10000 GPUs) exceeds this installation's cap: the cap wins."""
    h = world.hangar
    user = h.create_user(f"capped{next(_n)}")
    with h.state.sessions() as session, session.begin():
        tenant = session.scalar(select(Tenant))
        assert tenant is not None
        tenant.default_max_gpus = 10_000
    limits = h.admin.call("GET", f"/api/v1/users/{user['id']}/limits")
    assert limits["tenant_defaults"]["max_gpus"] == 10_000
    assert limits["effective"]["max_gpus"] == CAP_GPUS


def test_a_tenant_default_cannot_be_cleared(world: World) -> None:
    body = assert_error(
        world.hangar.admin.patch("/api/v1/settings/limits", json={"max_cpus": None}), 422
    )
    assert set(body["fields"]) == {"max_cpus"}


def test_only_tenant_admins_see_or_set_limits(world: World) -> None:
    for method, url, payload in (
        ("GET", "/api/v1/settings/limits", None),
        ("PATCH", "/api/v1/settings/limits", {"max_gpus": 1}),
        ("GET", f"/api/v1/users/{world.dev_id}/limits", None),
        ("PATCH", f"/api/v1/users/{world.dev_id}/limits", {"max_gpus": 999}),
    ):
        assert_error(world.dev.request(method, url, json=payload), 403, "permission_denied")
