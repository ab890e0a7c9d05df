"""Which tenant holds which blob: the platform's own storage usage, per tenant (spec 07 §0,
issue 7 "per-tenant free quota and usage accounting").

A tenant is charged each distinct blob it references once, however many of its versions name
it; identical bytes held by two tenants are stored once on disk and counted for both. ``refs``
counts the tenant's manifests naming the blob; at zero the row goes, and a blob no row names
is garbage (``assets.usage.unreferenced``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, utcnow


class BlobRef(Base):
    __tablename__ = "blob_refs"

    # No foreign key on the tenant: usage is a billing record (as the ledger).
    tenant_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refs: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
