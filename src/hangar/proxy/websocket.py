"""WebSocket forwarding: handshake upstream first, then accept the client with the subprotocol
the upstream chose, then relay frames both ways until either side closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Callable, MutableSet
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from hangar.proxy.rewrite import (
    WEBSOCKET_HANDSHAKE,
    ascii_path,
    client_scheme,
    forward_request_headers,
)
from hangar.proxy.upstream import Upstream

log = logging.getLogger("hangar.proxy")

# Close codes (RFC 6455 §7.4).
NORMAL, GOING_AWAY, POLICY, INTERNAL_ERROR, TRY_AGAIN_LATER = 1000, 1001, 1008, 1011, 1013
NO_STATUS, ABNORMAL = 1005, 1006
_SENDABLE = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})
# How a send reports that the client is gone: Starlette wraps the server's OSError once the
# connection is accepted, not before.
CLIENT_GONE = (WebSocketDisconnect, OSError)
# A Host header safe to put into a ws:// URI: no userinfo, path or other URI syntax.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


@dataclass(frozen=True, slots=True)
class _End:
    """How a relay ended: which side closed first, with which code and reason."""

    by_client: bool
    code: int | None
    reason: str


def sendable_code(code: int | None, *, fallback: int) -> int:
    """A code that may go into a close frame: 1005/1006/1015 only report what happened."""
    if code is None or code == NO_STATUS:
        return NORMAL
    if code in _SENDABLE or 3000 <= code < 5000:
        return code
    return fallback


def close_reason(text: str) -> str:
    """``text`` cut to the 123 bytes a close frame can carry."""
    return text.encode()[:123].decode(errors="ignore")


async def _open_socket(upstream: Upstream) -> socket.socket:
    """A connected TCP socket to the upstream, or OSError.

    Connected here, not by the WebSocket library, so connecting has a short limit of its own
    while the handshake may take long (Jupyter answers it once the kernel is ready).
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(upstream.host, upstream.port, type=socket.SOCK_STREAM)
    error = OSError(f"{upstream.authority} has no address")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:  # cancelled or timed out: the socket must not leak
            sock.close()
            raise
        else:
            return sock
    raise error


def _handshake_host(headers: list[tuple[bytes, bytes]], upstream: Upstream) -> str:
    """The Host for the upstream handshake: the client's (IDEs compare it with Origin) when
    it is a plain host[:port], else the upstream's own."""
    for name, value in headers:
        if name == b"host":
            host = value.decode("latin-1")
            return host if _HOST.fullmatch(host) else upstream.authority
    return upstream.authority


class _Connect(connect):
    """The library's connector without redirect following: an upstream's redirect must not
    send the proxy elsewhere."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


async def _client_to_upstream(
    websocket: WebSocket, conn: ClientConnection, touch: Callable[[], None] | None
) -> _End:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return _End(True, message.get("code"), message.get("reason") or "")
        if touch is not None:
            touch()
        text = message.get("text")
        try:
            await conn.send(text if text is not None else message.get("bytes") or b"")
        except ConnectionClosed:
            return _End(False, conn.close_code, conn.close_reason or "")


async def _upstream_to_client(
    websocket: WebSocket, conn: ClientConnection, touch: Callable[[], None] | None
) -> _End:
    while True:
        try:
            data = await conn.recv()
        except ConnectionClosed:
            return _End(False, conn.close_code, conn.close_reason or "")
        if touch is not None:
            touch()
        key = "text" if isinstance(data, str) else "bytes"
        try:
            await websocket.send({"type": "websocket.send", key: data})
        except WebSocketDisconnect:
            return _End(True, ABNORMAL, "")


async def _relay(
    websocket: WebSocket, conn: ClientConnection, touch: Callable[[], None] | None
) -> None:
    tasks = [
        asyncio.create_task(_client_to_upstream(websocket, conn, touch)),
        asyncio.create_task(_upstream_to_client(websocket, conn, touch)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    ends: list[_End] = []
    for task in tasks:
        if task.cancelled():
            continue
        error = task.exception()
        if error is not None:
            raise error
        ends.append(task.result())
    end = ends[0]
    if end.by_client:
        await conn.close(sendable_code(end.code, fallback=GOING_AWAY), close_reason(end.reason))
        return
    reason = end.reason or ("upstream connection lost" if end.code == ABNORMAL else "")
    with contextlib.suppress(WebSocketDisconnect):
        await websocket.close(
            sendable_code(end.code, fallback=INTERNAL_ERROR), close_reason(reason)
        )


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Tell the client why, in a close frame: that needs an accepted connection, and a browser
    only accepts one that echoes a subprotocol it offered, so echo its first."""
    offered = websocket.scope.get("subprotocols") or []
    with contextlib.suppress(*CLIENT_GONE):
        await websocket.accept(subprotocol=offered[0] if offered else None)
        await websocket.close(code, close_reason(reason))


async def forward_websocket(
    websocket: WebSocket,
    upstream: Upstream,
    *,
    connect_timeout: float,
    handshake_timeout: float,
    open_connections: MutableSet[ClientConnection],
    on_activity: Callable[[], None] | None = None,
) -> None:
    """Relay ``websocket`` (not yet accepted) to ``upstream`` until either side closes.

    Close codes pass through both ways. If the upstream cannot be reached the client is
    closed with 1013 (try again later); if it refuses the handshake, with 1011; a path
    outside ``public_prefix`` is refused before the handshake (HTTP 403).
    """
    scope = websocket.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    path = ascii_path(raw_path)
    target = upstream.upstream_path(path)
    if target is None and path == upstream.prefix_root:
        target = "/" if upstream.strip_prefix else path
    if target is None:
        await websocket.close(POLICY)
        return
    query = ascii_path(scope["query_string"])
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    client = scope.get("client")
    forwarded = forward_request_headers(
        headers,
        upstream,
        client_ip=client[0] if client else None,
        scheme=client_scheme(scope["scheme"]),
        skip=WEBSOCKET_HANDSHAKE,
    )
    # The URI's host only names the Host header; the connection is the socket opened below.
    uri = f"ws://{_handshake_host(headers, upstream)}{target}" + (f"?{query}" if query else "")
    offered = [Subprotocol(p) for p in scope.get("subprotocols") or []]
    try:
        async with asyncio.timeout(connect_timeout):
            sock = await _open_socket(upstream)
    except (OSError, TimeoutError):
        await _refuse(websocket, TRY_AGAIN_LATER, f"port {upstream.port} is not answering")
        return
    try:
        connector = _Connect(
            uri,
            sock=sock,
            subprotocols=offered or None,
            additional_headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in forwarded],
            user_agent_header=None,  # the client's User-Agent is forwarded instead
            compression=None,  # loopback: deflating costs CPU and saves nothing
            open_timeout=handshake_timeout,
            ping_interval=None,  # loopback needs no keepalive; a busy IDE must not be dropped
            close_timeout=5,
            max_size=None,  # Jupyter sends large messages; the front server limits clients
        )
    except Exception as exc:  # a client-supplied subprotocol or header the library rejects
        sock.close()
        await _refuse(websocket, POLICY, f"cannot forward this WebSocket request: {exc}")
        return
    # From here the library owns the socket and closes it on failure.
    try:
        conn = await connector
    except InvalidStatus as exc:
        status = exc.response.status_code
        await _refuse(websocket, INTERNAL_ERROR, f"upstream refused the WebSocket: HTTP {status}")
        return
    except Exception as exc:
        log.info("WebSocket handshake with %s failed: %r", upstream.authority, exc)
        detail = str(exc) or type(exc).__name__
        await _refuse(websocket, INTERNAL_ERROR, f"upstream WebSocket handshake failed: {detail}")
        return
    open_connections.add(conn)
    try:
        await websocket.accept(subprotocol=conn.subprotocol)
        if on_activity is not None:
            on_activity()
        await _relay(websocket, conn, on_activity)
    except CLIENT_GONE:
        pass  # the client left while we were accepting it
    finally:
        open_connections.discard(conn)
        await conn.close()
