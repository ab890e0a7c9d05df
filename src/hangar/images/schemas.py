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


class ImageNameRead(Output):
    """A custom or preset image name: the list columns of spec 07 §3 and its versions."""

    name: str
    kind: str
    shared: bool = Field(description="Shared with you by another user or tenant.")
    version_count: int
    created_at: datetime = Field(description="When its first version was made.")
    updated_at: datetime = Field(description="When its newest version was made.")
    versions: list[ImageRead] = Field(description="Newest first.")


class ImageShareCreate(Input):
    """Share every version of a custom image name: with one user of your tenant (``user_id``
    or ``username``) or with every user of another tenant (``tenant_name``)."""

    user_id: Annotated[str | None, Field(max_length=16)] = None
    username: Annotated[str | None, Field(max_length=64)] = None
    tenant_name: Annotated[str | None, Field(max_length=64)] = None
    expires_at: datetime | None = Field(default=None, description="No end when empty.")
    enabled: bool = True


class ImageShareUpdate(Input):
    """Enable or disable a share, or change its end (``expires_at: null``: no end)."""

    enabled: bool | None = None
    expires_at: datetime | None = None


class ImageShareRead(Output):
    id: str
    name: str
    user_id: str | None
    username: str | None
    target_tenant_id: str | None
    tenant_name: str | None
    expires_at: datetime | None
    enabled: bool
    state: str = Field(description="active | disabled | expired")
    created_by: str | None
    created_at: datetime
