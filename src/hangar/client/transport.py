"""The HTTP layer under every SDK call: one ``httpx.Client``, bearer auth, error mapping.

Invariants: every failure leaves as a :class:`HangarClientError` subclass (never a bare
``httpx`` exception); a 4xx/5xx answer always becomes :class:`HangarAPIError` with the
server's ``code``, ``message`` and ``fields``; nothing here retries, because the mutating
endpoints are not idempotent.
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
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
        self._http = httpx.Client(
            base_url=self.server_url,
            timeout=timeout,
            verify=verify,
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
