"""Authenticated reverse proxy engine: forwards HTTP and WebSocket traffic to one upstream.

No authentication and no routes live here. The caller checks the user, resolves the
environment to an ``Upstream`` and calls ``ProxyPool.forward_http`` or
``ProxyPool.forward_websocket``.

Invariants:

* Nothing the platform uses for its own authentication leaves for the upstream: the cookies
  in ``Upstream.drop_cookies`` and headers in ``Upstream.drop_headers`` are removed, and
  ``inject_headers``/``inject_cookies`` replace client values of the same name.
* Cookies an upstream sets are confined to its ``public_prefix`` (Path rewritten, Domain
  removed) and may not carry a name in ``drop_cookies``, so one environment's cookies never
  reach another environment's URLs or shadow the platform's.
* Response headers whose effect spans the whole origin (Clear-Site-Data, HSTS, Alt-Svc,
  Service-Worker-Allowed) are dropped; redirects to the upstream's address become paths.
* Bodies stream both ways; nothing is buffered or decompressed.

Pitfalls for the routes in front:

* Serve an HTTP route and a WebSocket route on the same paths; the prefix without its slash
  (``/dev/abc``) is answered with a redirect to the prefix.
* Keep the body-size limit, the console's strict CSP and the audit trail off proxied paths:
  they would break uploads and IDE pages and flood the audit log.
* Keep these routes on pure ASGI middleware: ``BaseHTTPMiddleware`` runs the response body
  through an extra task and memory stream, which costs latency on every request.
* Proxied pages share the platform's origin: their scripts can call the platform's API with
  the visitor's session. Serving ``/dev/`` from a separate origin is the structural fix.
* With ``strip_prefix`` only ``Location`` and ``Set-Cookie`` are rewritten, never bodies: a
  user app must use relative links or honour ``X-Forwarded-Prefix``.
"""

from hangar.proxy.errors import UpstreamFailed, UpstreamUnavailable
from hangar.proxy.pool import ProxyPool
from hangar.proxy.upstream import Upstream

__all__ = ["ProxyPool", "Upstream", "UpstreamFailed", "UpstreamUnavailable"]
