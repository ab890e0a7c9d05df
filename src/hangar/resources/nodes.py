"""Reading nodes and devices: those of the clusters the actor may see, labelled by source."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.errors import NotFound
from hangar.resources.clusters import list_clusters, visible
from hangar.resources.orm import Cluster, Device, Node
from hangar.resources.schemas import DeviceRead, NodeRead
from hangar.resources.types import Source
from hangar.tenancy.access import Actor


def list_nodes(session: Session, *, actor: Actor, cluster: Cluster | None = None) -> list[NodeRead]:
    """Nodes of the visible clusters (or of ``cluster``), each with its devices."""
    clusters = {c.id: c for c in ([cluster] if cluster else list_clusters(session, actor=actor))}
    stmt = select(Node).where(Node.cluster_id.in_(clusters)).order_by(Node.name)
    nodes = list(session.scalars(stmt))
    devices: dict[str, list[DeviceRead]] = defaultdict(list)
    for device in session.scalars(
        select(Device).where(Device.node_id.in_([n.id for n in nodes])).order_by(Device.index)
    ):
        devices[device.node_id].append(DeviceRead.model_validate(device))
    rows = []
    for node in nodes:
        row = NodeRead.model_validate(node)
        row.cluster_name = clusters[node.cluster_id].name
        row.devices = devices[node.id]
        for d in row.devices:
            d.node_name = node.name
        rows.append(row)
    return rows


def list_devices(
    session: Session,
    *,
    actor: Actor,
    cluster: Cluster | None = None,
    source: Source | None = None,
) -> list[DeviceRead]:
    """Devices of the visible nodes; ``source`` keeps DISCOVERED or DECLARED ones only."""
    return [
        d
        for n in list_nodes(session, actor=actor, cluster=cluster)
        for d in n.devices
        if source is None or d.source is source
    ]


def access_node(session: Session, actor: Actor, node_id: str) -> Node:
    """A node of a cluster the actor may see, by id; anything else is 404."""
    node = session.get(Node, node_id)
    cluster = session.get(Cluster, node.cluster_id) if node else None
    if node is None or cluster is None or not visible(actor, cluster):
        raise NotFound.of("node", node_id)
    return node
