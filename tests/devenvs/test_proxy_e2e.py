"""The dev-environment proxy over real HTTP: a live server (uvicorn on a loopback port), real
JupyterLab and code-server started by the scheduler, run reconciler and local backend.

* code-server answers its health endpoint at ``/dev/<id>/healthz`` (prefix stripped, the
  proxy's cookie logs in);
* an HTTP server the user runs in the environment (bound to 0.0.0.0) is reachable at
  ``/dev/<id>/ports/<port>/`` once exposed, and only then, and only for those allowed;
* bad ports and actions in the wrong state are refused with the field or the reason, and
  leave the environment as it was;
* (expected to fail until fixed) another environment cannot reach that server by exposing
  the same port: environments share the host's network today.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hangar.config import Settings
from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.devenvs.orm import DevEnvironment
from hangar.devenvs.schemas import MAX_EXPOSED_PORTS
from hangar.devenvs.tools import code_server_path
from tests import support
from tests.devenvs.support import (
    DEVENVS,
    Kernel,
    delete_all,
    env_body,
    live_api,
    outsider,
    port_block,
    wait_answering,
    wait_for,
)
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Api, free_port, live_server

pytestmark = pytest.mark.slow

#: A server in the kernel: it answers every GET with the path it saw (to show the prefix is
#: stripped) and the environment's marker file; it dies with the kernel.
SERVER = """
import http.server, threading
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{self.path} {open('/work/home/marker.txt').read()}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
open('/work/home/marker.txt', 'w').write('served from the environment')
server = http.server.ThreadingHTTPServer(('0.0.0.0', {port}), Echo)
threading.Thread(target=server.serve_forever, daemon=True).start()
print('serving', server.server_address[1])
"""


@dataclass(frozen=True)
class Live:
    url: str
    admin: Api
    ws_id: str
    settings: Settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("proxy-e2e")
    settings = support.test_settings(
        root / "home", support.sqlite_url(root), devenv_loop_seconds=0.5, **port_block()
    )
    with live_server(settings) as url:
        admin = live_api(url, "admin", ADMIN_PASSWORD)
        ws = next(w for w in admin.call("GET", "/api/v1/workspaces") if w["is_default"])
        try:
            yield Live(url=url, admin=admin, ws_id=ws["id"], settings=settings)
        finally:
            delete_all(admin)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab environment whose kernel serves HTTP on ``port``."""

    env: dict[str, Any]
    port: int

    @property
    def ports_url(self) -> str:
        return f"/dev/{self.env['id']}/ports/{self.port}/"


@dataclass(frozen=True)
class Stranger:
    api: Api
    ws_id: str


@pytest.fixture(scope="module")
def lab(live: Live) -> Iterator[Lab]:
    admin = live.admin
    env = admin.call("POST", DEVENVS, 201, json=env_body(live.ws_id, "lab", start=True))
    env = wait_for(admin, env["id"], "Running", "Failed")
    assert env["status"] == "Running", env["state_reason"]
    wait_answering(admin, f"/dev/{env['id']}/api/status")
    kernel = Kernel(admin, env["id"])
    port = free_port()  # free on the host: the environment shares its network
    assert kernel.run(SERVER.replace("{port}", str(port))).split() == ["serving", str(port)]
    yield Lab(env=env, port=port)
    kernel.shutdown()


@pytest.fixture(scope="module")
def stranger(live: Live) -> Stranger:
    """A developer of another workspace."""
    api, ws = outsider(live.admin, "stranger")
    return Stranger(api=api, ws_id=ws["id"])


@pytest.fixture
def fresh_lab(live: Live, lab: Lab) -> Iterator[Lab]:
    """The lab with no port exposed, before and after the test."""
    assert live.admin.call("GET", f"{DEVENVS}/{lab.env['id']}")["exposed_ports"] == []
    yield lab
    for port in live.admin.call("GET", f"{DEVENVS}/{lab.env['id']}")["exposed_ports"]:
        live.admin.call("DELETE", f"{DEVENVS}/{lab.env['id']}/ports/{port}")


@pytest.fixture
def exposed(live: Live, fresh_lab: Lab) -> Lab:
    """The lab with its server's port exposed."""
    live.admin.call("POST", f"{DEVENVS}/{fresh_lab.env['id']}/ports", json={"port": fresh_lab.port})
    return fresh_lab


def test_code_server_answers_through_the_proxy(live: Live, stranger: Stranger) -> None:
    if code_server_path(live.settings) is None:
        pytest.skip("code-server is not installed: run scripts/code-server.sh (make test does)")
    admin = live.admin
    body = env_body(live.ws_id, "vscode", ide="code-server", start=True)
    env = admin.call("POST", DEVENVS, 201, json=body)
    env = wait_for(admin, env["id"], "Running", "Failed")
    assert env["status"] == "Running", env["state_reason"]
    prefix = f"/dev/{env['id']}/"
    assert env["open_url"] == prefix
    # The prefix is stripped: code-server's own /healthz answers, in its own shape.
    health = wait_answering(admin, f"{prefix}healthz").json()
    assert health["status"] in ("alive", "expired") and "lastHeartbeat" in health
    # The proxy's cookie logs in: the workbench, not code-server's password page.
    page = admin.get(prefix, follow_redirects=True)
    assert page.status_code == 200 and "workbench.js" in page.text, page.text[:300]
    assert str(page.url).startswith(f"{live.url}{prefix}?folder=")
    # Its first start seeded the default user settings (no Welcome page, no update checks).
    home = live.settings.home / "users" / env["created_by"] / "home"
    seeded = json.loads((home / ".local/share/code-server/User/settings.json").read_text())
    assert seeded["workbench.startupEditor"] == "none"
    # The environment's secret never reaches a client.
    assert all("code-server-session" not in c for c in page.headers.get_list("set-cookie"))
    assert stranger.api.get(f"{prefix}healthz").status_code == 404
    admin.call("DELETE", f"{DEVENVS}/{env['id']}", 202)


def test_an_exposed_port_reaches_the_server_in_the_environment(
    live: Live, fresh_lab: Lab, stranger: Stranger
) -> None:
    admin, lab = live.admin, fresh_lab
    env_id = lab.env["id"]
    # Not exposed yet: 404 naming the way to expose it; nothing reached the server.
    hidden = page_error(admin.get(f"{lab.ports_url}hello.txt"), 404)
    assert f"port {lab.port} of 'lab' is not exposed; expose it first" in hidden

    env = admin.call("POST", f"{DEVENVS}/{env_id}/ports", json={"port": lab.port})
    assert env["exposed_ports"] == [lab.port]
    assert env["port_urls"] == {str(lab.port): lab.ports_url}
    answer = admin.get(f"{lab.ports_url}hello.txt?x=1")
    assert answer.status_code == 200, answer.text
    # The server saw its own path (the prefix stripped) and the environment's /work/home.
    assert answer.text == "/hello.txt?x=1 served from the environment"
    # The bare prefix redirects to itself with the slash; a browser follows it.
    bare = admin.get(lab.ports_url.rstrip("/"))
    assert bare.status_code == 308 and bare.headers["location"] == lab.ports_url
    assert admin.get(lab.ports_url).text == "/ served from the environment"

    # Another port of the same environment stays closed, although the env runs.
    other_port = free_port()
    closed = page_error(admin.get(f"/dev/{env_id}/ports/{other_port}/hello.txt"), 404)
    assert f"port {other_port} of 'lab' is not exposed" in closed

    # A user of another workspace learns nothing: 404 like an id that does not exist, for
    # the exposed port, the IDE and the API alike; exposing a port is refused the same way.
    other = stranger.api
    missing = page_error(other.get(f"/dev/{'0' * 16}/ports/{lab.port}/hello.txt"), 404)
    for path in (f"{lab.ports_url}hello.txt", f"/dev/{env_id}/api/status"):
        refused = page_error(other.get(path), 404)
        assert refused == missing.replace("0" * 16, env_id), path
    assert other.post(f"{DEVENVS}/{env_id}/ports", json={"port": other_port}).status_code == 404
    # Without any credentials: no content either.
    anonymous = httpx.get(f"{live.url}{lab.ports_url}x", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303 and "/login?next=" in anonymous.headers["location"]
    assert support.assert_error(httpx.get(f"{live.url}{lab.ports_url}x"), 401)  # a script

    # Unexposed again: closed again (after the proxy's 2 s decision cache).
    admin.call("DELETE", f"{DEVENVS}/{env_id}/ports/{lab.port}")
    wait_status(admin, f"{lab.ports_url}hello.txt", 404)


def test_bad_ports_are_refused_and_change_nothing(live: Live, exposed: Lab) -> None:
    admin, env_id = live.admin, exposed.env["id"]
    ports = f"{DEVENVS}/{env_id}/ports"
    ide_port = ide_port_of(live, env_id)
    for bad in (0, 80, 1023, 65536, 70000, -1, "http", None, 8000.5):
        answer = admin.post(ports, json={"port": bad})
        body = support.assert_error(answer, 422)
        assert "port" in body["fields"], (bad, body)
    assert admin.post(ports, json={}).status_code == 422
    assert admin.post(ports, json={"port": 8000, "host": "10.0.0.1"}).status_code == 422
    own = support.assert_error(admin.post(ports, json={"port": ide_port}), 422)
    assert own["fields"] == {"port": own["fields"]["port"]} and "IDE" in own["message"]
    again = support.assert_error(admin.post(ports, json={"port": exposed.port}), 409)
    assert "already exposed" in again["message"]
    never = support.assert_error(admin.delete(f"{ports}/{free_port()}"), 409)
    assert "not exposed" in never["message"]
    # Nothing changed: one port exposed, the server still reached.
    assert admin.call("GET", f"{DEVENVS}/{env_id}")["exposed_ports"] == [exposed.port]
    assert admin.get(f"{exposed.ports_url}ok").status_code == 200

    # A port nothing listens on: accepted (the server may start later), and the proxy says
    # clearly that nothing in the environment listens there, to scripts and browsers alike.
    with support.refusing_port() as silent:  # held: no other test's server can take it
        admin.call("POST", ports, json={"port": silent})
        down = support.assert_error(admin.get(f"/dev/{env_id}/ports/{silent}/"), 409)
        assert f"nothing in 'lab' listens on port {silent}" in down["message"]
        assert down["fields"] == {"port": "not listening"}
        navigate = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
        page = page_error(admin.get(f"/dev/{env_id}/ports/{silent}/", headers=navigate), 409)
        assert f"listens on port {silent}" in page

    # At most MAX_EXPOSED_PORTS: the next one is a 409 naming the limit; the list is intact.
    spare = [p for p in range(50_000, 50_100) if p not in (exposed.port, silent, ide_port)]
    for port in spare[: MAX_EXPOSED_PORTS - 2]:
        admin.call("POST", ports, json={"port": port})
    full = admin.call("GET", f"{DEVENVS}/{env_id}")["exposed_ports"]
    assert len(full) == MAX_EXPOSED_PORTS
    over = support.assert_error(admin.post(ports, json={"port": spare[-1]}), 409)
    assert str(MAX_EXPOSED_PORTS) in over["message"] and "port" in over["fields"]
    assert admin.call("GET", f"{DEVENVS}/{env_id}")["exposed_ports"] == full
    assert admin.get(f"{exposed.ports_url}still").text == "/still served from the environment"


def test_an_environment_cannot_expose_another_ones_server(live: Live, exposed: Lab) -> None:
    # A developer of the same workspace: they cannot open the admin's environment...
    user = live.admin.call(
        "POST", "/api/v1/users", 201, json={"username": "neighbour", "password": USER_PASSWORD}
    )
    member = {"user_id": user["id"], "roles": ["developer"]}
    live.admin.call("POST", f"/api/v1/workspaces/{live.ws_id}/members", 201, json=member)
    neighbour = live_api(live.url, "neighbour")
    assert neighbour.get(f"{exposed.ports_url}x").status_code == 404
    theirs = neighbour.call("POST", DEVENVS, 201, json=env_body(live.ws_id, "next", start=True))
    try:
        wait_for(neighbour, theirs["id"], "Running")
        # ...and must not reach its server through an environment of their own either: the
        # port's listener is not theirs (environments share the host's network).
        neighbour.call("POST", f"{DEVENVS}/{theirs['id']}/ports", json={"port": exposed.port})
        leak = neighbour.get(f"/dev/{theirs['id']}/ports/{exposed.port}/secret")
        assert "served from the environment" not in leak.text, leak.text
        assert "listens on port" in support.assert_error(leak, 409)["message"]
    finally:
        neighbour.call("DELETE", f"{DEVENVS}/{theirs['id']}", 202)


def test_actions_in_the_wrong_state_are_refused(live: Live) -> None:
    admin = live.admin
    env = admin.call("POST", DEVENVS, 201, json=env_body(live.ws_id, "states"))
    env_id, ports = env["id"], f"{DEVENVS}/{env['id']}/ports"
    # Not started: no ports, nothing to stop, the proxy says why.
    refused = support.assert_error(admin.post(ports, json={"port": 8000}), 409)
    assert "running" in refused["message"] and "port" in refused["fields"]
    assert support.assert_error(admin.post(f"{DEVENVS}/{env_id}/stop"), 409)["fields"]
    closed = page_error(admin.get(f"/dev/{env_id}/api/status"), 409)
    assert "dev environment 'states' is not running; start it, then open it" in closed

    admin.call("POST", f"{DEVENVS}/{env_id}/start")
    wait_for(admin, env_id, "Running")
    wait_answering(admin, f"/dev/{env_id}/api/status")
    admin.call("POST", ports, json={"port": 8000})
    admin.call("POST", f"{DEVENVS}/{env_id}/stop")
    twice = support.assert_error(admin.post(f"{DEVENVS}/{env_id}/stop"), 409)
    assert "stop" in twice["message"]
    wait_for(admin, env_id, "Not started")
    # Stopped: adding a port is refused; the exposed one answers why it is closed.
    stopped = support.assert_error(admin.post(ports, json={"port": 8001}), 409)
    assert "not started" in stopped["message"]
    assert admin.call("GET", f"{DEVENVS}/{env_id}")["exposed_ports"] == [8000]
    wait_status(admin, f"/dev/{env_id}/ports/8000/", 409)

    # Deleted: start, stop, ports and the proxy all answer 404 naming the environment.
    admin.call("DELETE", f"{DEVENVS}/{env_id}", 202)
    for method, path in (
        ("POST", f"{DEVENVS}/{env_id}/start"),
        ("POST", f"{DEVENVS}/{env_id}/stop"),
        ("POST", ports),
    ):
        gone = support.assert_error(admin.request(method, path, json={"port": 8000}), 404)
        assert "dev environment" in gone["message"], (path, gone)
    assert env_id in page_error(admin.get(f"/dev/{env_id}/ports/8000/"), 404)


def ide_port_of(live: Live, env_id: str) -> int:
    """The IDE's loopback port: the API never shows it, so read the database."""
    engine = make_engine(live.settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            env = session.get(DevEnvironment, env_id)
            assert env is not None and env.ide_port is not None
            return env.ide_port
    finally:
        engine.dispose()


def wait_status(api: Api, path: str, status: int, *, timeout: float = 10.0) -> None:
    """Poll ``path`` until it answers ``status`` (the proxy caches decisions 2 s)."""
    deadline = time.monotonic() + timeout
    while (answer := api.get(path)).status_code != status:
        assert time.monotonic() < deadline, f"{path}: {answer.status_code} {answer.text[:200]}"
        time.sleep(0.2)


def page_error(answer: httpx.Response, status: int) -> str:
    """The proxy's own refusal: a console error page for a browser, the API's JSON error for
    a script with a token. Assert the status and return the page's text or the message."""
    assert answer.status_code == status, f"expected {status}: {answer.status_code} {answer.text}"
    if answer.headers["content-type"].startswith("application/json"):
        return str(support.assert_error(answer, status)["message"])
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    return html.unescape(answer.text)
