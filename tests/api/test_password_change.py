"""POST /api/v1/auth/password: change your own password, with the bad paths."""

from __future__ import annotations

from tests.support import USER_PASSWORD, Hangar, assert_error


def test_change_own_password_ends_other_sessions_keeps_tokens(hangar: Hangar) -> None:
    _user, api = hangar.user_api("pw_user")
    other = hangar.client.post(
        "/api/v1/auth/login", json={"username": "pw_user", "password": USER_PASSWORD}
    )
    assert other.status_code == 200
    cookie = other.cookies["hangar_session"]

    api.call(
        "POST", "/api/v1/auth/password", 204,
        json={"current_password": USER_PASSWORD, "new_password": "another-pass-1"},
    )  # fmt: skip

    hangar.client.cookies.clear()
    hangar.client.cookies.set("hangar_session", cookie)
    ended = hangar.client.get("/api/v1/auth/me")
    hangar.client.cookies.clear()
    assert ended.status_code == 401
    assert api.get("/api/v1/auth/me").status_code == 200  # tokens stay valid
    assert hangar.login("pw_user", "another-pass-1").username == "pw_user"
    refused = hangar.client.post(
        "/api/v1/auth/token", json={"username": "pw_user", "password": USER_PASSWORD}
    )
    assert refused.status_code == 401


def test_change_password_bad_paths(hangar: Hangar) -> None:
    _user, api = hangar.user_api("pw_bad")
    wrong = api.post(
        "/api/v1/auth/password",
        json={"current_password": "nope-nope", "new_password": "another-pass-1"},
    )
    assert "current_password" in assert_error(wrong, 422, "validation_failed")["fields"]
    short = api.post(
        "/api/v1/auth/password", json={"current_password": USER_PASSWORD, "new_password": "short"}
    )
    assert "new_password" in assert_error(short, 422, "validation_failed")["fields"]
    same = api.post(
        "/api/v1/auth/password",
        json={"current_password": USER_PASSWORD, "new_password": USER_PASSWORD},
    )
    assert "new_password" in assert_error(same, 422, "validation_failed")["fields"]
    read_only = hangar.admin.call(
        "POST", "/api/v1/tokens", 201, json={"name": "ro", "scopes": ["*:read"]}
    )["token"]
    denied = hangar.client.post(
        "/api/v1/auth/password",
        headers={"Authorization": f"Bearer {read_only}"},
        json={"current_password": "admin-pass-123", "new_password": "another-pass-1"},
    )
    assert_error(denied, 403, "permission_denied")
