"""Pure-ASGI middleware: body size limit, security headers, and the audit trail."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hangar.api.errors import BodyTooLarge, too_large
from hangar.api.state import AppState
from hangar.audit import context as audit_context
from hangar.audit.service import do_correct_status, do_record, result_of
from hangar.db.engine import transaction

log = logging.getLogger("hangar.audit")

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Paths the IDE and port proxy forwards (hangar.devenvs.gateway): the IDE's own body limits,
#: CSP and XSRF checks apply there, and its traffic is not a Hangar action to audit.
PROXIED_PREFIX = "/dev/"
PROXIED_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


def proxied(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith(PROXIED_PREFIX)


SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


# Routes that stream a file into storage and enforce their own limit while doing so.
UPLOADS = re.compile(
    r"^(/api/v1/models/[^/]+/versions/upload|/api/v1/models/uploads/[^/]+|/models/[^/]+/upload)$"
)
UPLOAD_LIMIT = 2 * 1024**3 + 1024**2  # a model file (≤ 2 GB, spec 07 §1.2), with slack
# Code package uploads (API and console): multipart, ≤ 5 files of ≤ 400 MB each (spec 07 §4).
CODE_UPLOADS = re.compile(r"^(/api/v1/code-packages|/code)(/[^/]+/upload)?$")
CODE_UPLOAD_LIMIT = 5 * 400 * 1024**2 + 1024**2
# Annotated-dataset imports (API and console): a folder's files (≤ 1 GB) or one archive
# (≤ 10 GB, decision G5), multipart; the route stages them on disk and checks its limits.
DATASET_UPLOADS = re.compile(r"^(/api/v1)?/datasets/[^/]+/versions/[^/]+/import$")
DATASET_UPLOAD_LIMIT = 10 * 1024**3 + 1024**2
UPLOAD_ROUTES = (
    (UPLOADS, UPLOAD_LIMIT), (CODE_UPLOADS, CODE_UPLOAD_LIMIT),
    (DATASET_UPLOADS, DATASET_UPLOAD_LIMIT),
)  # fmt: skip


def upload_limit(scope: Scope) -> int | None:
    """The body limit of an upload route, or None for every other request."""
    if scope.get("method") not in ("PUT", "POST"):
        return None
    path = str(scope["path"])
    return next((limit for route, limit in UPLOAD_ROUTES if route.match(path)), None)


class BodyLimit:
    """Reject bodies over ``limit`` bytes before any parsing: by Content-Length when sent,
    else by counting streamed chunks. Upload routes (``UPLOAD_ROUTES``) may send up to their
    own limit (``UPLOAD_LIMIT``, ``CODE_UPLOAD_LIMIT``): they stream into storage and check
    their per-file limits themselves."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.default_limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or proxied(scope):
            await self.app(scope, receive, send)
            return
        limit = upload_limit(scope) or self.default_limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await self._reject(send, limit)
                    return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Normally the app's error handlers answer it; this catches bodies read elsewhere.
            if not started:
                await self._reject(send, limit)

    @staticmethod
    async def _reject(send: Send, limit: int) -> None:
        body = json.dumps(too_large(limit).to_body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        wanted = PROXIED_HEADERS if proxied(scope) else SECURITY_HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"server"]
                present = {h[0] for h in headers}
                headers += [h for h in wanted if h[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def audited(scope: Scope) -> bool:
    """Whether this request gets an audit record: mutating methods, except read-only routes."""
    if scope["type"] != "http" or scope["method"] not in UNSAFE or proxied(scope):
        return False
    endpoint = getattr(scope.get("route"), "endpoint", None)
    return not getattr(endpoint, audit_context.READ_ONLY_MARK, False)


def record_fields(scope: Scope, audit: audit_context.AuditScope, status: int) -> dict[str, Any]:
    """The audit record of this request, as keyword arguments for ``do_record``."""
    route: Any = scope.get("route")
    action = audit.action or (getattr(route, "name", None) or "unrouted")
    client = scope.get("client")
    return {
        "tenant_id": audit.tenant_id,
        "user_id": audit.user_id,
        "username": audit.username,
        "workspace_id": audit.workspace_id,
        "action": action[:96],
        "method": scope["method"],
        "path": str(scope.get("path", ""))[:512],
        "target_type": audit.target_type,
        "target_id": audit.target_id[:64],
        "target_name": audit.target_name[:128],
        "result": result_of(status),
        "status_code": status,
        "level": audit.level if status < 400 else "warning",
        "client_addr": (client[0] if client else "")[:64],
        "duration_ms": int((time.monotonic() - audit.started) * 1000),
        "details": audit.details,
    }


class AuditTrail:
    """Exactly one audit record per mutating request, failed and denied ones included.

    A route that succeeds has its record committed in its own request transaction
    (``hangar.api.deps.get_session``), so a crash can never keep an acknowledged change
    without its record. Everything else (errors, denials, requests that never reached a
    route) is recorded here after the response, in a transaction of its own. If the final
    status differs from the one written in the request transaction, it is corrected here.
    """

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        audit = audit_context.begin()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if audited(scope):
                await self._write(scope, audit, status)

    async def _write(self, scope: Scope, audit: audit_context.AuditScope, status: int) -> None:
        if audit.record_id is not None and audit.recorded_status == status:
            return
        fields = record_fields(scope, audit, status)

        def write() -> None:
            with transaction(self.state.sessions) as session:
                if audit.record_id is None:
                    do_record(session, **fields)
                else:
                    do_correct_status(session, record_id=audit.record_id, status_code=status)

        try:
            await run_in_threadpool(write)
        except Exception:  # the response is already sent; losing the record must be loud
            log.exception("could not write audit record for %s %s", scope["method"], fields["path"])
