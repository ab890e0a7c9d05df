"""Code package API models (``/api/v1/code-packages``), shared by the server and the SDK.

Creating a package from an upload and re-uploading are ``multipart/form-data`` requests
(fields ``workspace_id``, ``name``, ``description``, ``start_file`` and 1-5 ``files``), so
they have no JSON model here; "save from a dev environment" is JSON (:class:`FromDevEnv`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from hangar.tenancy.schemas import Input, Output


class FromDevEnv(Input):
    """Save a dev environment's ``/work/home`` (or a folder in it, ``path``) as a package."""

    workspace_id: str | None = Field(
        default=None, description="Defaults to the dev environment's workspace."
    )
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    workload_id: str
    path: Annotated[str, Field(max_length=4096)] = ""
    start_file: Annotated[str, Field(max_length=1000)] = ""


class CodePackageRead(Output):
    id: str
    workspace_id: str
    name: str
    description: str
    source: str = Field(description="upload, ide (saved from a dev environment) or storage.")
    source_ref: str
    storage: str = Field(description="platform (the platform's storage) or tenant.")
    storage_id: str | None
    path: str
    start_file: str
    status: str = Field(description="importing, succeeded or failed.")
    status_reason: str
    size: int
    files: int
    created_by: str | None
    creator: str | None = None
    created_at: datetime
    updated_at: datetime
    manifest: list[dict[str, Any]] = Field(default_factory=list)


class CodeDraft(Output):
    """A form pre-filled with the package mounted: "Start training" (a training job, row 60)
    or "Online coding" (a dev environment, row 61). Submit it, after choosing resources, to
    ``POST /api/v1/jobs`` or ``POST /api/v1/devenvs``."""

    kind: str  # training | devenv
    workspace_id: str
    name: str
    command: str | None
    mounts: list[dict[str, str]]


class FromStorage(Input):
    """A package that is a folder on a registered storage (spec 07 §4 (b), no size limit)."""

    workspace_id: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    storage_id: str
    path: Annotated[str, Field(max_length=1000)] = ""
    start_file: Annotated[str, Field(max_length=1000)] = ""
