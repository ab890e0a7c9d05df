"""HTTP through the proxy: real front and upstream servers on loopback, driven with httpx."""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.proxy import (
    CHUNK,
    GZIPPED,
    INJECTED_AUTH,
    Stack,
    payload,
    proxy_stack,
)
from tests.support import assert_error

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with proxy_stack() as s:
        yield s


@pytest.fixture
def http(stack: Stack) -> Iterator[httpx.Client]:
    stack.probe.reset()
    with httpx.Client(base_url=stack.url, timeout=15) as client:
        yield client


def seen(response: httpx.Response) -> dict[str, Any]:
    """The echo's report, with headers as name → list of values."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    headers: dict[str, list[str]] = {}
    for name, value in body["headers"]:
        headers.setdefault(name, []).append(value)
    body["headers"] = headers
    return body


def test_strip_prefix_forwards_the_rest_with_forwarding_headers(
    stack: Stack, http: httpx.Client
) -> None:
    got = seen(http.get("/dev/strip/some/page", headers={"X-Custom": "kept"}))
    headers = got["headers"]
    assert got["raw_path"] == "/some/page"
    # The client's Host stays: IDEs compare Origin with Host.
    assert headers["host"] == [stack.url.removeprefix("http://")]
    assert headers["x-custom"] == ["kept"]
    assert headers["x-forwarded-for"] == ["127.0.0.1"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == [stack.url.removeprefix("http://")]
    assert headers["x-forwarded-prefix"] == ["/dev/strip"]


def test_full_path_forwarded_unchanged_without_prefix_header(http: httpx.Client) -> None:
    got = seen(http.get("/dev/full/lab/tree"))
    assert got["raw_path"] == "/dev/full/lab/tree"
    assert "x-forwarded-prefix" not in got["headers"]


def test_ports_prefix(http: httpx.Client) -> None:
    assert seen(http.get("/dev/abc/ports/8000/api/x"))["raw_path"] == "/api/x"
    # Same env id, but outside the port's prefix: never forwarded.
    assert_error(http.get("/dev/abc/ports/8001/api/x"), 404, "not_found")


def test_query_and_encoded_path_preserved_exactly(http: httpx.Client) -> None:
    query = "q=a%20b&c=d+e&f=%2F&g&h=1&h=2&empty=&u=%C3%A9"
    got = seen(http.get(f"/dev/strip/files/a%2Fb/c%20d.ipynb?{query}"))
    assert got["raw_path"] == "/files/a%2Fb/c%20d.ipynb"
    assert got["query"] == query


def test_platform_credentials_dropped_and_ide_credentials_injected(http: httpx.Client) -> None:
    got = seen(
        http.get(
            "/dev/strip/echo",
            headers={
                "Cookie": "hangar_session=SESSION; a=1; hangar_csrf=CSRF; ide-auth=forged; b=2",
                "Authorization": "Bearer platform-token",
                "X-Hangar-Token": "platform-token",
                "X-Forwarded-For": "6.6.6.6",
                "X-Real-IP": "6.6.6.6",
                "Forwarded": "for=6.6.6.6",
            },
        )
    )
    headers = got["headers"]
    assert headers["cookie"] == ["a=1; b=2; ide-auth=cookie-secret"]
    assert headers["authorization"] == [INJECTED_AUTH]
    assert "x-hangar-token" not in headers
    assert headers["x-forwarded-for"] == ["127.0.0.1"]
    assert "x-real-ip" not in headers and "forwarded" not in headers
    assert "SESSION" not in str(headers) and "platform-token" not in str(headers)


def test_only_injected_cookie_when_client_sends_none(http: httpx.Client) -> None:
    assert seen(http.get("/dev/full/x"))["headers"]["cookie"] == ["ide-auth=cookie-secret"]


def test_hop_by_hop_request_headers_stripped(http: httpx.Client) -> None:
    got = seen(
        http.get(
            "/dev/strip/echo",
            headers={
                "Connection": "keep-alive, x-hop-req",
                "X-Hop-Req": "1",
                "Keep-Alive": "300",
                "TE": "trailers",
                "Proxy-Authorization": "Basic abc",
                "X-End-To-End": "1",
            },
        )
    )
    headers = got["headers"]
    for name in ("x-hop-req", "keep-alive", "te", "proxy-authorization"):
        assert name not in headers, name
    assert headers["x-end-to-end"] == ["1"]


def test_hop_by_hop_and_origin_wide_response_headers_stripped(http: httpx.Client) -> None:
    response = http.get("/dev/strip/hop")
    assert response.status_code == 200
    for name in (
        "x-secret-hop",
        "keep-alive",
        "proxy-authenticate",
        "clear-site-data",
        "strict-transport-security",
        "service-worker-allowed",
    ):
        assert name not in response.headers, name
    assert response.headers["x-kept"] == "yes"


def test_no_accept_encoding_is_added(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, timeout=15) as client:
        del client.headers["accept-encoding"]
        headers = seen(client.get("/dev/strip/echo"))["headers"]
    assert "accept-encoding" not in headers


def test_compressed_body_passes_through_untouched(http: httpx.Client) -> None:
    with http.stream("GET", "/dev/strip/gzip", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-length"] == str(len(GZIPPED))
    assert raw == GZIPPED
    assert gzip.decompress(raw).startswith(b"hello proxy")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_methods_and_bodies(http: httpx.Client, method: str) -> None:
    got = seen(http.request(method, "/dev/strip/api/x", content=b"payload-" + method.encode()))
    assert got["method"] == method
    assert got["body"] == f"payload-{method}"


def test_head_keeps_length_without_body(http: httpx.Client) -> None:
    response = http.head("/dev/strip/gzip")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(GZIPPED))
    assert response.content == b""


def test_set_cookie_confined_to_prefix(http: httpx.Client) -> None:
    stripped = http.get("/dev/strip/cookies").headers.get_list("set-cookie")
    assert stripped == [
        "a=1; Path=/dev/strip/",
        "b=2; Path=/dev/strip/",
        "c=3; HttpOnly; Path=/dev/strip/sub",
        "d=4; Path=/dev/strip/x",
        "e=5; Path=/dev/strip/dev/full/lab",
        "f=6; Path=/dev/strip/dev/other/",
    ]
    full = http.get("/dev/full/cookies").headers.get_list("set-cookie")
    assert full == [
        "a=1; Path=/dev/full/",
        "b=2; Path=/dev/full/",
        "c=3; HttpOnly; Path=/dev/full/",
        "d=4; Path=/dev/full/",
        "e=5; Path=/dev/full/lab",
        "f=6; Path=/dev/full/",
    ]


def test_cookies_set_by_one_env_never_reach_another(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, timeout=15) as client:
        client.get("/dev/strip/cookies")
        other = seen(client.get("/dev/full/echo"))["headers"]["cookie"]
        same = seen(client.get("/dev/strip/echo"))["headers"]["cookie"]
    assert other == ["ide-auth=cookie-secret"]
    assert "a=1" in same[0] and "b=2" in same[0]


@pytest.mark.parametrize(
    ("env", "to", "expected"),
    [
        ("strip", "/lab?x=1", "/dev/strip/lab?x=1"),
        ("strip", "http://127.0.0.1:{port}/tree?x=1", "/dev/strip/tree?x=1"),
        ("strip", "http://localhost:{port}", "/dev/strip/"),
        ("strip", "/dev/strip/already", "/dev/strip/already"),
        ("strip", "http://{front}/login", "/dev/strip/login"),
        ("strip", "https://example.com/x", "https://example.com/x"),
        ("strip", "//example.com/x", "//example.com/x"),
        ("strip", "relative/path", "relative/path"),
        ("full", "/dev/full/lab", "/dev/full/lab"),
        ("full", "http://127.0.0.1:{port}/dev/full/lab", "/dev/full/lab"),
        ("abc", "/login", "/dev/abc/ports/8000/login"),
    ],
)
def test_location_rewritten(
    stack: Stack, http: httpx.Client, env: str, to: str, expected: str
) -> None:
    prefix = "/dev/abc/ports/8000" if env == "abc" else f"/dev/{env}"
    to = to.format(port=stack.upstream_port, front=stack.url.removeprefix("http://"))
    response = http.get(f"{prefix}/redirect", params={"to": to})
    assert response.status_code == 302
    assert response.headers["location"] == expected


def test_prefix_without_slash_redirects_to_prefix(http: httpx.Client) -> None:
    response = http.get("/dev/strip?a=1")
    assert response.status_code == 308
    assert response.headers["location"] == "/dev/strip/?a=1"


def test_percent_encoded_prefix_is_not_forwarded(http: httpx.Client) -> None:
    # The front's router decodes this to env "strip"; the proxy must not disagree silently.
    assert_error(http.get("/dev/%73trip/echo"), 404, "not_found")


def test_closed_port_answers_502(stack: Stack, http: httpx.Client) -> None:
    body = assert_error(http.get("/dev/closed/lab"), 502, "upstream_unavailable")
    assert "not answering" in body["message"]
    assert body["fields"] == {}


def test_upstream_hanging_up_answers_502(http: httpx.Client) -> None:
    body = assert_error(http.get("/dev/broken/lab"), 502, "upstream_failed")
    assert "broke off" in body["message"]


def test_large_upload_streams(stack: Stack, http: httpx.Client) -> None:
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for n, piece in enumerate(payload(20 * MiB)):
            digest.update(piece)
            yield piece
            # The upstream must see the body begin while the client is still sending it.
            if n == 0:
                assert stack.probe.upload_started.wait(5), "the proxy buffered the request body"

    response = http.post("/dev/strip/upload", content=body())
    assert response.status_code == 200, response.text
    assert response.json() == {"size": 20 * MiB, "sha256": digest.hexdigest()}


def test_large_download_streams(stack: Stack, http: httpx.Client) -> None:
    expected = hashlib.sha256(b"".join(payload(20 * MiB))).hexdigest()
    digest, size = hashlib.sha256(), 0
    start = time.monotonic()
    with http.stream("GET", "/dev/strip/download", params={"size": 20 * MiB, "gated": 1}) as r:
        assert r.headers["content-length"] == str(20 * MiB)
        for chunk in r.iter_raw():
            if not size:
                # The upstream holds the rest back until we have the first piece.
                assert time.monotonic() - start < 5, "the proxy buffered the response"
                stack.probe.release.set()
            digest.update(chunk)
            size += len(chunk)
    assert size == 20 * MiB
    assert digest.hexdigest() == expected


def test_client_leaving_mid_stream_releases_upstream(stack: Stack, http: httpx.Client) -> None:
    with http.stream("GET", "/dev/strip/download", params={"size": 4 * MiB, "gated": 1}) as r:
        first = next(r.iter_raw())
        assert first == CHUNK[: len(first)]
    # Closing mid-body drops our connection; the proxy must close its upstream request too.
    assert stack.probe.aborted.wait(5), "the upstream response was left open"


def test_activity_recorded_per_request(stack: Stack, http: httpx.Client) -> None:
    before = stack.activity["full"]
    for _ in range(3):
        http.get("/dev/full/x")
    assert stack.activity["full"] == before + 3


def test_upstream_connections_are_pooled(http: httpx.Client) -> None:
    ports = {seen(http.get("/dev/strip/echo"))["client_port"] for _ in range(20)}
    assert len(ports) == 1, f"20 sequential requests used {len(ports)} upstream connections"
