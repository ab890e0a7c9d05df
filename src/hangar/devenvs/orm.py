"""What a dev environment keeps beside its workload row (spec 03 §1.3-§1.9).

The workload (kind ``ide``) holds the desired state, runs and usage like every other kind.
This row holds what only dev environments have: the IDE and its per-environment secret,
the ports allocated while it runs, the idle and scheduled-stop settings, the activity
the idle loop last saw, and the cache retention clock (decision C2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hangar.db.base import Base, UTCDateTime, new_id, utcnow


class DevEnvironment(Base):
    __tablename__ = "dev_environments"

    workload_id: Mapped[str] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), primary_key=True
    )
    ide: Mapped[str] = mapped_column(String(16))  # jupyterlab | code-server
    secret: Mapped[str] = mapped_column(String(64))  # the IDE's own token; never leaves the server
    runtime_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ssh_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    ssh_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Allocated at each start; a port is free again once its environment is not live.
    ide_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ssh_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exposed_ports: Mapped[list[int]] = mapped_column(JSON, default=list)
    idle_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stop_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_activity_source: Mapped[str] = mapped_column(String(32), default="")
    idle_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delete_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cache_purge_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cache_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IdlePolicy(Base):
    """An admin's idle-shutdown policy for a workspace ("auto-recycle", spec 03 §2).

    ``locked`` policies bind every environment of the workspace: users can neither lengthen
    nor turn off the idle timeout, nor postpone a stop with "keep alive".
    """

    __tablename__ = "idle_policies"
    __table_args__ = (UniqueConstraint("workspace_id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    idle_minutes: Mapped[int] = mapped_column(Integer)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    gpu_busy_percent: Mapped[int] = mapped_column(Integer, default=10)
    updated_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ResourceSample(Base):
    """One monitoring sample of a running environment (spec 03 §1.8); kept for a day."""

    __tablename__ = "resource_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workload_id: Mapped[str] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
