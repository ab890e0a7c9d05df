"""Where a proxied request goes, and how its public path maps onto the upstream's path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """One proxied server, as the caller resolved it after its own permission check.

    ``public_prefix`` is the URL space the server owns on the platform's origin, e.g.
    ``/dev/abc123/`` or ``/dev/abc123/ports/8000/``; it always ends with ``/``. Cookies the
    server sets are confined to it, so one environment's cookies never reach another's URLs.
    Hashable (the mappings are left out of the hash), so it can key a cache.
    """

    host: str
    port: int
    public_prefix: str
    #: True: the upstream sees ``/rest`` for ``<prefix>rest``. False: the full public path is
    #: forwarded unchanged (a server told its base URL, such as Jupyter's ``base_url``).
    strip_prefix: bool
    #: Added to every upstream request and WebSocket handshake, replacing client values.
    inject_headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Client request headers (any case) never forwarded, e.g. the platform's ``Authorization``.
    drop_headers: frozenset[str] = frozenset()
    #: Cookie names removed from the forwarded Cookie header (the platform's session and CSRF
    #: cookies). The upstream may not set cookies of these names either.
    drop_cookies: frozenset[str] = frozenset()
    #: Cookies added to the forwarded Cookie header, replacing client cookies of the same name.
    inject_cookies: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not (self.public_prefix.startswith("/") and self.public_prefix.endswith("/")):
            raise ValueError(
                f"public_prefix {self.public_prefix!r} must start and end with '/', "
                "e.g. '/dev/abc123/'"
            )
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is not a TCP port (1-65535)")

    @property
    def authority(self) -> str:
        """``host:port`` as it appears in a URL (IPv6 literals bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def prefix_root(self) -> str:
        """The prefix without its trailing slash: ``/dev/abc123``."""
        return self.public_prefix[:-1]

    def upstream_path(self, raw_path: str) -> str | None:
        """The path to request upstream for the public ``raw_path`` (still percent-encoded),
        or None when it lies outside ``public_prefix``.

        The prefix must appear literally: a path that spells it with percent-escapes is
        outside, so the caller's routing (on the decoded path) and ours cannot disagree.
        """
        if not raw_path.startswith(self.public_prefix):
            return None
        if self.strip_prefix:
            return raw_path[len(self.prefix_root) :]
        return raw_path
