"""The audit trail: ``/api/v1/audit`` (tenant admins)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from hangar.audit.schemas import AuditPage, AuditRead
from hangar.client.transport import Params, Transport

BASE = "/api/v1/audit"
PAGE_MAX = 500  # the server's largest ?limit=

AuditResult = Literal["success", "failed", "denied", "error"]
AuditLevel = Literal["normal", "warning", "critical"]


@dataclass(frozen=True, kw_only=True)
class AuditQuery:
    """Filters shared by listing and export. ``target`` matches a target id or part of a name;
    ``action`` matches a prefix (``workspace.`` finds every workspace action)."""

    user: str | None = None
    action: str | None = None
    target: str | None = None
    target_type: str | None = None
    workspace_id: str | None = None
    result: AuditResult | None = None
    level: AuditLevel | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> Params:
        return {
            "user": self.user,
            "action": self.action,
            "target": self.target,
            "target_type": self.target_type,
            "workspace_id": self.workspace_id,
            "result": self.result,
            "level": self.level,
            "since": self.since,
            "until": self.until,
        }


class AuditAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(
        self, query: AuditQuery | None = None, *, limit: int = 50, offset: int = 0
    ) -> AuditPage:
        """One page of records, newest first, with the total matching count."""
        params = {**(query or AuditQuery()).params(), "limit": limit, "offset": offset}
        return self._t.get(AuditPage, BASE, params=params)

    def iter_all(
        self, query: AuditQuery | None = None, *, page_size: int = 200
    ) -> Iterator[AuditRead]:
        """Every matching record, newest first, fetched page by page."""
        offset = 0
        while True:
            page = self.list(query, limit=min(page_size, PAGE_MAX), offset=offset)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def iter_csv(self, query: AuditQuery | None = None) -> Iterator[bytes]:
        """The CSV export as it streams from the server."""
        params = (query or AuditQuery()).params()
        with self._t.stream("GET", f"{BASE}/export.csv", params=params) as response:
            yield from response.iter_bytes()

    def export_csv(self, path: str | os.PathLike[str], query: AuditQuery | None = None) -> int:
        """Stream the CSV export into ``path``; return the bytes written.

        The file appears complete or not at all: it is written beside ``path`` and renamed.
        """
        target = Path(path)
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        written = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in self.iter_csv(query):
                    fh.write(chunk)
                    written += len(chunk)
            Path(tmp_name).replace(target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return written
