"""The one place where errors become HTTP responses: ``{code, message, fields}``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hangar.errors import AlreadyExists, Conflict, HangarError, PayloadTooLarge, ValidationFailed

log = logging.getLogger("hangar.api")

HtmlRenderer = Callable[[Request, HangarError], Response | None]

_HTTP_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media",
    422: "validation_failed", 429: "too_many_requests",
}  # fmt: skip


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _rule(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "is not a known field; remove it (see the API schema at /openapi.json)"
    if kind == "missing":
        return "is required"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters"
    if kind == "json_invalid":
        return f"is not valid JSON ({ctx.get('error', 'parse error')})"
    return str(error.get("msg", "is invalid")).rstrip(".")


def validation_error(exc: RequestValidationError) -> ValidationFailed:
    fields: dict[str, str] = {}
    for err in exc.errors():
        # A JSON syntax error's location is a character offset, not a field: name the body.
        loc = ("body",) if err.get("type") == "json_invalid" else err.get("loc", ())
        fields.setdefault(_field_name(loc), _rule(err))
    message = "; ".join(f"{k}: {v}" for k, v in fields.items()) or "request is invalid"
    return ValidationFailed(message, fields=fields)


def integrity_conflict(exc: IntegrityError) -> Conflict:
    """A database constraint the services check first, hit because a concurrent request
    committed in between (PostgreSQL runs requests in parallel): a conflict, not a crash."""
    text = str(exc.orig).lower()
    kind = AlreadyExists if "unique" in text or "duplicate" in text else Conflict
    return kind(
        "this conflicts with a change another request made at the same moment (for example, "
        "the name was just taken); reload and try again"
    )


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def _wants_page(request: Request) -> bool:
    """Console pages for browsers; JSON for the API, and on the IDE proxy (``/dev/``) for
    scripts: callers with an API token, or that do not accept HTML."""
    path = request.url.path
    if path.startswith("/api/"):
        return False
    if path.startswith("/dev/"):
        scripted = request.headers.get("authorization", "").lower().startswith("bearer ")
        return not scripted and "text/html" in request.headers.get("accept", "")
    return True


def install(app: FastAPI, html: HtmlRenderer | None = None) -> None:
    """Register handlers. ``html`` may render console pages for non-API paths."""

    def respond(request: Request, err: HangarError) -> Response:
        if html is not None and _wants_page(request):
            rendered = html(request, err)
            if rendered is not None:
                return rendered
        headers = {}
        if "retry_after" in err.extra:
            headers["Retry-After"] = str(err.extra["retry_after"])
        if err.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(err.to_body(), status_code=err.http_status, headers=headers)

    @app.exception_handler(HangarError)
    async def _hangar(request: Request, exc: HangarError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, validation_error(exc))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.info("constraint hit on %s %s: %s", request.method, request.url.path, exc.orig)
        return respond(request, integrity_conflict(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc, BodyTooLarge):
            return respond(request, exc.error)
        err = HangarError(str(exc.detail))
        err.http_status = exc.status_code
        err.code = _HTTP_CODES.get(exc.status_code, "error")
        if exc.status_code == 404:
            err.message = f"no such page or endpoint: {request.url.path}"
        elif exc.status_code == 405:
            allowed = ", ".join(allowed_methods(request))
            err.message = (
                f"{request.method} is not allowed on {request.url.path}; use {allowed}"
                if allowed
                else f"{request.method} is not allowed on {request.url.path}"
            )
        response = respond(request, err)
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = HangarError("internal server error; the server log has the details")
        err.code = "internal"
        return JSONResponse(err.to_body(), status_code=500)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is larger than the {limit}-byte limit",
        fields={"body": f"at most {limit} bytes"},
    )


class BodyTooLarge(StarletteHTTPException):
    """Raised while a streamed body is read, once it passes the limit.

    It must be an ``HTTPException``: FastAPI's body reader re-raises those and turns any other
    exception into a generic 400, which would hide the 413 from the client and the audit.
    """

    def __init__(self, limit: int) -> None:
        self.error = too_large(limit)
        super().__init__(status_code=413, detail=self.error.message)
