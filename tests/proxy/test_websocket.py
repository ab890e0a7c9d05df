"""WebSockets through the proxy: real servers on loopback, driven with the websockets client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.proxy import INJECTED_AUTH, Stack, proxy_stack

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with proxy_stack() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_probe(stack: Stack) -> None:
    stack.probe.reset()
    while not stack.probe.ws_closed.empty():
        stack.probe.ws_closed.get_nowait()


def open_ws(stack: Stack, path: str, **kw: Any) -> ClientConnection:
    return connect(f"{stack.ws_url}{path}", open_timeout=10, max_size=None, **kw)


def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Wait for the server's close frame; return its code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None, "closed without a close frame"
    return info.value.rcvd.code, info.value.rcvd.reason


def front_tasks(stack: Stack) -> dict[str, int]:
    body: dict[str, int] = httpx.get(f"{stack.url}/_tasks", timeout=10).json()
    return body


def test_text_and_binary_echo(stack: Stack) -> None:
    with open_ws(stack, "/dev/strip/ws") as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=10) == b"\x00\x01\xff"
        big = bytes(range(256)) * (8 * MiB // 256)  # larger than common 1 MiB defaults
        ws.send(big)
        assert ws.recv(timeout=10) == big


def test_handshake_headers_filtered_and_injected(stack: Stack) -> None:
    with open_ws(
        stack,
        "/dev/full/ws?token=abc&x=%2F",
        origin="http://console.example",
        additional_headers={
            "Cookie": "hangar_session=SESSION; a=1; hangar_csrf=CSRF",
            "Authorization": "Bearer platform-token",
            "X-Hangar-Token": "platform-token",
        },
    ) as ws:
        ws.send("handshake?")
        got = json.loads(ws.recv(timeout=10))
    headers: dict[str, list[str]] = {}
    for name, value in got["headers"]:
        headers.setdefault(name, []).append(value)
    assert got["raw_path"] == "/dev/full/ws"
    assert got["query"] == "token=abc&x=%2F"
    assert headers["host"] == [stack.url.removeprefix("http://")]
    assert headers["origin"] == ["http://console.example"]
    assert headers["cookie"] == ["a=1; ide-auth=cookie-secret"]
    assert headers["authorization"] == [INJECTED_AUTH]
    assert "x-hangar-token" not in headers
    assert headers["x-forwarded-for"] == ["127.0.0.1"]


def test_strip_prefix_path(stack: Stack) -> None:
    with open_ws(stack, "/dev/abc/ports/8000/ws") as ws:
        ws.send("handshake?")
        assert json.loads(ws.recv(timeout=10))["raw_path"] == "/ws"


def test_subprotocol_chosen_by_upstream(stack: Stack) -> None:
    with open_ws(stack, "/dev/strip/ws", subprotocols=["v1.test", "v2.test"]) as ws:
        assert ws.subprotocol == "v2.test"
    with open_ws(stack, "/dev/strip/ws", subprotocols=["v1.test"]) as ws:
        assert ws.subprotocol is None
    with open_ws(stack, "/dev/strip/ws") as ws:
        assert ws.subprotocol is None


def test_upstream_close_code_reaches_client(stack: Stack) -> None:
    with open_ws(stack, "/dev/strip/ws") as ws:
        ws.send("close:4001:bye now")
        assert closed_with(ws) == (4001, "bye now")


def test_client_close_code_reaches_upstream(stack: Stack) -> None:
    with open_ws(stack, "/dev/strip/ws") as ws:
        ws.send("ping")
        assert ws.recv(timeout=10) == "ping"
        ws.close(4002, "client done")
    assert stack.probe.ws_closed.get(timeout=10) == (4002, "client done")


def test_upstream_refusing_closes_client_with_reason(stack: Stack) -> None:
    # A browser only sees a close frame on a connection whose handshake echoed one of its
    # subprotocols: the proxy accepts with the first one offered, then closes.
    with open_ws(stack, "/dev/strip/ws-refuse", subprotocols=["v1.test"]) as ws:
        assert ws.subprotocol == "v1.test"
        code, reason = closed_with(ws)
    assert code == 1011
    assert "HTTP 403" in reason


def test_closed_port_closes_client_with_try_again_later(stack: Stack) -> None:
    with open_ws(stack, "/dev/closed/ws") as ws:
        code, reason = closed_with(ws)
    assert code == 1013
    assert "not answering" in reason


def test_upstream_hanging_up_closes_client_with_internal_error(stack: Stack) -> None:
    with open_ws(stack, "/dev/broken/ws") as ws:
        code, reason = closed_with(ws)
    assert code == 1011
    assert "handshake failed" in reason


def test_path_outside_prefix_is_refused_before_handshake(stack: Stack) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(stack, "/dev/abc/ports/9999/ws")
    assert info.value.response.status_code == 403


def test_activity_recorded_per_message(stack: Stack) -> None:
    before = stack.activity["strip"]
    with open_ws(stack, "/dev/strip/ws") as ws:
        for i in range(5):
            ws.send(str(i))
            ws.recv(timeout=10)
    # Accept, then 5 messages each way.
    assert stack.activity["strip"] - before >= 11


def test_no_tasks_or_connections_leak(stack: Stack) -> None:
    baseline = front_tasks(stack)["tasks"]
    for _ in range(3):
        with open_ws(stack, "/dev/strip/ws") as ws:
            ws.send("x")
            ws.recv(timeout=10)
        with open_ws(stack, "/dev/strip/ws") as ws:
            ws.send("close:1000:")
            closed_with(ws)
        with open_ws(stack, "/dev/strip/ws-refuse") as ws:
            closed_with(ws)
    deadline = time.monotonic() + 10
    while (now := front_tasks(stack)) != {"tasks": baseline, "open_websockets": 0}:
        assert time.monotonic() < deadline, f"leaked: {now}, baseline {baseline} tasks"
        time.sleep(0.05)
