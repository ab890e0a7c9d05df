"""Header rewriting between client and upstream: pure functions over ASGI-style header lists.

Header names are lower-case bytes on both sides (ASGI's convention); values are bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from hangar.proxy.upstream import Upstream

Headers = list[tuple[bytes, bytes]]

# Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, never the next one; ``expect``
# has been answered by our own server already. Any ``proxy-*`` header is dropped as well.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
    }
)
# Client-supplied forwarding headers are spoofable; we set our own.
FORWARDING = frozenset(
    {
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-real-ip",
    }
)
# Headers the WebSocket client library writes itself for the upstream handshake.
WEBSOCKET_HANDSHAKE = frozenset(
    {
        b"host",
        b"content-length",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
    }
)
# Response headers whose effect covers the platform's whole origin, not the environment's
# prefix: an environment must not clear the console's cookies, pin HSTS/Alt-Svc for it, or
# widen a service worker's scope beyond its prefix (it would intercept console requests).
ORIGIN_WIDE = frozenset(
    {b"clear-site-data", b"strict-transport-security", b"alt-svc", b"service-worker-allowed"}
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def ascii_path(raw: bytes) -> str:
    """A raw request target as ASCII text, byte-exact: stray non-ASCII bytes (which some
    clients send unescaped) are percent-encoded rather than re-encoded from a guess."""
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def client_scheme(scope_scheme: str) -> str:
    return "https" if scope_scheme in ("https", "wss") else "http"


def _connection_tokens(value: bytes) -> set[bytes]:
    return {token.strip().lower() for token in value.split(b",") if token.strip()}


def _filter_cookies(values: list[bytes], upstream: Upstream) -> bytes | None:
    """The Cookie header to forward: dropped names removed, injected cookies set."""
    if not upstream.drop_cookies and not upstream.inject_cookies:
        return b"; ".join(values) if values else None
    kept: list[bytes] = []
    for value in values:
        for part in value.split(b";"):
            pair = part.strip()
            if not pair:
                continue
            name = pair.split(b"=", 1)[0].strip().decode("latin-1")
            if name in upstream.drop_cookies or name in upstream.inject_cookies:
                continue
            kept.append(pair)
    kept.extend(f"{k}={v}".encode("latin-1") for k, v in upstream.inject_cookies.items())
    return b"; ".join(kept) if kept else None


def forward_request_headers(
    headers: Iterable[tuple[bytes, bytes]],
    upstream: Upstream,
    *,
    client_ip: str | None,
    scheme: str,
    skip: frozenset[bytes] = frozenset(),
) -> Headers:
    """The headers to send upstream for a client request with ``headers``.

    Hop-by-hop and spoofable forwarding headers go, the client's Host stays (IDEs compare
    Origin with Host), cookies are filtered, ``X-Forwarded-*`` describe the client, and
    ``upstream.inject_headers`` replace any client value of the same name. ``skip`` names
    further headers to leave out (the WebSocket handshake's own).
    """
    drop = {name.lower().encode("latin-1") for name in upstream.drop_headers}
    drop.update(name.lower().encode("latin-1") for name in upstream.inject_headers)
    out: Headers = []
    cookies: list[bytes] = []
    listed: set[bytes] = set()
    host = b""
    for raw_name, value in headers:
        name = raw_name.lower()
        if name == b"cookie":
            cookies.append(value)
            continue
        if name == b"host":
            host = value
        if name == b"connection":
            listed |= _connection_tokens(value)
            continue
        if (
            name in HOP_BY_HOP
            or name in FORWARDING
            or name in drop
            or name in skip
            or name.startswith(b"proxy-")
        ):
            continue
        out.append((name, value))
    if listed:
        out = [(n, v) for n, v in out if n not in listed]
    cookie = _filter_cookies(cookies, upstream)
    if cookie is not None:
        out.append((b"cookie", cookie))
    if client_ip:
        out.append((b"x-forwarded-for", client_ip.encode("latin-1")))
    out.append((b"x-forwarded-proto", scheme.encode("latin-1")))
    if host:
        out.append((b"x-forwarded-host", host))
    if upstream.strip_prefix:
        out.append((b"x-forwarded-prefix", upstream.prefix_root.encode("latin-1")))
    out.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in upstream.inject_headers.items()
    )
    return out


def public_cookie_path(path: str | None, upstream: Upstream) -> str:
    """The Path a cookie set by ``upstream`` gets: always inside ``public_prefix``."""
    prefix = upstream.public_prefix
    # A missing or relative Path, or one with dot segments, could reach outside: clamp it.
    if not path or not path.startswith("/") or ".." in path:
        return prefix
    if upstream.strip_prefix:
        return upstream.prefix_root + path
    # RFC 6265 path-match: "/dev/abc" matches "/dev/abc/..." but never "/dev/abcdef".
    if path == upstream.prefix_root or path.startswith(prefix):
        return path
    return prefix


def rewrite_set_cookie(value: str, upstream: Upstream) -> str | None:
    """``Set-Cookie`` confined to the environment's prefix, host-only; None drops it
    (the upstream tried to set one of the platform's own cookies)."""
    parts = value.split(";")
    name = parts[0].split("=", 1)[0].strip()
    if name in upstream.drop_cookies:
        return None
    kept = [parts[0]]
    path: str | None = None
    for attr in parts[1:]:
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        if key == "path":
            path = val.strip()
        elif key != "domain":  # a Domain would share the cookie with sibling hosts
            kept.append(attr)
    kept.append(f" Path={public_cookie_path(path, upstream)}")
    return ";".join(kept)


def _upstream_origins(upstream: Upstream) -> list[str]:
    origins = [f"http://{upstream.authority}"]
    if upstream.host in LOOPBACK:
        origins += [f"http://localhost:{upstream.port}", f"http://127.0.0.1:{upstream.port}"]
    return origins


def rewrite_location(location: str, upstream: Upstream, client_host: str = "") -> str:
    """A redirect target as the client must see it.

    An absolute URL on the upstream's address, or on the client's Host (which the upstream
    saw), becomes an absolute path: no internal address leaks, and no ``http://`` redirect
    escapes a TLS-terminated front. With ``strip_prefix`` an absolute path ``/x`` then
    becomes ``<prefix>x``, unless it is inside the prefix already (from a server that
    honours ``X-Forwarded-Prefix``). Other URLs pass unchanged.
    """
    origins = _upstream_origins(upstream)
    if client_host:
        origins += [f"http://{client_host}", f"https://{client_host}"]
    for origin in origins:
        rest = location[len(origin) :]
        if location.startswith(origin) and (not rest or rest[0] in "/?#"):
            location = rest if rest.startswith("/") else "/" + rest
            break
    if (
        upstream.strip_prefix
        and location.startswith("/")
        and not location.startswith("//")
        and not (location == upstream.prefix_root or location.startswith(upstream.public_prefix))
    ):
        return upstream.prefix_root + location
    return location


def forward_response_headers(
    headers: Iterable[tuple[bytes, bytes]], upstream: Upstream, *, client_host: str = ""
) -> Headers:
    """The upstream's response headers as the client gets them: hop-by-hop and origin-wide
    headers dropped, ``Set-Cookie`` confined to the prefix, ``Location`` made public.
    ``client_host`` is the Host the client asked for (and the upstream saw)."""
    out: Headers = []
    listed: set[bytes] = set()
    for raw_name, value in headers:
        name = raw_name.lower()
        if name == b"connection":
            listed |= _connection_tokens(value)
            continue
        if name in HOP_BY_HOP or name in ORIGIN_WIDE or name.startswith(b"proxy-"):
            continue
        if name == b"set-cookie":
            cookie = rewrite_set_cookie(value.decode("latin-1"), upstream)
            if cookie is None:
                continue
            value = cookie.encode("latin-1")
        elif name == b"location":
            location = rewrite_location(value.decode("latin-1"), upstream, client_host)
            value = location.encode("latin-1")
        out.append((name, value))
    if listed:
        out = [(n, v) for n, v in out if n not in listed]
    return out
