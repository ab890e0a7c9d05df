"""Price versions, wallet events and ledger entries: the persistent side of billing.

All three tables are append-only. A price is never edited, only superseded by a later version;
a wallet's state is replayed from its events; a balance or a statement is summed from ledger
entries, never stored. Decimals are stored as their canonical strings (``String``), which
round-trip exactly on SQLite (whose NUMERIC is a float) and on PostgreSQL.

``LedgerEntry.key`` and ``WalletEvent.key`` are UNIQUE idempotency keys
(``compute:{hour}:{usage_interval_id}:{meter}:{price version}``): settlement inserts a line
only if its key is absent, so a server killed mid-settlement and restarted charges every period
once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
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
    __table_args__ = (
        Index("ix_ledger_entries_tenant_period", "tenant_id", "period_start"),
        # Settlement reads one hour of every tenant's lines at a time.
        Index("ix_ledger_entries_period_start", "period_start"),
    )

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


class AllocationChange(Base):
    """From ``at`` on, ``cards`` of ``gpu_model`` on ``cluster_id`` are allocated to a workspace
    (spec 09 §3.3): the history "allocated GPU-hours" integrates (1×24 + 2×24 = 72).

    A row is appended whenever a quota, queue or quota ↔ workspace link change moves the level;
    never edited. No foreign keys: the history outlives the workspace and the quota.
    """

    __tablename__ = "allocation_changes"
    __table_args__ = (
        Index("ix_allocation_changes_workspace_at", "workspace_id", "at"),
        Index("ix_allocation_changes_tenant_at", "tenant_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(16))
    cluster_id: Mapped[str] = mapped_column(String(16))
    gpu_model: Mapped[str] = mapped_column(String(64))
    cards: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(64), default="")


class StoragePeak(Base):
    """The peak bytes one owner (``user`` or ``workspace``) stored on one calendar ``day``
    (ISO date, UTC), raised by every storage sample of that day (spec 10 B-E2)."""

    __tablename__ = "storage_peaks"

    owner_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(16), index=True)
    peak_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    last_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BillingPolicy(Base):
    """A tenant's billing rules (spec 10 §5.4, §6): the minimum currency balance needed to
    start work (B-M3; None: no gate), and what an exhausted wallet does to running work
    (``stop``: stop compute, keep data; ``arrears``: keep running and accrue arrears)."""

    __tablename__ = "billing_policies"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    min_balance: Mapped[str | None] = mapped_column(String(48), nullable=True)
    min_balance_unit: Mapped[str] = mapped_column(String(8), default="CNY")
    exhausted_action: Mapped[str] = mapped_column(String(16), default="arrears")
    updated_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BillingAlert(Base):
    """One alert raised once (``key``): a wallet at 80 % or 100 % of what it holds, a stop
    because the wallet ran out, a storage day over the free quota."""

    __tablename__ = "billing_alerts"
    __table_args__ = (Index("ix_billing_alerts_tenant_at", "tenant_id", "at"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(512))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeterRecord(Base):
    """A quantity of a generic meter used at ``at`` (spec 10 §5.1: public addresses, tokens,
    anything not a usage interval). Recorded by the feature that meters it, idempotently by
    ``key``; settled in the hour of ``at`` at the price in force then, per unit of quantity.
    No foreign keys: like the ledger, it outlives what it measured."""

    __tablename__ = "meter_records"
    __table_args__ = (Index("ix_meter_records_at", "at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    meter: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
