"""Workloads, runs, run nodes, events and usage intervals (ARCHITECTURE.md "Workload").

A **workload** is desired state: a spec owned by a user in a workspace. Each start is a
**run**; a run has one row per node (rank) with its placement and backend observations.
**Events** record every transition with the rule that caused it. **Usage intervals** are
resources × wall time per run node, opened when it starts running and closed when it stops,
fails or enters fault recovery (spec 04 §5.6: recovery time is not metered).

The reconcile loops lease workloads with ``lease_token`` / ``lease_expires_at`` so that two
loop iterations (or two servers) never act on the same workload at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class Workload(Base):
    __tablename__ = "workloads"
    __table_args__ = (
        Index("ix_workloads_state_submitted", "state", "submitted_at"),
        Index("ix_workloads_workspace_kind", "workspace_id", "kind"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # decision B1 enum
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(128), default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Where it draws resources from: a quota (non-default workspaces) or a queue (default).
    quota_id: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    queue_id: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(16), default="SUBMITTED")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    restart_count: Mapped[int] = mapped_column(Integer, default=0)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(32), default="api")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Run(Base):
    """One start of a workload (spec 04 §3 "run record")."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    workload_id: Mapped[str] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="SUBMITTED")
    backend: Mapped[str] = mapped_column(String(32), default="local")
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    borrowed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RunNode(Base):
    """One node (rank) of a run: its placement and what the backend last observed."""

    __tablename__ = "run_nodes"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    node_name: Mapped[str] = mapped_column(String(128))
    resources: Mapped[dict[str, Any]] = mapped_column(JSON)  # cpu, mem, gpus, devices, slices
    handle: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # backend's own data
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkloadEvent(Base):
    __tablename__ = "workload_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workload_id: Mapped[str] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # transition | alert | info | scheduling
    rule: Mapped[str] = mapped_column(String(32), default="")
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16), default="")
    message: Mapped[str] = mapped_column(Text, default="")


class UsageInterval(Base):
    """Resources held by one run node over [started_at, ended_at): what billing settles.

    ``key`` is unique per (run node, segment) so that recording is idempotent across server
    restarts: a segment re-opened after a crash finds its row instead of adding a second one.
    """

    __tablename__ = "usage_intervals"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # No foreign key on purpose: usage is a billing record and outlives a deleted job.
    run_id: Mapped[str] = mapped_column(String(16), index=True)
    workload_id: Mapped[str] = mapped_column(String(16), index=True)
    tenant_id: Mapped[str] = mapped_column(String(16), index=True)
    workspace_id: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    quota_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    node_name: Mapped[str] = mapped_column(String(128))
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    gpu_model: Mapped[str] = mapped_column(String(64), default="")
    vgpu_vram_gib: Mapped[int] = mapped_column(Integer, default=0)
    # Virtual GPUs: the slices' share of a card in thousandths (decision I1); gpus is 0.
    gpu_milli: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cpu_millicores: Mapped[int] = mapped_column(Integer, default=0)
    mem_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
