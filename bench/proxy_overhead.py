"""What the IDE/port proxy adds per request and per WebSocket message.

Starts an upstream (a tiny Starlette app) and a front app that forwards ``/dev/bench/...``
to it through ``hangar.proxy.ProxyPool``, each under Uvicorn in a process of its own (the
proxy does not share an event loop with the upstream), access logs off in both. Then times,
interleaved so drift hits both alike, sequential small GETs over one keep-alive client
straight to the upstream and through the proxy, and WebSocket echo round trips likewise.
Prints p50/p99 latency of each and the proxy's overhead (absolute and as a ratio).

    .venv/bin/python bench/proxy_overhead.py [--requests 2000] [--messages 2000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.sync.client import ClientConnection, connect

from hangar.proxy import ProxyPool, Upstream

BODY = b"x" * 256
PREFIX = "/dev/bench/"


def upstream_app() -> Starlette:
    async def small(request: Request) -> Response:
        return PlainTextResponse(BODY)

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await websocket.send_text(message["text"])

    return Starlette(routes=[WebSocketRoute("/ws", echo), Route("/{rest:path}", small)])


def proxy_app(upstream_port: int) -> Starlette:
    upstream = Upstream(
        host="127.0.0.1",
        port=upstream_port,
        public_prefix=PREFIX,
        strip_prefix=True,
        inject_headers={"Authorization": "token bench"},
        drop_cookies=frozenset({"hangar_session", "hangar_csrf"}),
    )
    activity: dict[str, float] = {}

    def touch() -> None:
        activity["bench"] = time.monotonic()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = ProxyPool()
        yield
        await app.state.pool.aclose()

    async def http(request: Request) -> Response:
        pool: ProxyPool = request.app.state.pool
        return await pool.forward_http(request, upstream, on_activity=touch)

    async def ws(websocket: WebSocket) -> None:
        pool: ProxyPool = websocket.app.state.pool
        await pool.forward_websocket(websocket, upstream, on_activity=touch)

    path = PREFIX + "{rest:path}"
    return Starlette(routes=[Route(path, http), WebSocketRoute(path, ws)], lifespan=lifespan)


def serve(role: str, port: int, upstream_port: int) -> None:
    app = upstream_app() if role == "upstream" else proxy_app(upstream_port)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(role: str, port: int, upstream_port: int, probe: str) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, "--serve", role, "--port", str(port)]
    proc = subprocess.Popen([*args, "--upstream-port", str(upstream_port)])
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(probe, timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{role} server did not start")
        time.sleep(0.05)


def interleaved(n: int, cases: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    for call in cases.values():  # warm-up: connections, caches, code paths
        for _ in range(100):
            call()
    out: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(n):
        for name, call in cases.items():
            start = time.perf_counter()
            call()
            out[name].append((time.perf_counter() - start) * 1000)
    return out


def report(title: str, results: dict[str, list[float]]) -> None:
    direct, proxied = results["direct"], results["proxied"]

    def p(samples: list[float], q: int) -> float:
        return statistics.quantiles(samples, n=100)[q - 1]

    print(f"\n{title} ({len(direct)} each)")
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, samples in results.items():
        print(
            f"{name:10} {p(samples, 50):8.3f} {p(samples, 99):8.3f} {statistics.mean(samples):8.3f}"
        )
    for q in (50, 99):
        extra = p(proxied, q) - p(direct, q)
        print(f"overhead p{q}: +{extra:.3f} ms ({p(proxied, q) / p(direct, q):.2f}x direct)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--serve", choices=["upstream", "proxy"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.upstream_port)
        return

    up_port, proxy_port = free_port(), free_port()
    direct_url = f"http://127.0.0.1:{up_port}"
    proxy_url = f"http://127.0.0.1:{proxy_port}{PREFIX.rstrip('/')}"
    procs = [start("upstream", up_port, 0, f"{direct_url}/ready")]
    try:
        procs.append(start("proxy", proxy_port, up_port, f"{proxy_url}/ready"))
        print(f"cpus: {os.cpu_count()}; python {sys.version.split()[0]}; body {len(BODY)} B")
        with httpx.Client(timeout=10) as direct, httpx.Client(timeout=10) as proxied:

            def get(client: httpx.Client, url: str) -> Callable[[], object]:
                def call() -> object:
                    response = client.get(url)
                    assert response.status_code == 200 and response.content == BODY
                    return response

                return call

            report(
                "GET, sequential, one keep-alive client",
                interleaved(
                    args.requests,
                    {
                        "direct": get(direct, f"{direct_url}/small"),
                        "proxied": get(proxied, f"{proxy_url}/small"),
                    },
                ),
            )
        ws_direct = "ws" + direct_url.removeprefix("http") + "/ws"
        ws_proxied = "ws" + proxy_url.removeprefix("http") + "/ws"
        with connect(ws_direct) as a, connect(ws_proxied) as b:

            def echo(ws: ClientConnection) -> Callable[[], object]:
                def call() -> object:
                    ws.send("x" * 64)
                    return ws.recv(timeout=10)

                return call

            report(
                "WebSocket echo round trip, 64 B text",
                interleaved(args.messages, {"direct": echo(a), "proxied": echo(b)}),
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
