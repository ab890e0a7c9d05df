"""The real server process: killed with SIGKILL under concurrent writes, it restarts with every
acknowledged change present exactly once and nothing half-done; on SIGTERM it finishes the
request in flight and exits cleanly."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hangar.audit.orm import AuditRecord
from hangar.tenancy.orm import Tenant, User, Workspace, WorkspaceRole
from tests.server_process import BANNER, Server, gone
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, fresh_pg_database

pytestmark = pytest.mark.slow
_dbs = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    url = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        url = fresh_pg_database(pg, f"hangar_crash_{os.getpid()}_{next(_dbs)}")
    srv = Server(tmp_path / "home", url)
    try:
        yield srv
    finally:
        srv.stop()


def _token(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@dataclass
class Acked:
    """Mutations the server acknowledged with 2xx before it died: (action, target id, ws id)."""

    items: list[tuple[str, str, str | None]] = field(default_factory=list)
    workspaces: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, action: str, target: str, ws: str | None = None) -> None:
        with self.lock:
            self.items.append((action, target, ws))
            if action == "workspace.create":
                self.workspaces.append(target)
            elif action == "user.create":
                self.users.append(target)


def _hammer(
    url: str, admin: dict[str, str], creator: dict[str, str], n: int, acked: Acked,
    stop: threading.Event,
) -> None:  # fmt: skip
    """One writer: cycles through creating a workspace (as a second-level admin), a user, and a
    membership, recording what was acknowledged, until the server dies or ``stop`` is set."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in itertools.count():
            if stop.is_set():
                return
            try:
                kind = i % 3
                if kind == 0:
                    r = client.post(
                        "/api/v1/workspaces", headers=creator, json={"name": f"W{n}_{i}"}
                    )
                    if r.status_code == 201:
                        acked.add("workspace.create", r.json()["id"], r.json()["id"])
                elif kind == 1:
                    r = client.post(
                        "/api/v1/users", headers=admin,
                        json={"username": f"u{n}-{i}", "password": USER_PASSWORD},
                    )  # fmt: skip
                    if r.status_code == 201:
                        acked.add("user.create", r.json()["id"])
                else:
                    with acked.lock:
                        ws = acked.workspaces[-1] if acked.workspaces else None
                        user = acked.users[-1] if acked.users else None
                    if ws is None or user is None:
                        continue
                    r = client.post(
                        f"/api/v1/workspaces/{ws}/members", headers=admin,
                        json={"user_id": user, "roles": ["developer"]},
                    )  # fmt: skip
                    if r.status_code == 201:
                        acked.add("workspace.members.add", user, ws)
                assert r.status_code < 500, r.text
            except httpx.TransportError:
                return  # the server is gone


def test_sigkill_under_concurrent_writes_loses_nothing_acknowledged(server: Server) -> None:
    server.start()
    assert BANNER in server.output()
    first_pid = server.proc.pid if server.proc else 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        admin = _token(client, "admin", ADMIN_PASSWORD)
        group = client.post(
            "/api/v1/groups", headers=admin, json={"name": "second", "policy": "second_level_admin"}
        ).json()
        sla = client.post(
            "/api/v1/users", headers=admin, json={"username": "sla", "password": USER_PASSWORD}
        ).json()
        client.post(
            f"/api/v1/groups/{group['id']}/members", headers=admin, json={"user_ids": [sla["id"]]}
        ).raise_for_status()
        creator = _token(client, "sla", USER_PASSWORD)

    acked, stop = Acked(), threading.Event()
    threads = [
        threading.Thread(target=_hammer, args=(server.url, admin, creator, n, acked, stop))
        for n in range(6)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked.items) < 30:  # enough acknowledged work that the kill lands mid-stream
        assert time.monotonic() < deadline, f"only {len(acked.items)} writes acknowledged"
        assert all(t.is_alive() for t in threads), "a writer stopped early"
        time.sleep(0.02)
    server.kill()
    for t in threads:
        t.join(timeout=60)
    stop.set()
    assert not any(t.is_alive() for t in threads)
    assert gone(first_pid), "the killed server process is still there"
    with acked.lock:
        items = list(acked.items)

    server.start()  # migrations at head, no second first start
    assert BANNER not in server.output()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        _token(client, "admin", ADMIN_PASSWORD)  # the admin is still the one from the first start

    engine = server.engine()
    try:
        with engine.connect() as conn:
            admins = conn.execute(sa.select(User.username).where(User.is_platform_admin)).all()
            assert [a.username for a in admins] == ["admin"]
            assert conn.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 1

            ws_ids = set(conn.scalars(sa.select(Workspace.id)))
            user_ids = set(conn.scalars(sa.select(User.id)))
            roles = {
                (r.workspace_id, r.user_id, r.role) for r in conn.execute(sa.select(WorkspaceRole))
            }
            for action, target, ws in items:
                if action == "workspace.create":
                    assert target in ws_ids, f"acknowledged workspace {target} is lost"
                elif action == "user.create":
                    assert target in user_ids, f"acknowledged user {target} is lost"
                else:
                    assert (ws, target, "developer") in roles, (
                        f"acknowledged member {target} is lost"
                    )

            # No half-done workspace: each one the second-level admin made has its creator role.
            made = conn.scalars(
                sa.select(Workspace.id).where(Workspace.created_by == sla["id"])
            ).all()
            assert made, "the second-level admin created no workspace"
            for ws_id in made:
                assert (ws_id, sla["id"], "admin") in roles, (
                    f"workspace {ws_id} lacks its creator role"
                )

            # Exactly one success record per acknowledged mutation, and every success record
            # names something that exists (the change and its record commit together).
            records = conn.execute(
                sa.select(AuditRecord.action, AuditRecord.target_id, AuditRecord.workspace_id)
                .where(AuditRecord.result == "success")
            ).all()  # fmt: skip
            for action, target, ws in items:
                matching = [
                    r for r in records
                    if r.action == action and r.target_id == target
                    and (action != "workspace.members.add" or r.workspace_id == ws)
                ]  # fmt: skip
                assert len(matching) == 1, f"{action} {target}: {len(matching)} audit records"
            for r in records:
                if r.action == "workspace.create":
                    assert r.target_id in ws_ids, f"audited workspace {r.target_id} does not exist"
                if r.action == "user.create":
                    assert r.target_id in user_ids, f"audited user {r.target_id} does not exist"
    finally:
        engine.dispose()
    server.stop()
    assert server.proc is not None and gone(server.proc.pid)


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    server = Server(tmp_path / "home", None, log_level="info")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            admin = _token(client, "admin", ADMIN_PASSWORD)
        first_chunk_sent, release = threading.Event(), threading.Event()
        result: dict[str, Any] = {}

        def body() -> Iterator[bytes]:
            yield b'{"name": "Graceful", '
            first_chunk_sent.set()
            release.wait(30)
            yield b'"description": "finished after SIGTERM"}'

        def send() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                try:
                    result["response"] = client.post(
                        "/api/v1/workspaces", content=body(),
                        headers={**admin, "Content-Type": "application/json"},
                    )  # fmt: skip
                except httpx.HTTPError as exc:  # pragma: no cover - reported below
                    result["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        assert first_chunk_sent.wait(30)
        # A round trip on another connection: by its answer, the server has read the first
        # request's headers, which arrived earlier, so that request is in flight.
        httpx.get(f"{server.url}/healthz", timeout=10).raise_for_status()
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        release.set()
        sender.join(timeout=60)
        assert "error" not in result, result.get("error")
        response = result["response"]
        assert response.status_code == 201, response.text
        code = server.proc.wait(timeout=30)
        # A completed graceful shutdown is a clean exit (hangar.serve.GracefulServer).
        assert code == 0, f"exit {code}:\n{server.output()}"
        assert "Application shutdown complete" in server.output(), server.output()
        assert gone(server.proc.pid)
        engine = server.engine()
        try:
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.select(Workspace.description).where(Workspace.name == "Graceful")
                ).scalar_one()
                assert stored == "finished after SIGTERM"
        finally:
            engine.dispose()
    finally:
        server.stop()
