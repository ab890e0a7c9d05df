"""Clusters, nodes, devices and resource specs: ``/api/v1/{clusters,nodes,devices,specs}``.

Reading clusters and specs is open to every user (they pick them in forms); nodes and devices
are the tenant admins' inventory view. Creating clusters and assigning nodes is the platform
admin's ("a dedicated cluster is bought through sales", C1).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hangar.api.deps import Permit, PlatformAdmin, SessionDep
from hangar.resources import clusters, nodes, specs
from hangar.resources.schemas import (
    ClusterCreate,
    ClusterRead,
    ClusterUpdate,
    DeviceRead,
    NodeAssign,
    NodeRead,
    SpecCreate,
    SpecRead,
)
from hangar.resources.types import Source
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1", tags=["clusters"])

Viewer = Annotated[Actor, Depends(Permit("cluster.view"))]
Inventory = Annotated[Actor, Depends(Permit("inventory.view"))]
SpecManager = Annotated[Actor, Depends(Permit("cluster.manage"))]
ClusterQ = Annotated[str | None, Query(alias="cluster", description="Cluster id or name.")]
SourceQ = Annotated[Source | None, Query(description="DISCOVERED or DECLARED.")]


@router.get("/clusters", response_model=list[ClusterRead])
def list_clusters(session: SessionDep, actor: Viewer) -> list[ClusterRead]:
    """The default cluster and the caller's tenant's dedicated clusters, with capacity."""
    return [clusters.describe(session, c) for c in clusters.list_clusters(session, actor=actor)]


@router.post("/clusters", name="cluster.create", response_model=ClusterRead, status_code=201)
def create_cluster(session: SessionDep, actor: PlatformAdmin, body: ClusterCreate) -> ClusterRead:
    """A dedicated cluster for a tenant (platform admin); assign nodes to it next."""
    return clusters.describe(session, clusters.do_create_cluster(session, data=body))


@router.get("/clusters/{cluster_id}", response_model=ClusterRead)
def get_cluster(session: SessionDep, actor: Viewer, cluster_id: str) -> ClusterRead:
    return clusters.describe(session, clusters.access_cluster(session, actor, cluster_id))


@router.patch("/clusters/{cluster_id}", name="cluster.update", response_model=ClusterRead)
def update_cluster(
    session: SessionDep, actor: PlatformAdmin, cluster_id: str, body: ClusterUpdate
) -> ClusterRead:
    cluster = clusters.access_cluster(session, actor, cluster_id)
    return clusters.describe(
        session, clusters.do_update_cluster(session, cluster=cluster, data=body)
    )


@router.delete("/clusters/{cluster_id}", name="cluster.delete", status_code=204)
def delete_cluster(session: SessionDep, actor: PlatformAdmin, cluster_id: str) -> None:
    """Only without quotas and queues; the nodes return to the default cluster."""
    clusters.do_delete_cluster(session, cluster=clusters.access_cluster(session, actor, cluster_id))


@router.get("/nodes", response_model=list[NodeRead])
def list_nodes(session: SessionDep, actor: Inventory, cluster: ClusterQ = None) -> list[NodeRead]:
    """Nodes with their devices; each device says DISCOVERED or DECLARED."""
    found = clusters.access_cluster(session, actor, cluster) if cluster else None
    return nodes.list_nodes(session, actor=actor, cluster=found)


@router.put("/nodes/{node_id}/cluster", name="node.assign", response_model=NodeRead)
def assign_node(
    session: SessionDep, actor: PlatformAdmin, node_id: str, body: NodeAssign
) -> NodeRead:
    """Move a node into a cluster (a dedicated cluster is a named node set)."""
    node = nodes.access_node(session, actor, node_id)
    cluster = clusters.access_cluster(session, actor, body.cluster_id)
    clusters.do_assign_node(session, node=node, cluster=cluster)
    return next(
        n for n in nodes.list_nodes(session, actor=actor, cluster=cluster) if n.id == node.id
    )


@router.get("/devices", response_model=list[DeviceRead])
def list_devices(
    session: SessionDep, actor: Inventory, cluster: ClusterQ = None, source: SourceQ = None
) -> list[DeviceRead]:
    found = clusters.access_cluster(session, actor, cluster) if cluster else None
    return nodes.list_devices(session, actor=actor, cluster=found, source=source)


@router.get("/specs", response_model=list[SpecRead])
def list_specs(session: SessionDep, actor: Viewer, cluster: ClusterQ = None) -> list[SpecRead]:
    found = clusters.access_cluster(session, actor, cluster) if cluster else None
    return specs.list_specs(session, actor=actor, cluster=found)


@router.post("/specs", name="spec.create", response_model=SpecRead, status_code=201)
def create_spec(session: SessionDep, actor: SpecManager, body: SpecCreate) -> SpecRead:
    """An explicit spec record of one cluster (B7); its cards must exist in that cluster."""
    return specs.read(specs.do_create_spec(session, actor=actor, data=body))


@router.delete("/specs/{spec_id}", name="spec.delete", status_code=204)
def delete_spec(session: SessionDep, actor: SpecManager, spec_id: str) -> None:
    specs.do_delete_spec(session, actor=actor, row=specs.access_spec(session, actor, spec_id))
