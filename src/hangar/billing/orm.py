"""Price versions, wallet events and ledger entries: the persistent side of billing.

All three tables are append-only. A price is never edited, only superseded by a later version;
a wallet's state is replayed from its events; a balance or a statement is summed from ledger
entries, never stored. Decimals are stored as their canonical strings (``String``), which
round-trip exactly on SQLite (whose NUMERIC is a float) and on PostgreSQL.

``LedgerEntry.key`` and ``WalletEvent.key`` are UNIQUE idempotency keys
(``compute:{usage_interval_id}:{meter}:{hour_start}``): settlement inserts a line only if its
key is absent, so a server killed mid-settlement and restarted charges every period once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class PriceVersionRow(Base):
    """``rate_per_hour`` (in ``unit``) of one ``meter`` from ``effective_from`` on.

    ``meter`` is a card model key (``dc100-40g``), ``cpu`` (per core-hour) or ``memory`` (per
    GiB-hour). ``tenant_id`` None: the platform-wide price; a tenant's own versions of a meter
    replace the platform's for that tenant.
    """

    __tablename__ = "price_versions"
    __table_args__ = (Index("ix_price_versions_meter_from", "meter", "effective_from"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True, index=True
    )
    meter: Mapped[str] = mapped_column(String(64))
    rate_per_hour: Mapped[str] = mapped_column(String(48))
    unit: Mapped[str] = mapped_column(String(8))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WalletEventRow(Base):
    """One event of a tenant's wallet (``billing.subscriptions``), replayed in ``seq`` order."""

    __tablename__ = "wallet_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """One charge (positive) or credit (negative) line. Compute lines name the usage interval,
    the hour window and the price version they come from."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_tenant_period", "tenant_id", "period_start"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    # No foreign keys on tenant, workspace, user or usage: the ledger outlives them all.
    tenant_id: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    meter: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[str] = mapped_column(String(48), default="0")
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[str] = mapped_column(String(48))
    unit: Mapped[str] = mapped_column(String(8))
    usage_interval_id: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    workload_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    price_version_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SettlementMark(Base):
    """How far compute settlement has gone: every hour before ``settled_until`` is done.

    Only an optimisation (settlement is idempotent by key); it lets the loop skip old hours.
    """

    __tablename__ = "settlement_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    settled_until: Mapped[datetime] = mapped_column(UTCDateTime)
