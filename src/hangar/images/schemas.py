"""Image API models."""

from __future__ import annotations

from datetime import datetime

from hangar.tenancy.schemas import Output


class ImageRead(Output):
    id: str
    name: str
    version: int
    kind: str
    description: str
    tags: list[str]
    status: str
    status_reason: str
    source: str
    parent_id: str | None
    created_at: datetime
