"""Platform storage references and the model registry.

Which tenant holds which blob: the platform's own storage usage, per tenant (spec 07 §0,
issue 7 "per-tenant free quota and usage accounting").

A tenant is charged each distinct blob it references once, however many of its versions name
it; identical bytes held by two tenants are stored once on disk and counted for both. ``refs``
counts the tenant's manifests naming the blob; at zero the row goes, and a blob no row names
is garbage (``assets.usage.unreferenced``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class BlobRef(Base):
    __tablename__ = "blob_refs"

    # No foreign key on the tenant: usage is a billing record (as the ledger).
    tenant_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refs: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegisteredModel(Base):
    """A model record ("shell", spec 07 §1.1): a name unique in its workspace (G7: ≤ 64),
    a description (≤ 100), its versions. Files live in the platform's storage."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ModelVersion(Base):
    """Version ``number`` (V1, V2, … assigned in order, never reused) of a model: its files
    as a manifest of platform-storage blobs, where they came from, and its lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "number"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(100), default="")
    # upload | training | ide | token | link | storage
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="ready")
    status_reason: Mapped[str] = mapped_column(String(512), default="")
    manifest: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    files: Mapped[int] = mapped_column(Integer, default=0)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A version on tenant storage (spec 07 §1.2 (b)): a folder there, mounted as it is (or
    # staged from a bucket), never copied, counted or deleted by the platform.
    storage_id: Mapped[str | None] = mapped_column(
        ForeignKey("external_storages.id", ondelete="RESTRICT"), nullable=True
    )
    path: Mapped[str] = mapped_column(String(4096), default="")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelShareToken(Base):
    """A share token for one model version (spec 07 §1.4): random, shown once and stored only
    as its SHA-256, valid until ``expires_at`` (None: permanent), revocable."""

    __tablename__ = "model_share_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ModelAlias(Base):
    """A name for one version of a model (``prod``, ``latest-good``), moved at will; mounts,
    downloads and exports accept it wherever they take a version."""

    __tablename__ = "model_aliases"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(32), primary_key=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    updated_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
