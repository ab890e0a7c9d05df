"""The authenticated door to IDEs and exposed ports: ``/dev/<id>/...`` (ARCHITECTURE.md
"Proxy and gateway"; spec 04 §6.1).

Every request and every WebSocket handshake is checked: the caller (console session cookie
or API token) must be allowed to *start* the environment (matrix row 71: its creator, or a
workspace or tenant admin); anyone else gets the same 404 as for an environment that does
not exist. Then :mod:`hangar.proxy` forwards it:

* ``/dev/<id>/...`` → the IDE on its loopback port. JupyterLab gets its token as an
  ``Authorization`` header; code-server gets its session cookie. The IDE's own XSRF and
  origin checks stay on. Hangar's own cookies are never forwarded.
* ``/dev/<id>/ports/<port>/...`` → an HTTP server the user runs in the environment
  (bound to 0.0.0.0) on a port they exposed; the prefix is stripped.

Cookies an IDE sets are confined to the environment's path (per-environment cookie path).
WebSocket handshakes must come from this server's own origin. A browser that opens a page
while nothing listens yet gets a page saying so (for the IDE, one that reloads itself), not
the proxy's JSON.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hangar.api.deps import SAFE_METHODS, SESSION_COOKIE, app_state
from hangar.api.state import AppState
from hangar.backends.state import RunHandle
from hangar.devenvs import code_server, launch, probes
from hangar.devenvs.orm import DevEnvironment
from hangar.devenvs.service import KIND
from hangar.errors import Conflict, HangarError, NotAuthenticated, NotFound, PermissionDenied
from hangar.jobs.access import access_job
from hangar.proxy import Upstream
from hangar.proxy.http import RelayedResponse
from hangar.tenancy import auth
from hangar.tenancy.access import Actor
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Workload
from hangar.workloads.service import current_handle

gateway = APIRouter(include_in_schema=False)
HANGAR_COOKIES = frozenset({SESSION_COOKIE, "hangar_csrf"})
NEVER_FORWARDED = frozenset({"authorization"})  # a Hangar API token must not reach the IDE


@dataclass(frozen=True)
class Caller:
    cookies: dict[str, str]
    headers: dict[str, str]


def _actor(session: Session, caller: Caller) -> Actor:
    header = caller.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return auth.resolve_token(session, value)
    cookie = caller.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated("log in to Hangar first; IDEs open only for signed-in users")
    actor, _row = auth.resolve_session(session, cookie)
    return actor


def resolve(state: AppState, caller: Caller, env_id: str, port: int | None) -> Upstream:
    """The upstream for the caller, or a HangarError (404 for anyone not allowed)."""
    with state.sessions() as session:
        actor = _actor(session, caller)
        try:
            gate = access_job(
                session, actor, env_id, "devenv.start", write=False, kind=KIND,
                label="dev environment",
            )  # fmt: skip
        except PermissionDenied:  # a workspace member who may not open it: as if it did not exist
            raise NotFound.of("dev environment", env_id) from None
        workload: Workload = gate.job
        env = session.get(DevEnvironment, env_id)
        assert env is not None
        if workload.state != State.RUNNING.value or env.ide_port is None:
            raise Conflict(
                f"dev environment '{workload.name}' is not running; start it, then open it",
                fields={"state": workload.state},
            )
        if port is None:
            return _ide_upstream(env)
        if port not in env.exposed_ports:
            raise NotFound(
                f"port {port} of '{workload.name}' is not exposed; expose it first "
                f"(`hangar dev port {workload.name} {port}`)",
                fields={"port": "not exposed"},
            )
        handle, name = current_handle(session, workload), workload.name
    # Outside the session: the listener check reads /proc (no transaction held meanwhile).
    if not _listens(state, handle, port):
        raise Conflict(
            f"nothing in '{name}' listens on port {port}: start your server in the environment "
            f"on 0.0.0.0:{port}, then reload",
            fields={"port": "not listening"},
        )
    return Upstream(
        host="127.0.0.1", port=port, public_prefix=launch.ports_prefix(env_id, port),
        strip_prefix=True, drop_cookies=HANGAR_COOKIES, drop_headers=NEVER_FORWARDED,
    )  # fmt: skip


def _ide_upstream(env: DevEnvironment) -> Upstream:
    env_id, port = env.workload_id, env.ide_port
    assert port is not None
    if env.ide == "jupyterlab":
        return Upstream(
            host="127.0.0.1", port=port, public_prefix=launch.public_prefix(env_id),
            strip_prefix=False, inject_headers={"Authorization": f"token {env.secret}"},
            drop_cookies=HANGAR_COOKIES, drop_headers=NEVER_FORWARDED,
        )  # fmt: skip
    return Upstream(
        host="127.0.0.1", port=port, public_prefix=launch.public_prefix(env_id),
        strip_prefix=True, drop_cookies=HANGAR_COOKIES, drop_headers=NEVER_FORWARDED,
        inject_cookies=code_server.auth_cookies(env.secret),
    )  # fmt: skip


def _listens(state: AppState, handle: RunHandle | None, port: int) -> bool:
    """Whether the port's listener is the environment's own (see :func:`probes.listens_on`)."""
    if handle is None:
        return False
    try:
        observed = state.backend.poll(handle)
    except HangarError:
        return False
    return any(probes.listens_on(node.pid, port) for node in observed.nodes)


def _same_origin(headers: Mapping[str, str]) -> bool:
    """Browsers send Origin with WebSocket handshakes and unsafe requests; it must be ours.

    This is the proxy's cross-site request defence: JupyterLab skips its XSRF check for
    token-authenticated requests, and the proxy authenticates every request with the token.
    """
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser: API clients authenticate with a token
    return urlsplit(origin).netloc == headers.get("host", "")


class UpstreamCache:
    """Decisions of the last ``TTL`` seconds per (credential, environment, port): the proxy is
    the hot path, and a permission or state change takes effect within ``TTL``."""

    TTL = 2.0

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, int | None], tuple[float, Upstream]] = {}

    @staticmethod
    def _key(
        state: AppState, caller: Caller, env_id: str, port: int | None
    ) -> tuple[str, str, int | None]:
        credential = caller.headers.get("authorization") or caller.cookies.get(SESSION_COOKIE, "")
        return (f"{id(state)}:{credential}", env_id, port)

    def forget(self, state: AppState, caller: Caller, env_id: str, port: int | None) -> None:
        self._seen.pop(self._key(state, caller, env_id, port), None)

    async def get(self, state: AppState, caller: Caller, env_id: str, port: int | None) -> Upstream:
        """A fresh decision from memory; otherwise the database, off the event loop."""
        key = self._key(state, caller, env_id, port)
        hit = self._seen.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.TTL:
            return hit[1]
        upstream = await run_in_threadpool(resolve, state, caller, env_id, port)
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (time.monotonic(), upstream)
        return upstream


CACHE = UpstreamCache()


async def _http(request: Request, env_id: str, port: int | None) -> Response:
    state = app_state(request)
    if request.method not in SAFE_METHODS and not _same_origin(request.headers):
        raise PermissionDenied(
            "cross-site request refused: IDEs accept changes only from this server's own pages"
        )
    caller = Caller(dict(request.cookies), dict(request.headers))
    upstream = await CACHE.get(state, caller, env_id, port)
    response = await state.proxy.forward_http(
        request, upstream, on_activity=lambda: state.touch(env_id)
    )
    if response.status_code == 502 and request.method in SAFE_METHODS:
        # The port is closed: a cached decision may predate a stop. Decide again, so a
        # stopped environment answers why (409) instead of a bare 502.
        CACHE.forget(state, caller, env_id, port)
        upstream = await CACHE.get(state, caller, env_id, port)
        response = await state.proxy.forward_http(request, upstream)
        if response.status_code == 502 and _navigation(request):
            return _not_answering_page(response, ide=port is None)
    return response


def _navigation(request: Request) -> bool:
    """A browser loading a page (not a script's fetch): it is shown a page, not JSON."""
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return request.headers.get("accept", "").startswith("text/html")


NOT_ANSWERING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">{refresh}<title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p><p>{hint}</p></body></html>
"""


def _not_answering_page(response: Response, *, ide: bool) -> Response:
    """The proxy's own 502 (nothing listens yet) as a page. An environment is Running once its
    process is, a few seconds before its IDE listens: that page reloads itself until the IDE
    answers (or the environment stopped, which answers 409). A user's server on an exposed
    port is not waited for: reloading would count as activity and keep it from idling."""
    if isinstance(response, RelayedResponse):
        return response  # the upstream's own 502: theirs to show
    if ide:
        title, refresh = "Your IDE is starting", '<meta http-equiv="refresh" content="2">'
        message = "The environment runs, but its IDE does not answer yet: that takes a few "
        message += "seconds after a start."
        hint = "This page reloads every 2 seconds until it answers."
    else:
        title, refresh = "Nothing answers on this port", ""
        message = json.loads(bytes(response.body)).get("message", "")
        hint = "Start your server (bound to 0.0.0.0), then reload this page."
    page = NOT_ANSWERING.format(
        refresh=refresh, title=title, message=html.escape(message), hint=hint
    )
    return HTMLResponse(page, status_code=502, headers={"Cache-Control": "no-store"})


async def _ws(websocket: WebSocket, env_id: str, port: int | None) -> None:
    state: AppState = websocket.app.state.hangar
    caller = Caller(dict(websocket.cookies), dict(websocket.headers))
    if not _same_origin(websocket.headers):
        await websocket.close(code=1008, reason="cross-origin WebSocket refused")
        return
    try:
        upstream = await CACHE.get(state, caller, env_id, port)
    except HangarError as err:
        await websocket.close(code=1008, reason=str(err)[:120])
        return
    state.touch(env_id)
    await state.proxy.forward_websocket(
        websocket, upstream, on_activity=lambda: state.touch(env_id)
    )


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@gateway.api_route("/dev/{env_id}/ports/{port}/{path:path}", methods=METHODS)
async def port_http(request: Request, env_id: str, port: int, path: str) -> Response:
    return await _http(request, env_id, port)


# Without its slash the port's prefix would match the IDE's routes below and reach the IDE;
# here it is the port's: HTTP is redirected to the prefix, a WebSocket goes to its root.
@gateway.api_route("/dev/{env_id}/ports/{port}", methods=METHODS)
async def port_root_http(request: Request, env_id: str, port: int) -> Response:
    return await _http(request, env_id, port)


@gateway.websocket("/dev/{env_id}/ports/{port}")
async def port_root_ws(websocket: WebSocket, env_id: str, port: int) -> None:
    await _ws(websocket, env_id, port)


@gateway.websocket("/dev/{env_id}/ports/{port}/{path:path}")
async def port_ws(websocket: WebSocket, env_id: str, port: int, path: str) -> None:
    await _ws(websocket, env_id, port)


@gateway.api_route("/dev/{env_id}/{path:path}", methods=METHODS)
async def ide_http(request: Request, env_id: str, path: str) -> Response:
    return await _http(request, env_id, None)


@gateway.websocket("/dev/{env_id}/{path:path}")
async def ide_ws(websocket: WebSocket, env_id: str, path: str) -> None:
    await _ws(websocket, env_id, None)
