"""HTTP forwarding: one request in, one streamed response out, nothing buffered."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from hangar.errors import NotFound
from hangar.proxy.errors import UpstreamFailed, UpstreamUnavailable, error_response
from hangar.proxy.rewrite import (
    ascii_path,
    client_scheme,
    forward_request_headers,
    forward_response_headers,
)
from hangar.proxy.upstream import Upstream

log = logging.getLogger("hangar.proxy")

#: Status logged (nginx's convention) when the client left while its request body was read.
CLIENT_CLOSED_REQUEST = 499


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    # HTTP/1.1 framing: a request has a body only when it declares a length or chunking.
    return any(name in (b"content-length", b"transfer-encoding") for name, _ in headers)


class RelayedResponse(StreamingResponse):
    """The upstream's response, streamed as raw bytes (Content-Encoding passes through as the
    client negotiated it). The upstream response is closed however streaming ends."""

    def __init__(self, response: httpx.Response, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(response.aiter_raw(), status_code=response.status_code)
        self.raw_headers = headers
        self.upstream_response = response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also on client disconnect, inside a cancelled scope: shield the close, or the
            # pooled connection is never released.
            with anyio.CancelScope(shield=True):
                await self.upstream_response.aclose()


async def forward_http(
    transport: httpx.AsyncBaseTransport,
    request: Request,
    upstream: Upstream,
    *,
    timeouts: dict[str, float | None],
    on_activity: Callable[[], None] | None = None,
) -> Response:
    """Forward ``request`` to ``upstream`` and stream its answer back.

    Answers itself with 502 ``upstream_unavailable`` when nothing listens on the port,
    502 ``upstream_failed`` when the upstream breaks off before its response headers, 308 to
    ``public_prefix`` for the prefix without its slash, and 404 for a path outside it.
    """
    if on_activity is not None:
        on_activity()
    scope = request.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    path = ascii_path(raw_path)
    query = ascii_path(scope["query_string"])
    target = upstream.upstream_path(path)
    if target is None:
        if path == upstream.prefix_root:
            location = upstream.public_prefix + (f"?{query}" if query else "")
            return RedirectResponse(location, status_code=308)
        return error_response(NotFound(f"no such page or endpoint: {path}"))

    headers: list[tuple[bytes, bytes]] = scope["headers"]
    client = scope.get("client")
    forwarded = forward_request_headers(
        headers,
        upstream,
        client_ip=client[0] if client else None,
        scheme=client_scheme(scope["scheme"]),
    )
    url = f"http://{upstream.authority}{target}" + (f"?{query}" if query else "")
    outgoing = httpx.Request(
        scope["method"],
        url,
        headers=forwarded,
        content=request.stream() if _has_body(headers) else None,
        extensions={"timeout": timeouts},
    )
    try:
        response = await transport.handle_async_request(outgoing)
    except (httpx.ConnectError, httpx.ConnectTimeout):
        return error_response(UpstreamUnavailable.of(upstream))
    except ClientDisconnect:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    except httpx.TransportError as exc:
        log.info("upstream %s failed on %s %s: %r", upstream.authority, outgoing.method, path, exc)
        return error_response(UpstreamFailed.of(upstream, exc))

    client_host = next((v for n, v in headers if n == b"host"), b"").decode("latin-1")
    relayed = forward_response_headers(response.headers.raw, upstream, client_host=client_host)
    return RelayedResponse(response, relayed)
