"""The HTTP layer under every SDK call: one ``httpx.Client``, bearer auth, error mapping.

Invariants: every failure leaves as a :class:`HangarClientError` subclass (never a bare
``httpx`` exception); a 4xx/5xx answer always becomes :class:`HangarAPIError` with the
server's ``code``, ``message`` and ``fields``; nothing here retries, because the mutating
endpoints are not idempotent.
"""

from __future__ import annotations

import enum
import http.client
import io
import ssl
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from hangar import __version__
from hangar.client.errors import (
    HangarAPIError,
    HangarClientError,
    HangarConnectionError,
    HangarResponseError,
)

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int | bool | datetime | None]
DEFAULT_TIMEOUT: Final = 30.0
#: File bodies (model uploads and downloads) move through one buffer of this size.
TRANSFER_BUFFER: Final = 4 * 1024 * 1024
#: A connection that broke (not a local file's error, which is raised as it is).
BROKEN: Final = (ConnectionError, ssl.SSLError)


class Unset(enum.Enum):
    """Marks an argument the caller did not pass (``None`` may be meaningful, e.g. "clear")."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET


class InvalidServerURL(HangarClientError, ValueError):
    """The server URL cannot be used (empty, wrong scheme, no host)."""


def normalize_server_url(url: str) -> str:
    """``host:port`` → ``http://host:port``; strip the trailing slash; reject non-HTTP URLs."""
    text = url.strip()
    if not text:
        raise InvalidServerURL("server URL is empty; give one like http://127.0.0.1:8420")
    if "://" not in text:
        text = "http://" + text
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise InvalidServerURL(f"server URL '{url}' is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidServerURL(
            f"server URL '{url}' must start with http:// or https:// and name a host, "
            "like http://127.0.0.1:8420"
        )
    return text.rstrip("/")


def segment(value: str) -> str:
    """One path segment, escaped so an id or name can never change the path."""
    return quote(value, safe="")


def payload(model: type[BaseModel], **values: Any) -> dict[str, Any]:
    """A request body shaped by the API's input ``model``, without the unpassed arguments.

    ``exclude_unset`` keeps PATCH semantics: an absent field is left alone, an explicit
    ``None`` clears where the API allows it. Input the model rejects is sent as given, so
    the server's message, which names the field and the rule, reaches every client alike.
    """
    unknown = set(values) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field(s) {', '.join(sorted(unknown))}")
    given = {k: v for k, v in values.items() if v is not UNSET}
    try:
        return model.model_validate(given).model_dump(mode="json", exclude_unset=True)
    except ValidationError:
        body: dict[str, Any] = to_jsonable_python(given)
        return body


class Transport:
    """Sends requests to one Hangar server with an optional bearer token."""

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.server_url = normalize_server_url(server_url)
        self.token = token
        self.timeout = timeout
        # The same TLS settings for httpx and for the plain connections of file transfers.
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else None
        if self._ssl is None and self.server_url.startswith("https://"):
            self._ssl = httpx.create_ssl_context(verify=verify)
        self._http = httpx.Client(
            base_url=self.server_url,
            timeout=timeout,
            verify=self._ssl or verify,
            headers={"User-Agent": f"hangar-sdk/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    # --- requests -----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        auth: bool = True,
        content: Iterable[bytes] | None = None,
    ) -> httpx.Response:
        """Send one request; return the response if its status is below 400. ``content``
        streams a body (an upload) chunk by chunk."""
        request = self._build(method, path, params=params, json=json, auth=auth, content=content)
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._connection_error(exc) from exc
        if response.is_error:
            raise api_error(response, self.server_url)
        return response

    @contextmanager
    def stream(
        self, method: str, path: str, *, params: Params | None = None
    ) -> Iterator[httpx.Response]:
        """Like :meth:`request`, but the body is read by the caller, chunk by chunk."""
        request = self._build(method, path, params=params, json=None, auth=True)
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._connection_error(exc) from exc
        try:
            if response.is_error:
                try:
                    response.read()
                except httpx.HTTPError as exc:
                    raise self._connection_error(exc) from exc
                raise api_error(response, self.server_url)
            yield response
        except httpx.HTTPError as exc:  # the connection broke while the body streamed
            raise self._connection_error(exc) from exc
        finally:
            response.close()

    # --- file bodies ----------------------------------------------------------------------
    # A file's bytes go over a plain ``http.client`` connection, read into and sent from one
    # reused buffer with ``socket.sendall`` / ``readinto``: httpx's pure-Python HTTP/1.1 layer
    # costs a multiple of the transfer itself for a large file (copies, a new buffer per
    # piece). The request (URL, auth, headers) is still built by httpx, and errors and
    # answers are turned into the same exceptions and ``httpx.Response`` objects as above.
    # Through a proxy (``HTTP(S)_PROXY``, ``ALL_PROXY``), httpx sends them as before.

    def upload(
        self, method: str, path: str, *, params: Params | None, source: io.BufferedIOBase,
        progress: Callable[[int], None] | None = None,
    ) -> httpx.Response:  # fmt: skip
        """Send ``source`` (read to its end) as the body, chunked; the answer if below 400."""
        request = self._build(method, path, params=params, json=None, auth=True)
        if not self._direct(request.url):
            return self.request(method, path, params=params, content=_pieces(source, progress))
        connection = self._connect(request)
        try:
            try:
                _send_head(connection, request, {"Transfer-Encoding": "chunked"})
                buffer = memoryview(bytearray(TRANSFER_BUFFER))
                while n := source.readinto(buffer):
                    if progress is not None:
                        progress(n)
                    connection.send(b"%x\r\n" % n)
                    connection.send(buffer[:n])
                    connection.send(b"\r\n")
                connection.send(b"0\r\n\r\n")
            except BROKEN:
                # The server may have answered and closed before taking the whole body (a
                # refused upload): read that answer, as httpx does.
                pass
            except TimeoutError as exc:
                raise self._plain_error(exc, request) from exc
            try:
                answer = connection.getresponse()
                response = _response(request, answer, answer.read())
            except (*BROKEN, TimeoutError, http.client.HTTPException) as exc:
                raise self._plain_error(exc, request) from exc
        finally:
            connection.close()
        if response.is_error:
            raise api_error(response, self.server_url)
        return response

    def download(
        self, path: str, dest: Path, *, progress: Callable[[int], None] | None = None
    ) -> None:
        """GET ``path`` into the file ``dest``, opened (created or emptied) once the server
        has answered with the file."""
        request = self._build("GET", path, params=None, json=None, auth=True)
        if not self._direct(request.url):
            with self.stream("GET", path) as streamed, dest.open("wb") as out:
                for chunk in streamed.iter_bytes(TRANSFER_BUFFER):
                    out.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
            return
        connection = self._connect(request)
        try:
            try:
                _send_head(connection, request, {})
                answer = connection.getresponse()
                if answer.status >= 400:
                    raise api_error(_response(request, answer, answer.read()), self.server_url)
                buffer = memoryview(bytearray(TRANSFER_BUFFER))
                with dest.open("wb") as out:
                    while n := answer.readinto(buffer):
                        out.write(buffer[:n])
                        if progress is not None:
                            progress(n)
            except (*BROKEN, TimeoutError, http.client.HTTPException) as exc:
                raise self._plain_error(exc, request) from exc
        finally:
            connection.close()

    def _direct(self, url: httpx.URL) -> bool:
        """Whether httpx would connect straight to ``url`` (no proxy from the environment)."""
        proxies = urllib.request.getproxies()
        if not (proxies.get(url.scheme) or proxies.get("all")):
            return True
        return bool(urllib.request.proxy_bypass(url.host))

    def _connect(self, request: httpx.Request) -> http.client.HTTPConnection:
        url = request.url
        connection = (
            http.client.HTTPSConnection(url.host, url.port, timeout=self.timeout,
                                        context=self._ssl)
            if url.scheme == "https"
            else http.client.HTTPConnection(url.host, url.port, timeout=self.timeout)
        )  # fmt: skip
        try:
            connection.connect()
        except OSError as exc:
            connection.close()
            raise self._plain_error(exc, request, connecting=True) from exc
        return connection

    def _plain_error(
        self, exc: Exception, request: httpx.Request, *, connecting: bool = False
    ) -> HangarConnectionError:
        """The error httpx would have raised, described by :meth:`_connection_error`."""
        message = str(exc) or type(exc).__name__
        error: httpx.HTTPError
        if isinstance(exc, TimeoutError):
            error = httpx.TimeoutException(message, request=request)
        elif connecting:
            error = httpx.ConnectError(message, request=request)
        else:
            error = httpx.RemoteProtocolError(message, request=request)
        return self._connection_error(error)

    def get(self, model: type[M], path: str, *, params: Params | None = None) -> M:
        return self.parse(model, self.request("GET", path, params=params))

    def get_list(self, model: type[M], path: str, *, params: Params | None = None) -> list[M]:
        return self.parse_list(model, self.request("GET", path, params=params))

    def send(self, model: type[M], method: str, path: str, *, json: Any = None) -> M:
        return self.parse(model, self.request(method, path, json=json))

    # --- parsing ------------------------------------------------------------------------
    def parse(self, model: type[M], response: httpx.Response) -> M:
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise self._unexpected(response, model.__name__, exc) from None

    def parse_list(self, model: type[M], response: httpx.Response) -> list[M]:
        try:
            data = response.json()
            if not isinstance(data, list):
                raise ValueError(f"expected a JSON list, got {type(data).__name__}")
            return [model.model_validate(item) for item in data]
        except (ValueError, ValidationError) as exc:
            raise self._unexpected(response, f"list of {model.__name__}", exc) from None

    # --- helpers ------------------------------------------------------------------------
    def _build(
        self, method: str, path: str, *, params: Params | None, json: Any, auth: bool,
        content: Iterable[bytes] | None = None,
    ) -> httpx.Request:  # fmt: skip
        headers = {}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self._http.build_request(
            method, path, params=_query(params), json=json, headers=headers, content=content
        )

    def _connection_error(self, exc: httpx.HTTPError) -> HangarConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            what = f"did not answer within {self.timeout:g} s"
        elif isinstance(exc, httpx.ConnectError):
            what = f"cannot be reached ({_reason(exc)})"
        else:
            what = f"broke off the connection ({_reason(exc)})"
        return HangarConnectionError(
            f"the Hangar server at {self.server_url} {what}", server_url=self.server_url
        )

    def _unexpected(
        self, response: httpx.Response, expected: str, exc: Exception
    ) -> HangarResponseError:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return HangarResponseError(
            f"{response.request.method} {response.request.url.path} on {self.server_url} "
            f"answered HTTP {response.status_code} but not with a Hangar {expected} "
            f"({first}); is {self.server_url} a Hangar server of a compatible version?"
        )


def api_error(response: httpx.Response, server_url: str) -> HangarAPIError:
    """Decode ``{"code", "message", "fields"}``; describe anything else plainly."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        raw_fields = body.get("fields")
        fields = (
            {str(k): str(v) for k, v in raw_fields.items()} if isinstance(raw_fields, dict) else {}
        )
        return HangarAPIError(
            status=status,
            code=str(body.get("code") or f"http_{status}"),
            message=body["message"],
            fields=fields,
            body=body,
        )
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        message = body["detail"]
    else:
        snippet = " ".join(response.text.split())[:200]
        message = (
            f"{server_url} answered HTTP {status} {response.reason_phrase}"
            + (f": {snippet}" if snippet else "")
            + "; this is not a Hangar API error body, so check the server URL"
        )
    return HangarAPIError(
        status=status,
        code=f"http_{status}",
        message=message,
        body=body if isinstance(body, dict) else {},
    )


def _send_head(
    connection: http.client.HTTPConnection, request: httpx.Request, extra: Mapping[str, str]
) -> None:
    """The request line and ``request``'s headers (Host, auth, user agent) but its body's
    length (none was given to httpx), with ``extra``; no compression asked for."""
    connection.putrequest(
        request.method, request.url.raw_path.decode("ascii"), skip_host=True,
        skip_accept_encoding=True,
    )  # fmt: skip
    for name, value in request.headers.multi_items():
        if name.lower() not in ("accept-encoding", "connection", "content-length"):
            connection.putheader(name, value)
    connection.putheader("Accept-Encoding", "identity")
    for name, value in extra.items():
        connection.putheader(name, value)
    connection.endheaders()


def _response(
    request: httpx.Request, answer: http.client.HTTPResponse, content: bytes
) -> httpx.Response:
    """An answer read over a plain connection as an ``httpx.Response`` (decoded as httpx
    would if it came compressed after all)."""
    return httpx.Response(
        answer.status, headers=answer.getheaders(), content=content, request=request
    )


def _pieces(source: io.BufferedIOBase, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    while chunk := source.read(TRANSFER_BUFFER):
        if progress is not None:
            progress(len(chunk))
        yield chunk


def _query(params: Params | None) -> dict[str, str | int] | None:
    if not params:
        return None
    out: dict[str, str | int] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc).strip()
    # "[Errno 111] Connection refused" reads better without the errno.
    if text.startswith("[Errno") and "]" in text:
        text = text.split("]", 1)[1].strip()
    return text.lower() if text else type(exc).__name__
