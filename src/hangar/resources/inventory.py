"""Nodes and devices as backends report them (spec 02 §1-§2).

:func:`sync_inventory` stores a backend's :class:`~hangar.backends.inventory.Inventory`:
hosts become nodes, GPUs become devices that keep their ``source`` (DISCOVERED on the
hardware, or DECLARED in the settings for demos and CI; never merged). A node or device a
sync no longer reports is marked unhealthy with a reason, never deleted, so placements and
history stay readable; reported again, it is healthy again. New nodes join the default
cluster; the platform admin moves them into dedicated clusters. The caller owns the
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.backends.inventory import GpuDevice, HostInventory, Inventory
from hangar.db.base import utcnow
from hangar.resources.orm import Cluster, Device, Node
from hangar.resources.types import DEFAULT_CLUSTER, ClusterKind, Source

MILLI = 1000


@dataclass(frozen=True)
class SyncResult:
    added: int
    updated: int
    vanished: int


def ensure_default_cluster(session: Session) -> Cluster:
    """The installation's default (public) cluster, created on first use (C1)."""
    found = session.scalar(select(Cluster).where(Cluster.kind == ClusterKind.DEFAULT.value))
    if found is not None:
        return found
    cluster = Cluster(
        name=DEFAULT_CLUSTER,
        kind=ClusterKind.DEFAULT.value,
        tenant_id=None,
        description="The platform's public cluster: used on demand through the default queue",
    )
    session.add(cluster)
    session.flush()
    return cluster


def sync_inventory(
    session: Session,
    inventory: Inventory,
    *,
    backend: str = "local",
    now: datetime | None = None,
) -> SyncResult:
    """Upsert the hosts and GPUs ``backend`` reports; mark what it no longer reports unhealthy.

    Idempotent: a second call with the same inventory changes nothing but ``last_seen_at``.
    """
    now = now or utcnow()
    default = ensure_default_cluster(session)
    existing = {n.name: n for n in session.scalars(select(Node).where(Node.backend == backend))}
    added = updated = 0
    for host in inventory.hosts:
        node = existing.get(host.name)
        if node is None:
            node = Node(
                cluster_id=default.id, name=host.name, source=Source.DISCOVERED.value,
                backend=backend, first_seen_at=now,
            )  # fmt: skip
            session.add(node)
            added += 1
        else:
            updated += 1
        node.cpu_millicores, node.mem_bytes = host.cpus * MILLI, host.memory_bytes
        node.healthy, node.last_seen_at = True, now
        node.status_reason = host.gpu_discovery
        session.flush()
        _sync_devices(session, node, host, now=now)
    reported = {h.name for h in inventory.hosts}
    vanished = 0
    for name, node in existing.items():
        if name not in reported and node.healthy:
            _mark_node_gone(
                session,
                node,
                f"not reported by the {backend} backend since {now:%Y-%m-%d %H:%M} UTC",
            )
            vanished += 1
    return SyncResult(added=added, updated=updated, vanished=vanished)


def _sync_devices(session: Session, node: Node, host: HostInventory, *, now: datetime) -> None:
    rows = {d.uuid: d for d in session.scalars(select(Device).where(Device.node_id == node.id))}
    for gpu in host.gpus:
        row = rows.get(gpu.uuid)
        if row is None:
            # A GPU moved to another host keeps its UUID: adopt the row rather than duplicate it.
            row = session.scalar(select(Device).where(Device.uuid == gpu.uuid))
        if row is None:
            row = Device(uuid=gpu.uuid)
            session.add(row)
        _apply(row, node, gpu, now)
    reported = {g.uuid for g in host.gpus}
    for uuid, row in rows.items():
        if uuid not in reported and row.healthy:
            row.healthy, row.hardware_error = False, "no longer reported on this node"
    session.flush()


def _apply(row: Device, node: Node, gpu: GpuDevice, now: datetime) -> None:
    row.node_id, row.index, row.model = node.id, gpu.index, gpu.model
    row.memory_bytes, row.source = gpu.memory_bytes, Source(gpu.source).value
    row.vendor, row.healthy, row.hardware_error, row.last_seen_at = "nvidia", True, "", now


def _mark_node_gone(session: Session, node: Node, reason: str) -> None:
    node.healthy, node.status_reason = False, reason
    for device in session.scalars(select(Device).where(Device.node_id == node.id)):
        if device.healthy:
            device.healthy, device.hardware_error = False, f"node unavailable: {reason}"
