"""``ProxyPool``: the one object the app holds; it owns the pooled upstream connections."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection

from hangar.proxy.http import forward_http
from hangar.proxy.upstream import Upstream
from hangar.proxy.websocket import forward_websocket

#: The close code WebSockets still open at shutdown get (RFC 6455: "going away").
SHUTDOWN_CLOSE = 1001


class ProxyPool:
    """Forwards authenticated requests to upstreams. One per app run: construction needs no
    event loop, but pooled connections belong to the loop that first uses them, so use it
    from one loop only and ``await aclose()`` when the app shuts down.

    HTTP goes over one pooled HTTP/1.1 keep-alive transport for all upstreams. There is no
    read timeout (IDEs long-poll and stream); connecting has ``connect_timeout`` seconds.
    ``keepalive_expiry`` stays below the 5 s idle timeout of Node and Uvicorn servers, so a
    pooled connection is not reused just as the upstream closes it.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        ws_handshake_timeout: float = 75.0,
        max_keepalive_connections: int = 256,
        keepalive_expiry: float = 4.0,
    ) -> None:
        # A transport rather than an AsyncClient: no default headers (an added
        # Accept-Encoding would make upstreams compress for clients that never asked), no
        # cookie jar mixing environments' cookies, no redirect handling.
        self._transport = httpx.AsyncHTTPTransport(
            # Upstreams speak plain HTTP. A context without CA certificates fails closed
            # should TLS ever be attempted, and saves loading the CA bundle (~20 ms) per pool.
            verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
            limits=httpx.Limits(
                max_connections=None,  # each long-poll holds one; clients bound the number
                max_keepalive_connections=max_keepalive_connections,
                keepalive_expiry=keepalive_expiry,
            ),
            trust_env=False,
        )
        self._timeouts: dict[str, float | None] = {
            "connect": connect_timeout,
            "read": None,
            "write": None,
            "pool": None,
        }
        self._connect_timeout = connect_timeout
        # Jupyter completes the kernel WebSocket handshake only once the kernel answers
        # (its kernel_info_timeout is 60 s), so the handshake gets longer than connecting.
        self._ws_handshake_timeout = ws_handshake_timeout
        self._websockets: set[ClientConnection] = set()

    @property
    def open_websockets(self) -> int:
        """WebSockets being relayed right now."""
        return len(self._websockets)

    async def forward_http(
        self,
        request: Request,
        upstream: Upstream,
        *,
        on_activity: Callable[[], None] | None = None,
    ) -> Response:
        """Forward one HTTP request; the response streams the upstream's answer.

        ``on_activity`` is called once per request (idle-shutdown bookkeeping; keep it
        cheap). 502 ``upstream_unavailable`` when nothing listens on the port.
        """
        return await forward_http(
            self._transport, request, upstream, timeouts=self._timeouts, on_activity=on_activity
        )

    async def forward_websocket(
        self,
        websocket: WebSocket,
        upstream: Upstream,
        *,
        on_activity: Callable[[], None] | None = None,
    ) -> None:
        """Relay a not-yet-accepted WebSocket until either side closes.

        ``on_activity`` is called on accept and on every message in either direction.
        """
        await forward_websocket(
            websocket,
            upstream,
            connect_timeout=self._connect_timeout,
            handshake_timeout=self._ws_handshake_timeout,
            open_connections=self._websockets,
            on_activity=on_activity,
        )

    async def aclose(self) -> None:
        """Close upstream WebSockets still open (their clients get 1001) and the pool."""
        open_now = list(self._websockets)
        if open_now:
            await asyncio.gather(
                *(c.close(SHUTDOWN_CLOSE, "proxy shutting down") for c in open_now),
                return_exceptions=True,
            )
        await self._transport.aclose()
