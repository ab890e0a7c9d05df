"""Image API models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from hangar.tenancy.schemas import Input, Output


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
    source_workload_id: str | None
    size_bytes: int
    created_by: str | None
    created_at: datetime


class ImageMake(Input):
    """ "Make image" from a dev environment: a new image, or a new version of one you have."""

    name: Annotated[str, Field(min_length=1, max_length=64, description="Rule N1.")]
    description: Annotated[str, Field(max_length=256)] = ""
