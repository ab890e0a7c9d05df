"""How the SDK reports failures: API errors parsed, network and protocol errors named."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hangar.client import (
    HangarAPIError,
    HangarClient,
    HangarClientError,
    HangarConnectionError,
    HangarLookupError,
    HangarResponseError,
    InvalidServerURL,
    normalize_server_url,
)
from tests.support import refusing_port


def test_validation_error_carries_code_message_and_fields(admin: HangarClient) -> None:
    with pytest.raises(HangarAPIError) as err:
        admin.workspaces.create(name="9lives")
    exc = err.value
    assert exc.status == 422 and exc.code == "validation_failed"
    assert exc.fields == {"name": "must start with a letter (A-Z or a-z)"}
    assert exc.message == "name: must start with a letter (A-Z or a-z)"
    assert "HTTP 422" in str(exc)


def test_schema_violation_is_reported_by_the_server_not_pydantic(admin: HangarClient) -> None:
    # Sent as given (the input model rejects it); the server names the field and the rule.
    with pytest.raises(HangarAPIError) as err:
        admin.workspaces.create(name="x" * 201)
    assert err.value.status == 422
    assert err.value.fields == {"name": "must be at most 200 characters"}


def test_conflict_and_not_found(admin: HangarClient) -> None:
    admin.workspaces.create(name="twice")
    with pytest.raises(HangarAPIError) as err:
        admin.workspaces.create(name="twice")
    assert err.value.status == 409 and err.value.code == "already_exists"
    assert err.value.fields == {"name": "already exists"}

    with pytest.raises(HangarAPIError) as err:
        admin.users.get("0000000000000000")
    assert err.value.status == 404 and err.value.code == "not_found"
    assert err.value.message == "user '0000000000000000' not found"


def test_lookup_errors_name_the_kind_and_ref(admin: HangarClient) -> None:
    with pytest.raises(HangarLookupError) as err:
        admin.workspaces.find("ghost")
    assert (err.value.kind, err.value.ref) == ("workspace", "ghost")
    with pytest.raises(HangarLookupError, match="user 'ghost' not found"):
        admin.users.find("ghost")
    with pytest.raises(HangarLookupError):
        admin.groups.find("ghost")


def test_unauthenticated_and_logout_without_token(server_url: str) -> None:
    with HangarClient(server_url) as anonymous:
        with pytest.raises(HangarAPIError) as err:
            anonymous.whoami()
        assert err.value.status == 401 and err.value.code == "not_authenticated"
        with pytest.raises(HangarClientError, match="no token"):
            anonymous.logout()


def test_connection_error_names_the_server_url() -> None:
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        connection_error_names(url)


def connection_error_names(url: str) -> None:
    with HangarClient(url, "hgr_x_y") as client, pytest.raises(HangarConnectionError) as err:
        client.whoami()
    assert err.value.server_url == url
    assert f"the Hangar server at {url} cannot be reached" in err.value.message


def test_server_url_normalisation() -> None:
    assert normalize_server_url("localhost:8420/") == "http://localhost:8420"
    assert normalize_server_url(" https://h.example/ ") == "https://h.example"
    for bad in ("", "ftp://h.example", "http://"):
        with pytest.raises(InvalidServerURL):
            normalize_server_url(bad)


class NotHangar(BaseHTTPRequestHandler):
    """A deliberately wrong server: an HTML 502 proxy page, and JSON that is not Hangar's."""

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/auth/me"):
            body, status, kind = b'{"hello": "world"}', 200, "application/json"
        else:
            body, status, kind = b"<html><h1>502 Bad Gateway</h1></html>", 502, "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_hangar() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotHangar)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_non_hangar_error_body_is_described_plainly(not_hangar: str) -> None:
    with HangarClient(not_hangar, "t") as client, pytest.raises(HangarAPIError) as err:
        client.workspaces.list()
    assert err.value.status == 502 and err.value.code == "http_502"
    assert "502 Bad Gateway" in err.value.message
    assert "not a Hangar API error body" in err.value.message


def test_unexpected_success_body_is_a_response_error(not_hangar: str) -> None:
    with HangarClient(not_hangar, "t") as client, pytest.raises(HangarResponseError) as err:
        client.whoami()
    assert "not with a Hangar Me" in err.value.message
    assert not_hangar in err.value.message
