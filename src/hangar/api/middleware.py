"""Pure-ASGI middleware: body size limit, security headers, and the audit trail."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hangar.api.errors import too_large
from hangar.api.state import AppState
from hangar.audit import context as audit_context
from hangar.audit.service import do_record, result_of
from hangar.db.engine import transaction

log = logging.getLogger("hangar.audit")

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Reject bodies over ``limit`` bytes before any parsing: by Content-Length when sent,
    else by counting streamed chunks."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await self._reject(scope, send)
                    return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        body = json.dumps(too_large(self.limit).to_body()).encode()
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

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"server"]
                present = {h[0] for h in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class AuditTrail:
    """Writes one audit record per mutating request, after the response, in its own
    transaction, so failed and denied requests are recorded too."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        audit = audit_context.begin()
        started = time.monotonic()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            duration = int((time.monotonic() - started) * 1000)
            await self._write(scope, audit, status, duration)

    async def _write(
        self, scope: Scope, audit: audit_context.AuditScope, status: int, duration: int
    ) -> None:
        route: Any = scope.get("route")
        action = audit.action or (getattr(route, "name", None) or "unrouted")
        client = scope.get("client")
        fields = {
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
            "duration_ms": duration,
            "details": audit.details,
        }

        def write() -> None:
            with transaction(self.state.sessions) as session:
                do_record(session, **fields)

        try:
            await run_in_threadpool(write)
        except Exception:  # the response is already sent; losing the record must be loud
            log.exception("could not write audit record for %s %s", scope["method"], fields["path"])
