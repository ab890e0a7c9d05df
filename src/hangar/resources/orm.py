"""Inventory, resource specs, resource quotas and queues (spec 02 §1-§6).

Clusters: one **default** (public) cluster per installation (``tenant_id`` NULL) and any number
of **dedicated** clusters, each owned by one tenant and made of the nodes assigned to it.
Nodes and devices carry their ``source``: ``discovered`` (reported by a backend) or
``declared`` (from settings, for demos and CI); the two are never merged. Vanished nodes and
devices are marked unhealthy, never deleted, so history and placements stay readable.

Quotas and queues belong to a tenant and carve whole cards out of a dedicated cluster
(spec × count). ``uq_quotas_cluster_id_weight`` backs RQ6 in the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class Cluster(Base):
    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(16))  # "default" | "dedicated"
    # The tenant that bought a dedicated cluster; NULL for the shared default cluster.
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Node(Base):
    """One machine. ``healthy`` is the spec's "Ready" (spec 02 §2)."""

    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("source", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # "discovered" | "declared"
    backend: Mapped[str] = mapped_column(String(32), default="local")
    cpu_millicores: Mapped[int] = mapped_column(Integer, default=0)
    mem_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    cordoned: Mapped[bool] = mapped_column(Boolean, default=False)
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """One accelerator card of a node; ``uuid`` is NVML's (or ``DECLARED-...``)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    uuid: Mapped[str] = mapped_column(String(128), unique=True)
    index: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(64))
    vendor: Mapped[str] = mapped_column(String(16), default="nvidia")
    memory_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[str] = mapped_column(String(16))
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    hardware_error: Mapped[str] = mapped_column(String(300), default="")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceSpec(Base):
    """An explicit spec record of one cluster (decision B7: never derived by multiplication).

    ``cpu_millicores`` and ``mem_bytes`` are per instance. With a vGPU slice
    (``vgpu_vram_gib`` set), ``accel_count`` counts virtual cards and cpu/mem are the totals
    of all of them.
    """

    __tablename__ = "resource_specs"
    __table_args__ = (UniqueConstraint("cluster_id", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    cluster_id: Mapped[str] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    cpu_millicores: Mapped[int] = mapped_column(Integer)
    mem_bytes: Mapped[int] = mapped_column(BigInteger)
    accel_model: Mapped[str] = mapped_column(String(64), default="")
    accel_count: Mapped[int] = mapped_column(Integer, default=0)
    vgpu_vram_gib: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vgpu_compute_pct: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quota(Base):
    """A resource quota (spec 02 §5): a logical share of a dedicated cluster."""

    __tablename__ = "quotas"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        UniqueConstraint("cluster_id", "weight"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(128), default="")
    workload_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    spec_id: Mapped[str] = mapped_column(ForeignKey("resource_specs.id"), index=True)
    instance_count: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    borrowing: Mapped[bool] = mapped_column(Boolean, default=False)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    policy: Mapped[str] = mapped_column(String(16), default="fifo")
    status: Mapped[str] = mapped_column(String(16), default="started")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class QuotaAdmin(Base):
    """Users who use and manage a quota (RQ11, spec 01 §5.2)."""

    __tablename__ = "quota_admins"

    quota_id: Mapped[str] = mapped_column(
        ForeignKey("quotas.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class QuotaWorkspace(Base):
    """A quota ↔ non-default workspace association (RQ1, W4, decision A4)."""

    __tablename__ = "quota_workspaces"

    quota_id: Mapped[str] = mapped_column(
        ForeignKey("quotas.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    associated_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    associated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Queue(Base):
    """A queue (spec 02 §4): a hard partition used by the tenant's default workspace.

    The built-in default queue (``builtin``) lives on the default cluster, has no spec and
    no count: it is on-demand and bounded only by that cluster.
    """

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    workload_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    spec_id: Mapped[str | None] = mapped_column(
        ForeignKey("resource_specs.id"), nullable=True, index=True
    )
    instance_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="started")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class QueueUser(Base):
    """A queue's admins and members (spec 01 §5.2); one role per user."""

    __tablename__ = "queue_users"

    queue_id: Mapped[str] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # "admin" | "member"
