"""Datasets (spec 07 §2): basic datasets that point at a storage path, annotated datasets with
versions, records and annotations, and the external storage both may live on.

A **basic dataset** is a pointer: a path on a registered external storage (or, decision G6,
a folder of the platform's own storage) mounted into workloads as it is. Deleting it on the
platform never deletes the data behind it (decision G1).

An **annotated dataset** follows one of the eight templates of spec 07 §2.3. Each version
starts as a *draft*: imports parse files into records (``dataset_records``), the annotation
page edits records and their annotations. *Publishing* writes the records out in the
template's canonical form into platform storage as a manifest of blobs, after which the
version is immutable; only published versions feed training, fine-tuning and evaluation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class ExternalStorage(Base):
    """A tenant's storage registered by an admin for one cluster (spec 07 §0): a filesystem
    path on the cluster's nodes, or an S3-compatible bucket. ``root`` is the folder (or the
    bucket); dataset and code-package paths are relative to it."""

    __tablename__ = "external_storages"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    cluster_id: Mapped[str] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # filesystem | s3
    root: Mapped[str] = mapped_column(String(1000))
    # s3: endpoint_url, region, access_key_id; the secret key is sealed (assets.secret_box)
    # and never leaves the server.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sealed_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dataset(Base):
    """A basic or annotated dataset in a workspace.

    ``visibility``: ``owner`` (read-write for the creator only) or ``workspace`` (readable by
    the workspace's developers: the spec's "developer role in a specified workspace" and the
    annotated datasets' share). Admins always see it.
    """

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # basic | annotated
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(24), default="created")
    status_reason: Mapped[str] = mapped_column(String(1000), default="")
    visibility: Mapped[str] = mapped_column(String(16), default="owner")
    # Where a basic dataset's files are: NULL storage = the platform's own (G6).
    storage_id: Mapped[str | None] = mapped_column(
        ForeignKey("external_storages.id", ondelete="RESTRICT"), nullable=True
    )
    path: Mapped[str] = mapped_column(String(1000), default="")
    mount_name: Mapped[str] = mapped_column(String(64))
    # Confidential datasets (spec 07 §2.2).
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    output_dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), nullable=True
    )
    audit_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Annotated datasets: data type and template (spec 07 §2.3, decision G3).
    data_type: Mapped[str] = mapped_column(String(16), default="")
    template: Mapped[str] = mapped_column(String(32), default="")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DatasetVersion(Base):
    """One version of an annotated dataset: a draft (records editable) until published, then
    an immutable manifest of platform-storage blobs."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "label"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(32))  # "1.0", shown as the name's suffix
    status: Mapped[str] = mapped_column(String(24), default="draft")
    status_reason: Mapped[str] = mapped_column(String(1000), default="")
    # The last import's report: counts and the first row errors.
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manifest: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    files: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetRecord(Base):
    """One record of a draft version: a row of a text file or one image, with its annotation.
    ``media`` is the blob of the record's image (image templates), if any."""

    __tablename__ = "dataset_records"
    __table_args__ = (UniqueConstraint("version_id", "seq"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(1000), default="")  # file[:row]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    annotation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    edited_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CodePackage(Base):
    """A code package (spec 07 §4): files in platform storage (a manifest of blobs) or a path
    on a registered external storage, mounted at ``/work/mount/code/<name>``."""

    __tablename__ = "code_packages"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(16))  # upload | ide | storage
    source_ref: Mapped[str] = mapped_column(String(128), default="")
    start_file: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(24), default="importing")
    status_reason: Mapped[str] = mapped_column(String(1000), default="")
    storage_id: Mapped[str | None] = mapped_column(
        ForeignKey("external_storages.id", ondelete="RESTRICT"), nullable=True
    )
    path: Mapped[str] = mapped_column(String(1000), default="")
    manifest: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    files: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
