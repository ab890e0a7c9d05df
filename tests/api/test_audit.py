"""The audit trail: one record per mutating request, redaction, filters, CSV export, access,
tenant isolation and retention pruning."""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from hangar.api.deps import SessionDep
from hangar.audit.orm import AuditRecord
from hangar.audit.service import CSV_COLUMNS, REDACTED, do_record
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from tests.support import (
    Api,
    Hangar,
    assert_error,
    create_tenant,
    sqlite_hangar,
)

_n = itertools.count()


@dataclass
class World:
    hangar: Hangar
    dev: Api
    dev_id: str
    ws_id: str
    other: Api  # main account of a second tenant


def _soft_error(session: SessionDep) -> JSONResponse:
    """A route that answers an error without raising (as a console form may)."""
    del session
    return JSONResponse({"code": "x", "message": "soft", "fields": {}}, status_code=422)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sqlite_hangar(tmp_path_factory.mktemp("audit")) as h:
        h.app.add_api_route(
            "/api/v1/test-soft-error", _soft_error, methods=["POST"], name="test.soft_error"
        )
        user, dev = h.user_api("auditee")
        ws = h.create_workspace("AuditWs")
        h.add_member(ws["id"], user["id"], "developer")
        other = create_tenant(h, "other-org", "other-owner")
        yield World(h, dev, user["id"], ws["id"], other)


def _count(h: Hangar) -> int:
    with h.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def _newest(h: Hangar) -> AuditRecord:
    with h.state.sessions() as session:
        record = session.scalar(select(AuditRecord).order_by(AuditRecord.at.desc()).limit(1))
        assert record is not None
        return record


def _one_record(
    h: Hangar, request: Callable[[], httpx.Response]
) -> tuple[httpx.Response, AuditRecord]:
    before = _count(h)
    response = request()
    assert _count(h) == before + 1, (
        f"expected exactly one new audit record for {response.request.method} {response.request.url}"
    )
    return response, _newest(h)


# --- one record per mutating request --------------------------------------------------------
def test_success_is_recorded_once_with_actor_target_and_result(world: World) -> None:
    h = world.hangar
    name = f"Aud{next(_n)}"
    response, record = _one_record(
        h, lambda: h.admin.post("/api/v1/workspaces", json={"name": name})
    )
    assert response.status_code == 201
    ws_id = response.json()["id"]
    assert (record.username, record.action, record.result, record.status_code) == (
        "admin", "workspace.create", "success", 201,
    )  # fmt: skip
    assert (record.target_type, record.target_id, record.target_name) == ("workspace", ws_id, name)
    assert record.workspace_id == ws_id and record.method == "POST"
    assert record.path == "/api/v1/workspaces" and record.client_addr
    assert (
        record.level == "normal"
        and record.tenant_id == h.admin.call("GET", "/api/v1/auth/me")["tenant_id"]
    )


def test_denied_is_recorded(world: World) -> None:
    h = world.hangar
    response, record = _one_record(
        h, lambda: world.dev.post("/api/v1/workspaces", json={"name": "Nope"})
    )
    assert response.status_code == 403
    assert (record.username, record.user_id, record.action, record.result, record.status_code) == (
        "auditee", world.dev_id, "workspace.create", "denied", 403,
    )  # fmt: skip
    assert record.level == "warning"


def test_denied_workspace_action_names_the_workspace(world: World) -> None:
    h = world.hangar
    response, record = _one_record(
        h,
        lambda: world.dev.post(
            f"/api/v1/workspaces/{world.ws_id}/members",
            json={"user_id": world.dev_id, "roles": ["admin"]},
        ),
    )
    assert response.status_code == 403
    assert (record.action, record.result, record.workspace_id) == (
        "workspace.members.add",
        "denied",
        world.ws_id,
    )


def test_conflict_is_recorded_with_the_target_tried(world: World) -> None:
    h = world.hangar
    name = f"Twice{next(_n)}"
    h.create_workspace(name)
    response, record = _one_record(
        h, lambda: h.admin.post("/api/v1/workspaces", json={"name": name})
    )
    assert response.status_code == 409
    assert (record.action, record.result, record.status_code) == ("workspace.create", "failed", 409)
    assert (record.target_type, record.target_name) == ("workspace", name)
    # The refused request left no workspace behind, but its record stayed: written on its own.
    assert [w["name"] for w in h.admin.call("GET", "/api/v1/workspaces")].count(name) == 1


@pytest.mark.parametrize(
    ("make", "action", "result", "status"),
    [
        (lambda w: w.hangar.admin.post("/api/v1/workspaces", json={"name": "9bad"}), "workspace.create", "failed", 422),
        (lambda w: w.hangar.admin.post("/api/v1/workspaces", json={"bogus": 1}), "workspace.create", "failed", 422),
        (lambda w: w.hangar.client.post("/api/v1/workspaces", json={"name": "Anon"}), "workspace.create", "denied", 401),
        (lambda w: w.hangar.admin.delete("/api/v1/workspaces/0000000000000000"), "workspace.delete", "failed", 404),
        (lambda w: w.hangar.admin.post("/api/v1/no-such-endpoint"), "unrouted", "failed", 404),
        (lambda w: w.hangar.client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x" * 8}), "auth.login", "denied", 401),
        (lambda w: w.hangar.admin.post("/api/v1/test-soft-error"), "test.soft_error", "failed", 422),
    ],
    ids=["rule-422", "schema-422", "anonymous-401", "missing-404", "no-route-404", "bad-login-401", "soft-error-422"],
)  # fmt: skip
def test_every_failure_is_recorded_once(
    world: World, make: Callable[[World], httpx.Response], action: str, result: str, status: int
) -> None:
    response, record = _one_record(world.hangar, lambda: make(world))
    assert response.status_code == status
    assert (record.action, record.result, record.status_code) == (action, result, status)
    assert record.level == "warning"


def test_member_changes_are_recorded(world: World) -> None:
    h = world.hangar
    user = h.create_user(f"mem{next(_n)}")
    base = f"/api/v1/workspaces/{world.ws_id}/members"
    steps = [
        (lambda: h.admin.post(base, json={"user_id": user["id"], "roles": ["operator"]}), "workspace.members.add", 201),
        (lambda: h.admin.put(f"{base}/{user['id']}", json={"roles": ["developer"]}), "workspace.members.update", 200),
        (lambda: h.admin.delete(f"{base}/{user['id']}"), "workspace.members.remove", 204),
    ]  # fmt: skip
    for make, action, status in steps:
        response, record = _one_record(h, make)
        assert response.status_code == status
        assert (record.action, record.target_type, record.target_id, record.target_name) == (
            action, "member", user["id"], user["username"],
        )  # fmt: skip
        assert record.workspace_id == world.ws_id and record.result == "success"


def test_failed_logins_are_visible_to_the_accounts_tenant(world: World) -> None:
    h = world.hangar
    wrong = {"username": "auditee", "password": "not-the-password"}
    response, record = _one_record(h, lambda: h.client.post("/api/v1/auth/login", json=wrong))
    assert response.status_code == 401
    assert (record.action, record.result, record.target_type, record.target_id) == (
        "auth.login", "denied", "user", world.dev_id,
    )  # fmt: skip
    assert record.user_id is None  # nobody was authenticated
    found = _items(h.admin, action="auth.login", target=world.dev_id, result="denied")
    assert record.id in {r["id"] for r in found}
    assert record.id not in {r["id"] for r in _items(world.other)}


def test_reads_are_not_recorded(world: World) -> None:
    h = world.hangar
    before = _count(h)
    h.admin.call("GET", "/api/v1/workspaces")
    h.admin.call("GET", "/api/v1/audit")
    world.dev.call(
        "POST", f"/api/v1/workspaces/{world.ws_id}/access-review", json={"points": ["dataset.view"]}
    )
    assert _count(h) == before


# --- secrets ---------------------------------------------------------------------------------
def test_secret_looking_details_are_redacted(world: World) -> None:
    h = world.hangar
    details = {
        "password": "p4ss",
        "new_token": "hgr_x_y",
        "nested": {"api_key": "k3y", "Authorization": "Bearer z", "kept": 7},
        "items": [{"client_secret": "s3c"}, {"name": "fine"}],
        "user_ids": ["a", "b"],
    }
    with transaction(h.state.sessions) as session:
        record = do_record(
            session, tenant_id=None, action="test.redact", method="POST", path="/x",
            result="success", status_code=200, details=details,
        )  # fmt: skip
        session.flush()
        record_id = record.id
    with h.state.sessions() as session:
        stored = session.get(AuditRecord, record_id)
        assert stored is not None
        assert stored.details == {
            "password": REDACTED,
            "new_token": REDACTED,
            "nested": {"api_key": REDACTED, "Authorization": REDACTED, "kept": 7},
            "items": [{"client_secret": REDACTED}, {"name": "fine"}],
            "user_ids": ["a", "b"],
        }


def test_no_password_reaches_the_audit(world: World) -> None:
    h = world.hangar
    secret = "Audit-Secret-Pass-9"
    user = h.admin.call(
        "POST", "/api/v1/users", 201, json={"username": f"sec{next(_n)}", "password": secret}
    )
    h.admin.call("PATCH", f"/api/v1/users/{user['id']}", json={"password": secret + "x"})
    h.client.post("/api/v1/auth/login", json={"username": user["username"], "password": secret})
    token = h.login(user["username"], secret + "x").call(
        "POST", "/api/v1/tokens", 201, json={"name": "t"}
    )
    every = h.admin.call("GET", "/api/v1/audit", params={"limit": 500})
    text = str(every)
    assert secret not in text and token["token"] not in text
    assert token["token"].split("_", 2)[2] not in text


# --- reading -----------------------------------------------------------------------------------
def _items(api: Api, **params: Any) -> list[dict[str, Any]]:
    page = api.call("GET", "/api/v1/audit", params={"limit": 500, **params})
    assert page["total"] == len(page["items"]) or page["total"] > 500
    items: list[dict[str, Any]] = page["items"]
    return items


def test_filters(world: World) -> None:
    h = world.hangar
    name = f"Filt{next(_n)}"
    ws = h.create_workspace(name)
    world.dev.post("/api/v1/workspaces", json={"name": "Denied1"})
    created = next(
        r for r in _items(h.admin, action="workspace.create") if r["target_id"] == ws["id"]
    )

    by_user = _items(h.admin, user="auditee")
    assert by_user and all(r["username"] == "auditee" for r in by_user)
    assert _items(h.admin, user=world.dev_id) == by_user

    prefix = _items(h.admin, action="workspace.")
    assert {r["action"] for r in prefix} >= {"workspace.create", "workspace.members.add"}
    assert all(r["action"].startswith("workspace.") for r in prefix)

    assert [r["id"] for r in _items(h.admin, target=ws["id"])] == [created["id"]]
    assert created["id"] in [r["id"] for r in _items(h.admin, target=name)]
    assert all(r["target_type"] == "member" for r in _items(h.admin, target_type="member"))

    denied = _items(h.admin, result="denied")
    assert denied and all(r["result"] == "denied" for r in denied)
    assert all(r["result"] == "success" for r in _items(h.admin, result="success"))
    assert all(r["level"] == "warning" for r in _items(h.admin, level="warning"))

    in_ws = _items(h.admin, workspace_id=ws["id"])
    assert [r["id"] for r in in_ws] == [created["id"]]

    at = created["at"]
    assert created["id"] in [r["id"] for r in _items(h.admin, since=at)]
    assert created["id"] in [r["id"] for r in _items(h.admin, until=at)]
    assert all(r["at"] >= at for r in _items(h.admin, since=at))
    assert all(r["at"] <= at for r in _items(h.admin, until=at))
    after = (utcnow() + timedelta(days=1)).isoformat()
    assert _items(h.admin, since=after) == []
    combined = _items(h.admin, user="admin", action="workspace.create", result="success", since=at)
    assert created["id"] in [r["id"] for r in combined]
    assert all(r["username"] == "admin" and r["result"] == "success" for r in combined)


def test_filter_errors(world: World) -> None:
    h = world.hangar
    body = assert_error(
        h.admin.get(
            "/api/v1/audit",
            params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        ),
        422,
        "validation_failed",
    )
    assert "since" in body["fields"]
    assert_error(h.admin.get("/api/v1/audit", params={"result": "maybe"}), 422, "validation_failed")
    body = assert_error(h.admin.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}), 422)
    assert "since" in body["fields"]  # a time without a zone is ambiguous
    assert_error(h.admin.get("/api/v1/audit", params={"limit": 0}), 422)


def test_paging(world: World) -> None:
    h = world.hangar
    first = h.admin.call("GET", "/api/v1/audit", params={"limit": 2, "offset": 0})
    second = h.admin.call("GET", "/api/v1/audit", params={"limit": 2, "offset": 2})
    assert first["total"] == second["total"] >= 4
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
    assert first["items"][0]["at"] >= first["items"][1]["at"] >= second["items"][0]["at"]


def test_csv_export(world: World) -> None:
    h = world.hangar
    evil = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]
    for name in evil:
        h.admin.call("POST", "/api/v1/tokens", 201, json={"name": name})

    response = h.admin.get("/api/v1/audit/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    total = h.admin.call("GET", "/api/v1/audit", params={"limit": 1})["total"]
    assert len(rows) - 1 == total
    names = [dict(zip(CSV_COLUMNS, r, strict=True))["target_name"] for r in rows[1:]]
    for name in evil:
        assert "'" + name in names, name
        assert name not in names
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


def test_csv_export_honours_filters(world: World) -> None:
    h = world.hangar
    assert world.dev.post("/api/v1/workspaces", json={"name": "DeniedCsv"}).status_code == 403
    response = h.admin.get(
        "/api/v1/audit/export.csv", params={"user": "auditee", "result": "denied"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and all(r["username"] == "auditee" and r["result"] == "denied" for r in rows)
    expected = h.admin.call("GET", "/api/v1/audit", params={"user": "auditee", "result": "denied"})[
        "total"
    ]
    assert len(rows) == expected


@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit/export.csv"])
def test_only_tenant_admins_read_the_audit(world: World, path: str) -> None:
    body = assert_error(world.dev.get(path), 403, "permission_denied")
    assert "audit" in body["message"]


def test_tenants_see_only_their_own_records(world: World) -> None:
    h = world.hangar
    world.other.call("POST", "/api/v1/workspaces", 201, json={"name": f"Theirs{next(_n)}"})
    mine = h.admin.call("GET", "/api/v1/auth/me")["tenant_id"]
    theirs = world.other.call("GET", "/api/v1/auth/me")["tenant_id"]
    their_items = _items(world.other)
    assert their_items and {r["tenant_id"] for r in their_items} == {theirs}
    assert _items(world.other, user="admin") == []
    assert _items(world.other, user="auditee") == []
    assert theirs not in {r["tenant_id"] for r in _items(h.admin)}
    assert {r["tenant_id"] for r in _items(h.admin)} == {mine}
    rows = list(csv.DictReader(io.StringIO(world.other.get("/api/v1/audit/export.csv").text)))
    assert len(rows) == len(their_items)
    assert not {r["username"] for r in rows} & {"admin", "auditee"}


# --- retention -----------------------------------------------------------------------------
def test_old_records_are_pruned(tmp_path_factory: pytest.TempPathFactory) -> None:
    with sqlite_hangar(
        tmp_path_factory.mktemp("prune"), audit_retention_days=90, audit_prune_interval_seconds=0.1
    ) as h:
        now = utcnow()
        ages = {"old-a": 120, "old-b": 91, "recent-a": 89, "recent-b": 1}
        with transaction(h.state.sessions) as session:
            for name, days in ages.items():
                do_record(
                    session, tenant_id=None, action="test.age", method="POST", path="/x",
                    result="success", status_code=200, target_name=name,
                    at=now - timedelta(days=days),
                )  # fmt: skip

        def remaining() -> set[str]:
            with h.state.sessions() as session:
                return set(
                    session.scalars(
                        select(AuditRecord.target_name).where(AuditRecord.action == "test.age")
                    )
                )

        deadline = time.monotonic() + 30
        while remaining() != {"recent-a", "recent-b"}:
            assert remaining() >= {"recent-a", "recent-b"}, "a record inside retention was pruned"
            assert time.monotonic() < deadline, f"old records were not pruned: {remaining()}"
            time.sleep(0.05)
        assert h.admin.call("GET", "/api/v1/audit", params={"action": "test.age"})["total"] == 0
