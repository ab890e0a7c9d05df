"""Proxy test stack: a real upstream app and a real front app calling ``ProxyPool``, each
served by Uvicorn on a loopback port in a thread of its own.

The upstream echoes what reached it, sets cookies, redirects, streams slowly and speaks
WebSocket; ``Probe`` carries signals between it and the test thread. The front maps
``/dev/<env>/...`` to the ``Upstream`` of that env name, the way the platform's routes will.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from queue import Queue

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from hangar.proxy import ProxyPool, Upstream
from tests.support import refusing_port

CHUNK = bytes(range(256)) * 256  # 64 KiB
GZIPPED = gzip.compress(b"hello proxy " * 1000)
INJECTED_AUTH = "token ide-secret"
PLATFORM_COOKIES = frozenset({"hangar_session", "hangar_csrf"})
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
UPSTREAM_COOKIES = [
    "a=1; Path=/",
    "b=2",
    "c=3; Path=/sub; HttpOnly",
    "d=4; Domain=example.com; Path=/x",
    "e=5; Path=/dev/full/lab",
    "f=6; Path=/dev/other/",
    "hangar_session=forged; Path=/",
]


def payload(size: int) -> Iterator[bytes]:
    """``size`` bytes of the upstream's download pattern, in 64 KiB chunks."""
    sent = 0
    while sent < size:
        piece = CHUNK[: size - sent]
        sent += len(piece)
        yield piece


@dataclass
class Probe:
    """Signals between the upstream app (its own thread) and the test."""

    upload_started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    aborted: threading.Event = field(default_factory=threading.Event)
    ws_closed: Queue[tuple[int, str]] = field(default_factory=Queue)

    def reset(self) -> None:
        self.upload_started.clear()
        self.release.clear()
        self.aborted.clear()


def upstream_app(probe: Probe) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.scope["query_string"].decode("latin-1"),
                "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
                "body": body.decode("latin-1"),
                "client_port": request.scope["client"][1],
            }
        )

    async def upload(request: Request) -> Response:
        digest, size = hashlib.sha256(), 0
        async for chunk in request.stream():
            if chunk and not size:
                probe.upload_started.set()
            digest.update(chunk)
            size += len(chunk)
        return JSONResponse({"size": size, "sha256": digest.hexdigest()})

    async def download(request: Request) -> Response:
        size = int(request.query_params["size"])
        gated = "gated" in request.query_params

        async def body() -> AsyncIterator[bytes]:
            try:
                for n, piece in enumerate(payload(size)):
                    yield piece
                    deadline = time.monotonic() + 10
                    while gated and n == 0 and not probe.release.is_set():
                        assert time.monotonic() < deadline, "the test never released the stream"
                        await anyio.sleep(0.01)
            except BaseException:
                probe.aborted.set()
                raise

        return StreamingResponse(body(), headers={"content-length": str(size)})

    async def cookies(request: Request) -> Response:
        response = Response(b"ok")
        response.raw_headers += [(b"set-cookie", c.encode()) for c in UPSTREAM_COOKIES]
        return response

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"location": request.query_params["to"]})

    async def hop(request: Request) -> Response:
        response = Response(b"ok")
        response.raw_headers += [
            (b"connection", b"x-secret-hop"),
            (b"x-secret-hop", b"1"),
            (b"keep-alive", b"timeout=5"),
            (b"proxy-authenticate", b"Basic"),
            (b"clear-site-data", b'"cookies"'),
            (b"strict-transport-security", b"max-age=60"),
            (b"service-worker-allowed", b"/"),
            (b"x-kept", b"yes"),
        ]
        return response

    async def gzipped(request: Request) -> Response:
        return Response(GZIPPED, headers={"content-encoding": "gzip"})

    async def ws_echo(websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol="v2.test" if "v2.test" in offered else None)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                probe.ws_closed.put((message.get("code", 1005), message.get("reason") or ""))
                return
            text = message.get("text")
            if text is None:
                await websocket.send_bytes(message["bytes"])
            elif text == "handshake?":
                await websocket.send_json(
                    {
                        "raw_path": websocket.scope["raw_path"].decode("latin-1"),
                        "query": websocket.scope["query_string"].decode("latin-1"),
                        "headers": [
                            [k.decode(), v.decode()] for k, v in websocket.scope["headers"]
                        ],
                    }
                )
            elif text.startswith("close:"):
                _, code, reason = text.split(":", 2)
                await websocket.close(int(code), reason)
                return
            else:
                await websocket.send_text(text)

    async def ws_refuse(websocket: WebSocket) -> None:
        await websocket.close(4403)

    routes = [
        Route("/upload", upload, methods=["POST"]),
        Route("/download", download),
        Route("/cookies", cookies),
        Route("/redirect", redirect),
        Route("/hop", hop),
        Route("/gzip", gzipped),
        WebSocketRoute("/ws", ws_echo),
        WebSocketRoute("/ws-refuse", ws_refuse),
        Route("/{rest:path}", echo, methods=METHODS),
    ]
    # The "full" env forwards paths unchanged, like Jupyter with its base_url.
    return Starlette(routes=[Mount("/dev/full", routes=routes), *routes])


def front_app(upstreams: dict[str, Upstream], activity: Counter[str]) -> Starlette:
    """The platform's side, minus authentication: env name → ``Upstream`` → ``ProxyPool``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = ProxyPool(connect_timeout=2)
        yield
        await app.state.pool.aclose()

    def touch(env: str) -> None:
        activity[env] += 1

    async def http(request: Request) -> Response:
        env = request.path_params["env"]
        pool: ProxyPool = request.app.state.pool
        return await pool.forward_http(request, upstreams[env], on_activity=lambda: touch(env))

    async def ws(websocket: WebSocket) -> None:
        env = websocket.path_params["env"]
        pool: ProxyPool = websocket.app.state.pool
        await pool.forward_websocket(websocket, upstreams[env], on_activity=lambda: touch(env))

    async def tasks(request: Request) -> Response:
        pool: ProxyPool = request.app.state.pool
        return JSONResponse(
            {"tasks": len(asyncio.all_tasks()), "open_websockets": pool.open_websockets}
        )

    return Starlette(
        routes=[
            Route("/_tasks", tasks),
            Route("/dev/{env}/{rest:path}", http, methods=METHODS),
            Route("/dev/{env}", http, methods=METHODS),
            WebSocketRoute("/dev/{env}/{rest:path}", ws),
            WebSocketRoute("/dev/{env}", ws),
        ],
        lifespan=lifespan,
    )


@contextmanager
def serving(app: ASGIApp) -> Iterator[int]:
    """Serve ``app`` with Uvicorn on a free loopback port in a thread; yield the port."""
    # As Hangar serves (proxy_headers=False): the peer address is the client, whatever
    # X-Forwarded-For a client claims.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def hanging_up() -> Iterator[int]:
    """A TCP server that accepts each connection and closes it unanswered; yield its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the loop sees ``stop``
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


@dataclass
class Stack:
    url: str  # the front, http://127.0.0.1:<port>
    upstream_port: int
    probe: Probe
    activity: Counter[str]

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


@contextmanager
def proxy_stack() -> Iterator[Stack]:
    probe = Probe()
    activity: Counter[str] = Counter()
    with serving(upstream_app(probe)) as up, hanging_up() as broken, refusing_port() as closed:
        common = {
            "host": "127.0.0.1",
            "port": up,
            "inject_headers": {"Authorization": INJECTED_AUTH},
            "drop_headers": frozenset({"X-Hangar-Token"}),
            "drop_cookies": PLATFORM_COOKIES,
            "inject_cookies": {"ide-auth": "cookie-secret"},
        }
        upstreams = {
            "strip": Upstream(public_prefix="/dev/strip/", strip_prefix=True, **common),
            "full": Upstream(public_prefix="/dev/full/", strip_prefix=False, **common),
            "abc": Upstream(public_prefix="/dev/abc/ports/8000/", strip_prefix=True, **common),
            "closed": Upstream(
                host="127.0.0.1", port=closed, public_prefix="/dev/closed/", strip_prefix=True
            ),
            "broken": Upstream(
                host="127.0.0.1", port=broken, public_prefix="/dev/broken/", strip_prefix=True
            ),
        }
        with serving(front_app(upstreams, activity)) as front:
            yield Stack(f"http://127.0.0.1:{front}", up, probe, activity)
