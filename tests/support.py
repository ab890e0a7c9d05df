"""Test support: an in-process Hangar on a real database, and an API client per user.

Nothing here replaces project code: every call goes through the real app, its middleware,
its dependencies and a real SQLite or PostgreSQL database.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hangar.api.state import AppState
from hangar.app import build_state, create_app
from hangar.config import Settings, load_settings

ADMIN_PASSWORD = "admin-pass-123"
USER_PASSWORD = "user-pass-123"


class Api:
    """An authenticated client for one user; ``call`` asserts the expected status."""

    def __init__(self, client: httpx.Client | TestClient, token: str, username: str) -> None:
        self.client, self.token, self.username = client, token, username

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def call(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        assert response.status_code == status, (
            f"{method} {path}: expected {status}, got {response.status_code}: {response.text}"
        )
        return response.json() if response.content else None


@dataclass
class Hangar:
    """A Hangar app served in-process with a TestClient (ASGI, no sockets)."""

    settings: Settings
    state: AppState
    app: FastAPI
    client: TestClient
    _apis: dict[str, Api] = field(default_factory=dict)

    def login(self, username: str, password: str = USER_PASSWORD) -> Api:
        response = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.text
        return Api(self.client, response.json()["token"], username)

    @property
    def admin(self) -> Api:
        if "admin" not in self._apis:
            self._apis["admin"] = self.login("admin", ADMIN_PASSWORD)
        return self._apis["admin"]

    # --- factories, all through the public API -------------------------------------------
    def create_user(self, username: str, *, admin: Api | None = None) -> dict[str, Any]:
        user: dict[str, Any] = (admin or self.admin).call(
            "POST", "/api/v1/users", 201,
            json={"username": username, "password": USER_PASSWORD},
        )  # fmt: skip
        return user

    def user_api(
        self, username: str, *, groups: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], Api]:
        """Create a sub-account, put it in the named groups, and log it in."""
        user = self.create_user(username)
        for name in groups:
            group = self.group(name)
            self.admin.call(
                "POST", f"/api/v1/groups/{group['id']}/members", json={"user_ids": [user["id"]]}
            )
        return user, self.login(username)

    def group(self, name: str) -> dict[str, Any]:
        for group in self.admin.call("GET", "/api/v1/groups"):
            if group["name"] == name:
                return dict(group)
        raise KeyError(name)

    def default_workspace(self) -> dict[str, Any]:
        return next(w for w in self.admin.call("GET", "/api/v1/workspaces") if w["is_default"])

    def create_workspace(self, name: str, api: Api | None = None) -> dict[str, Any]:
        ws: dict[str, Any] = (api or self.admin).call(
            "POST", "/api/v1/workspaces", 201, json={"name": name}
        )
        return ws

    def add_member(self, ws_id: str, user_id: str, *roles: str) -> dict[str, Any]:
        member: dict[str, Any] = self.admin.call(
            "POST", f"/api/v1/workspaces/{ws_id}/members", 201,
            json={"user_id": user_id, "roles": list(roles)},
        )  # fmt: skip
        return member


def test_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    return load_settings(
        home=home,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        config_file=home / "none.toml",
        **overrides,
    )


@contextmanager
def running_hangar(settings: Settings) -> Iterator[Hangar]:
    state, _first = build_state(settings)
    app = create_app(settings, state)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Hangar(settings=settings, state=state, app=app, client=client)


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections and stays ours while the block runs: bound
    but never listening, so no other test's server can take it (a port that was merely free
    a moment ago may be handed to one, which would then answer)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serve Hangar over real HTTP on a loopback port in a background thread."""
    state, _first = build_state(settings)
    app = create_app(settings, state)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=20)


# --- PostgreSQL -----------------------------------------------------------------------------
PG_ENV = "HANGAR_TEST_PG_URL"
NO_PG_ENV = "HANGAR_TEST_NO_PG"


def pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def fresh_pg_database(base_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``base_url``; return its URL."""
    url = sa.make_url(base_url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


# --- helpers for the server-side suites ---------------------------------------------------
def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'hangar.db'}"


@contextmanager
def sqlite_hangar(directory: Path, **overrides: Any) -> Iterator[Hangar]:
    """A running Hangar on a fresh SQLite file under ``directory`` (for module-scoped setups)."""
    with running_hangar(test_settings(directory / "home", sqlite_url(directory), **overrides)) as h:
        yield h


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an error answer: the status, and a body of exactly ``code``, ``message``, ``fields``."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["fields"], dict), body
    if code is not None:
        assert body["code"] == code, body
    return body


def console_login(
    h: Hangar, username: str, password: str = USER_PASSWORD
) -> tuple[TestClient, str]:
    """Log in through the console endpoint with a client of its own (its own cookie jar).

    Returns the client, which now carries the session cookie, and the CSRF token.
    """
    client = TestClient(h.app, base_url="http://127.0.0.1")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client, response.headers["x-csrf-token"]


def create_tenant(h: Hangar, name: str, owner: str) -> Api:
    """Create another tenant as the platform admin and log its main account in."""
    h.admin.call(
        "POST", "/api/v1/tenants", 201,
        json={"name": name, "owner_username": owner, "owner_password": USER_PASSWORD},
    )  # fmt: skip
    return h.login(owner)


def dump_database(engine: sa.Engine) -> str:
    """Every row of every table, as text: for checking that no secret is stored in clear."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    out = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                out.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(out)
