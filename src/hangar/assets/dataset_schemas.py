"""Dataset and external-storage API models (``/api/v1/datasets``, ``/api/v1/storages``),
shared by the server and the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, SecretStr

from hangar.tenancy.schemas import Input, Output


class StorageCreate(Input):
    cluster_id: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: str = Field(default="filesystem", description="filesystem or s3.")
    root: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="filesystem: the absolute folder on the nodes; s3: the bucket name."
    )
    endpoint_url: str = Field(default="", description="s3: e.g. https://minio.lab:9000; "
                              "empty for AWS S3.")  # fmt: skip
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: SecretStr = Field(
        default=SecretStr(""), description="s3: sealed on the server, never returned."
    )


class StorageRead(Output):
    id: str
    cluster_id: str
    name: str
    kind: str
    root: str
    endpoint_url: str = ""
    region: str = ""
    access_key_id: str = ""
    created_at: datetime


class BackupCreate(Input):
    storage_id: str = Field(description="An s3 storage.")
    path: Annotated[str, Field(max_length=1000)] = Field(
        description="The folder of its bucket to copy into."
    )


class CopyReport(Output):
    files: int = Field(description="Files in the copy.")
    fetched: int = Field(description="Copied this time (the rest were already there).")
    removed: int
    bytes: int
    skipped: list[str] = Field(description="Objects refused (keys leaving the folder).")


class BasicCreate(Input):
    workspace_id: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    visibility: str = Field(default="owner", description="owner or workspace.")
    storage_id: str | None = Field(
        default=None, description="A registered storage; empty keeps the files on the platform."
    )
    path: Annotated[str, Field(max_length=2000)] = ""
    mount_name: str | None = None
    confidential: bool = False
    output_dataset_id: str | None = None
    audit_minutes: int | None = None


class AnnotatedCreate(Input):
    workspace_id: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    data_type: str = Field(description="image, llm or cross_modal.")
    template: str = Field(description="One of GET /api/v1/datasets/templates.")
    version: str = "1.0"
    visibility: str = "owner"


class DatasetUpdate(Input):
    name: str | None = None
    description: str | None = None
    visibility: str | None = None
    mount_name: str | None = None


class VersionCreate(Input):
    label: Annotated[str, Field(min_length=1, max_length=64)]
    source: str | None = Field(default=None, description="Copy this version's records.")


class LinkImport(Input):
    url: Annotated[str, Field(min_length=1, max_length=2000)]


class CopyCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class RecordUpdate(Input):
    edits: dict[str, Any] | None = None
    annotation: dict[str, Any] | None = None


class VersionRead(Output):
    id: str
    label: str
    status: str
    records: int
    files: int
    size: int
    report: dict[str, Any]
    published_at: datetime | None
    created_at: datetime
    cached: bool = False  # pushed to the cache tier (dataset_cache_dir)
    manifest: list[dict[str, Any]] = Field(default_factory=list)


class DatasetRead(Output):
    id: str
    workspace_id: str
    kind: str
    name: str
    description: str
    status: str
    status_reason: str
    visibility: str
    storage_id: str | None
    path: str
    mount_name: str
    mount_path: str
    confidential: bool
    output_dataset_id: str | None
    audit_minutes: int | None
    data_type: str
    template: str
    created_by: str | None
    created_at: datetime
    versions: list[VersionRead] = Field(default_factory=list)


class RecordRead(Output):
    id: str
    seq: int
    source: str
    data: dict[str, Any]
    annotation: dict[str, Any]
    bucket: str | None = None
    updated_at: datetime


class TemplateRead(Output):
    key: str
    title: str
    data_type: str
    formats: list[str]
    annotation: str
    record_schema: dict[str, Any]


class MountRequest(Input):
    """An asset a job or dev environment mounts at ``/work/mount/<kind>/<name>``."""

    kind: str = Field(description="dataset, model or code.")
    id: Annotated[str, Field(min_length=1, max_length=64)]
    version: str | None = Field(
        default=None, description="Dataset version label or model version; default the latest."
    )
    name: str | None = Field(default=None, description="Folder name under /work/mount/<kind>/.")


class MountRead(Output):
    """An asset a workload mounts, as its detail page lists it."""

    kind: str
    path: str
    asset_id: str
    asset_name: str
    version: str | None = None
    read_only: bool = True
    confidential: bool = False

    @classmethod
    def of_spec(cls, spec: dict[str, Any]) -> list[MountRead]:
        return [
            cls(kind=m["kind"], path=f"/work/mount/{m['kind']}/{m['name']}",
                asset_id=m["asset_id"], asset_name=m.get("asset_name", ""),
                version=m.get("version"), read_only=bool(m.get("read_only", True)),
                confidential=bool(m.get("confidential") or m.get("confidential_output")))
            for m in spec.get("mounts") or ()
        ]  # fmt: skip


class PlatformUsage(Output):
    """The tenant's free platform storage (spec 07 §0)."""

    quota_bytes: int
    used_bytes: int
    free_bytes: int
