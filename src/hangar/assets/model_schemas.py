"""Model registry API models (``/api/v1/models``), shared by the server and the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from hangar.tenancy.schemas import Input, Output


class ModelCreate(Input):
    workspace_id: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""


class FromStorage(Input):
    """A version that is a folder on a registered storage (mounted, never copied)."""

    storage_id: str
    path: Annotated[str, Field(max_length=4096)] = ""
    description: str = ""


class FromWorkload(Input):
    """Save a completed training job's output, or a dev environment's home, as a version."""

    workload_id: str
    path: Annotated[str, Field(max_length=4096)] = ""
    description: str = ""


class TokenCreate(Input):
    validity: str = Field(default="permanent", description="1d, 7d, 30d or permanent.")


class TokenCreated(Output):
    id: str
    token: str  # shown once
    model: str
    version: str
    expires_at: datetime | None


class TokenRef(Input):
    token: Annotated[str, Field(min_length=1, max_length=200)]


class SharedRead(Output):
    model: str
    version: str
    size: int
    files: int
    expires_at: datetime | None


class ImportCreate(TokenRef):
    """Import as a new model (``workspace_id`` + ``name``) or a new version (``model_id``)."""

    workspace_id: str | None = None
    name: str | None = None
    model_id: str | None = None
    description: str = ""


class VersionRead(Output):
    id: str
    number: int
    label: str
    description: str
    source: str
    source_ref: str
    status: str
    size: int
    files: int
    lineage: dict[str, Any]
    created_by: str | None
    created_at: datetime
    manifest: list[dict[str, Any]] = Field(default_factory=list)
    storage_id: str | None = Field(default=None, description="Set for a version on tenant "
                                   "storage: its files are the folder `path` there.")  # fmt: skip
    path: str = ""


class ModelRead(Output):
    id: str
    workspace_id: str
    name: str
    description: str
    created_by: str | None
    created_at: datetime
    versions: list[VersionRead] = Field(default_factory=list)


class UploadCreate(Input):
    filename: Annotated[str, Field(min_length=1, max_length=512)]
    size: Annotated[int, Field(ge=1)]
    description: Annotated[str, Field(max_length=100)] = ""


class UploadComplete(Input):
    sha256: Annotated[str, Field(pattern="^[0-9a-fA-F]{64}$")]


class UploadRead(Output):
    id: str
    model_id: str
    filename: str
    size: int
    offset: int


class AliasSet(Input):
    version: Annotated[int, Field(ge=1)]


class AliasRead(Output):
    alias: str
    version: str  # V<n>
