"""Errors the proxy answers with itself, in the platform's ``{code, message, fields}`` shape."""

from __future__ import annotations

from starlette.responses import JSONResponse

from hangar.errors import HangarError
from hangar.proxy.upstream import Upstream


class UpstreamUnavailable(HangarError):
    """Nothing accepts connections on the upstream's port (not started yet, or stopped)."""

    code = "upstream_unavailable"
    http_status = 502

    @classmethod
    def of(cls, upstream: Upstream) -> UpstreamUnavailable:
        return cls(
            f"the server on port {upstream.port} is not answering; it may still be starting "
            "or may have stopped. Wait a few seconds and reload; if this persists, check that "
            f"it listens on {upstream.host}:{upstream.port}"
        )


class UpstreamFailed(HangarError):
    """The upstream accepted the connection but broke off without a complete answer."""

    code = "upstream_failed"
    http_status = 502

    @classmethod
    def of(cls, upstream: Upstream, exc: Exception) -> UpstreamFailed:
        detail = str(exc) or type(exc).__name__
        return cls(
            f"the server on port {upstream.port} broke off the connection without a complete "
            f"answer ({detail}); reload to try again"
        )


def error_response(err: HangarError) -> JSONResponse:
    return JSONResponse(err.to_body(), status_code=err.http_status)
