"""Model version aliases (set, move, mount by alias, refuse bad names) and the tenant's free
platform storage: refused over it with the figures, shown to forms, set by the platform admin."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar, assert_error
from tests.web.console import logged_in

MODELS = "/api/v1/models"


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def upload(h: Hangar, model_id: str, data: bytes, *, status: int = 201) -> dict[str, Any]:
    response = h.admin.put(
        f"{MODELS}/{model_id}/versions/upload",
        params={"filename": "w.bin", "sha256": hashlib.sha256(data).hexdigest()}, content=data,
    )  # fmt: skip
    assert response.status_code == status, response.text
    return dict(response.json())


def test_aliases_point_at_versions_and_mounts_follow_them(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "llm"})
    upload(h, model["id"], b"one")
    upload(h, model["id"], b"two")
    listed = h.admin.call("PUT", f"{MODELS}/{model['id']}/aliases/prod", json={"version": 1})
    assert listed == [{"alias": "prod", "version": "V1"}]
    job = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, "serve", mounts=[{"kind": "model", "id": model["id"], "version": "prod"}]))  # fmt: skip
    assert job["mounts"][0]["version"] == "V1"
    h.admin.call("PUT", f"{MODELS}/{model['id']}/aliases/prod", json={"version": 2})
    moved = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, "serve2", mounts=[{"kind": "model", "id": model["id"], "version": "prod"}]))  # fmt: skip
    assert moved["mounts"][0]["version"] == "V2"
    for bad in ("V3", "Prod", "7"):
        refused = h.admin.put(f"{MODELS}/{model['id']}/aliases/{bad}", json={"version": 1})
        assert "alias" in assert_error(refused, 422)["fields"]
    assert_error(h.admin.put(f"{MODELS}/{model['id']}/aliases/x", json={"version": 9}), 404)
    unknown = h.admin.post(JOBS, json=job_body(
        ws, "x", mounts=[{"kind": "model", "id": model["id"], "version": "nope"}]))  # fmt: skip
    assert "no version or alias 'nope'" in assert_error(unknown, 404)["message"]
    h.admin.call("DELETE", f"{MODELS}/{model['id']}/aliases/prod", 204)
    assert h.admin.call("GET", f"{MODELS}/{model['id']}/aliases") == []


def test_the_free_platform_storage_is_enforced_and_shown(h: Hangar) -> None:
    me = h.admin.call("GET", "/api/v1/auth/me")
    shown = h.admin.call("GET", "/api/v1/storages/platform")
    assert shown == {"quota_bytes": 300 * 1024**3, "used_bytes": 0, "free_bytes": 300 * 1024**3}
    ws = h.default_workspace()["id"]
    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "big"})
    h.admin.call("PUT", f"/api/v1/tenants/{me['tenant_id']}/storage-quota",
                 json={"storage_quota_gib": 0})  # fmt: skip
    refused = upload(h, model["id"], b"x" * 1000, status=409)
    assert "platform storage holds 0 bytes of its free 0 bytes" in refused["message"]
    h.admin.call("PUT", f"/api/v1/tenants/{me['tenant_id']}/storage-quota",
                 json={"storage_quota_gib": 1})  # fmt: skip
    upload(h, model["id"], b"x" * 1000)
    assert h.admin.call("GET", "/api/v1/storages/platform")["used_bytes"] == 1000
    user, dev = h.user_api("dora")
    assert_error(dev.put(f"/api/v1/tenants/{me['tenant_id']}/storage-quota",
                         json={"storage_quota_gib": 999}), 403)  # fmt: skip
    assert user


def test_the_storages_page_shows_what_is_left(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    page = console.get("/storages").text
    assert 'id="platform-storage"' in page and "300.00 GiB left" in page
