"""The pure rewriting rules, case by case (the end-to-end suites cover the wiring)."""

from __future__ import annotations

import pytest

from hangar.proxy import Upstream
from hangar.proxy.rewrite import (
    ascii_path,
    forward_request_headers,
    forward_response_headers,
    public_cookie_path,
    rewrite_location,
    rewrite_set_cookie,
)
from hangar.proxy.websocket import close_reason, sendable_code

STRIP = Upstream(
    host="127.0.0.1",
    port=8888,
    public_prefix="/dev/e1/",
    strip_prefix=True,
    drop_cookies=frozenset({"hangar_session"}),
)
FULL = Upstream(host="127.0.0.1", port=8888, public_prefix="/dev/e1/", strip_prefix=False)


@pytest.mark.parametrize(
    ("upstream", "path", "expected"),
    [
        (STRIP, None, "/dev/e1/"),
        (STRIP, "", "/dev/e1/"),
        (STRIP, "/", "/dev/e1/"),
        (STRIP, "/api", "/dev/e1/api"),
        (STRIP, "relative", "/dev/e1/"),
        (STRIP, "/../../", "/dev/e1/"),
        (FULL, None, "/dev/e1/"),
        (FULL, "/", "/dev/e1/"),
        (FULL, "/dev/e1", "/dev/e1"),
        (FULL, "/dev/e1/lab", "/dev/e1/lab"),
        (FULL, "/dev/e10/", "/dev/e1/"),
        (FULL, "/dev/e1x", "/dev/e1/"),
        (FULL, "/dev/e1/../e2/", "/dev/e1/"),
    ],
)
def test_cookie_path_stays_inside_prefix(
    upstream: Upstream, path: str | None, expected: str
) -> None:
    assert public_cookie_path(path, upstream) == expected


def test_set_cookie_keeps_attributes_drops_domain_and_platform_names() -> None:
    assert (
        rewrite_set_cookie("sid=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; PATH=/x; Secure", STRIP)
        == "sid=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure; Path=/dev/e1/x"
    )
    assert rewrite_set_cookie("sid=1; domain=.example.com", STRIP) == "sid=1; Path=/dev/e1/"
    assert rewrite_set_cookie("hangar_session=x; Path=/", STRIP) is None


@pytest.mark.parametrize(
    ("upstream", "location", "expected"),
    [
        (STRIP, "/lab", "/dev/e1/lab"),
        (STRIP, "/", "/dev/e1/"),
        (STRIP, "/dev/e1/lab", "/dev/e1/lab"),
        (STRIP, "/dev/e1", "/dev/e1"),
        (STRIP, "http://127.0.0.1:8888/lab?a=1", "/dev/e1/lab?a=1"),
        (STRIP, "http://localhost:8888", "/dev/e1/"),
        (STRIP, "http://127.0.0.1:8888?a=1", "/dev/e1/?a=1"),
        (STRIP, "http://127.0.0.1:88881/x", "http://127.0.0.1:88881/x"),
        (STRIP, "//evil.example/x", "//evil.example/x"),
        (STRIP, "https://example.com/", "https://example.com/"),
        (STRIP, "next", "next"),
        (FULL, "/lab", "/lab"),
        (FULL, "http://127.0.0.1:8888/dev/e1/lab", "/dev/e1/lab"),
    ],
)
def test_location(upstream: Upstream, location: str, expected: str) -> None:
    assert rewrite_location(location, upstream) == expected


@pytest.mark.parametrize(
    ("upstream", "location", "expected"),
    [
        (STRIP, "http://hangar.example/login", "/dev/e1/login"),
        (STRIP, "https://hangar.example/dev/e1/x?a=1", "/dev/e1/x?a=1"),
        (STRIP, "https://hangar.example.evil/x", "https://hangar.example.evil/x"),
        (FULL, "http://hangar.example/dev/e1/lab", "/dev/e1/lab"),
    ],
)
def test_location_on_the_clients_host(upstream: Upstream, location: str, expected: str) -> None:
    assert rewrite_location(location, upstream, "hangar.example") == expected


def test_connection_listed_headers_dropped_both_ways() -> None:
    request = forward_request_headers(
        [(b"connection", b"close, X-Private"), (b"x-private", b"1"), (b"x-public", b"1")],
        FULL,
        client_ip=None,
        scheme="https",
    )
    assert request == [(b"x-public", b"1"), (b"x-forwarded-proto", b"https")]
    response = forward_response_headers(
        [(b"Connection", b"x-private"), (b"X-Private", b"1"), (b"Content-Type", b"text/plain")],
        FULL,
    )
    assert response == [(b"content-type", b"text/plain")]


def test_injected_header_replaces_every_client_spelling() -> None:
    upstream = Upstream(
        host="127.0.0.1",
        port=1,
        public_prefix="/p/",
        strip_prefix=False,
        inject_headers={"Authorization": "token t"},
    )
    out = forward_request_headers(
        [(b"authorization", b"Bearer a"), (b"Authorization", b"Bearer b")],
        upstream,
        client_ip="10.0.0.1",
        scheme="http",
    )
    assert [v for n, v in out if n == b"authorization"] == [b"token t"]


def test_ascii_path_escapes_stray_bytes_exactly() -> None:
    assert ascii_path(b"/a%20b") == "/a%20b"
    assert ascii_path("/é".encode()) == "/%C3%A9"


@pytest.mark.parametrize(
    ("code", "fallback", "expected"),
    [(None, 1011, 1000), (1005, 1011, 1000), (1006, 1011, 1011), (1006, 1001, 1001),
     (1015, 1011, 1011), (4001, 1011, 4001), (1001, 1011, 1001), (999, 1011, 1011)],
)  # fmt: skip
def test_close_codes_made_sendable(code: int | None, fallback: int, expected: int) -> None:
    assert sendable_code(code, fallback=fallback) == expected


def test_close_reason_fits_a_frame() -> None:
    reason = close_reason("é" * 100)
    assert len(reason.encode()) <= 123
    assert reason == "é" * 61


@pytest.mark.parametrize("prefix", ["/dev/e1", "dev/e1/", ""])
def test_prefix_must_be_slash_delimited(prefix: str) -> None:
    with pytest.raises(ValueError, match="public_prefix"):
        Upstream(host="127.0.0.1", port=1, public_prefix=prefix, strip_prefix=True)
