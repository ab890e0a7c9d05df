"""A cluster's nodes as the placement code sees them, for "could this ever fit?" checks.

Submission refuses what admission would reject as never fitting (spec 02 §8.1), using the
same pure function (:meth:`PlacementIndex.never_fits`): every node of the cluster counts,
cordoned and unhealthy ones included (they may come back), and a cluster with no nodes yet
makes work wait rather than fail.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hangar.resources.orm import Cluster, Device, Node
from hangar.scheduling import placement
from hangar.scheduling.model import Request
from hangar.scheduling.resources import GIB


def cluster_nodes(session: Session, cluster_id: str) -> list[placement.Node]:
    rows = list(session.scalars(select(Node).where(Node.cluster_id == cluster_id)))
    cards: dict[str, list[Device]] = defaultdict(list)
    for device in session.scalars(select(Device).where(Device.node_id.in_([n.id for n in rows]))):
        cards[device.node_id].append(device)
    return [
        placement.Node(
            name=n.name,
            cluster_id=cluster_id,
            cpu_millicores=n.cpu_millicores,
            mem_bytes=n.mem_bytes,
            devices=tuple(
                placement.Device(d.uuid, d.model, d.memory_bytes // GIB, faulty=not d.healthy)
                for d in sorted(cards[n.id], key=lambda d: d.index)
            ),
            healthy=n.healthy,
            cordoned=n.cordoned,
        )
        for n in rows
    ]


def card_models(session: Session, cluster_id: str) -> list[str]:
    """Card models present in the cluster, healthy or not."""
    found = session.scalars(
        select(Device.model)
        .join(Node, Node.id == Device.node_id)
        .where(Node.cluster_id == cluster_id)
        .distinct()
    )
    return sorted(found)


def never_fits(session: Session, cluster: Cluster, request: Request) -> str | None:
    """Why ``request`` can never be placed on ``cluster``, or None when it might be."""
    index = placement.PlacementIndex(cluster_nodes(session, cluster.id), cluster.name)
    return index.never_fits(request)


def card_vram_gib(session: Session, cluster_id: str, model: str) -> int | None:
    """VRAM of the cluster's ``model`` cards (the smallest, so a share is never understated),
    or None when it has none."""
    found = session.scalar(
        select(func.min(Device.memory_bytes))
        .join(Node, Node.id == Device.node_id)
        .where(Node.cluster_id == cluster_id, Device.model == model)
    )
    return int(found) // GIB if found else None
