"""The server answers health, OpenAPI and whoami on both databases."""

from __future__ import annotations

from tests.support import Hangar


def test_health_and_whoami(hangar_any: Hangar) -> None:
    health = hangar_any.client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["checks"] == {"database": "ok"}
    me = hangar_any.admin.call("GET", "/api/v1/auth/me")
    assert me["username"] == "admin"
    assert me["is_platform_admin"] is True
    assert "owner" in me["tenant_roles"]
    assert "/api/v1/workspaces" in hangar_any.client.get("/openapi.json").json()["paths"]
