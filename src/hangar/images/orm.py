"""Runtime images (spec 03 §1.7 "Make image", §1.10; docs/images.md).

On the local backend an image is a directory holding a Python virtual environment. A preset
image is the server's own environment (``path`` empty: resolved at run time). A custom
image is a *layer*: the packages a dev environment installed on top of its parent image,
copied out of the environment's software layer; ``parent_id`` chains layers.

An :class:`ImageShare` lets others use a custom image name (every version of it in the
sharer's tenant): one user of the same tenant, or every user of another tenant.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "version"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True, index=True
    )  # None: a preset image every tenant sees
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))  # preset | custom
    description: Mapped[str] = mapped_column(String(256), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    parent_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    path: Mapped[str] = mapped_column(String(512), default="")
    # building | ready | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="ready")
    status_reason: Mapped[str] = mapped_column(String(512), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    source_workload_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    source: Mapped[str] = mapped_column(String(32), default="preset")  # preset | jupyterlab | ...
    created_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageShare(Base):
    """A custom image name shared with a user of the tenant or with another tenant (matrix
    rows 53-54). It works while ``enabled`` and not past ``expires_at`` (None: no end)."""

    __tablename__ = "image_shares"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (target_tenant_id IS NULL)", name="one_target"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )  # the sharer's tenant: the image's
    name: Mapped[str] = mapped_column(String(64))  # every version of this custom image name
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )  # a user of the same tenant ...
    target_tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True, index=True
    )  # ... or every user of another tenant
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
