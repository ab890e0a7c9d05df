"""Clusters, nodes, devices and resource specs: ``/api/v1/{clusters,nodes,devices,specs}``."""

from __future__ import annotations

import builtins

from hangar.client.errors import by_name_or_id
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
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

API = "/api/v1"


class ClustersAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> list[ClusterRead]:
        """The default cluster and your tenant's dedicated clusters, with capacity."""
        return self._t.get_list(ClusterRead, f"{API}/clusters")

    def get(self, cluster: str) -> ClusterRead:
        """One cluster by id or name."""
        return self._t.get(ClusterRead, f"{API}/clusters/{segment(cluster)}")

    def find(self, ref: str) -> ClusterRead:
        return by_name_or_id(self.list(), ref, "cluster")

    def create(self, *, name: str, tenant_id: str, description: str = "") -> ClusterRead:
        """A dedicated cluster for a tenant (platform admin)."""
        body = payload(ClusterCreate, name=name, tenant_id=tenant_id, description=description)
        return self._t.send(ClusterRead, "POST", f"{API}/clusters", json=body)

    def update(
        self, cluster: str, *, name: str | Unset = UNSET, description: str | Unset = UNSET
    ) -> ClusterRead:
        body = payload(ClusterUpdate, name=name, description=description)
        return self._t.send(ClusterRead, "PATCH", f"{API}/clusters/{segment(cluster)}", json=body)

    def delete(self, cluster: str) -> None:
        self._t.request("DELETE", f"{API}/clusters/{segment(cluster)}")


class NodesAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, cluster: str | None = None) -> list[NodeRead]:
        """Nodes with their devices; each device says DISCOVERED or DECLARED."""
        return self._t.get_list(NodeRead, f"{API}/nodes", params={"cluster": cluster})

    def devices(
        self, *, cluster: str | None = None, source: Source | None = None
    ) -> builtins.list[DeviceRead]:
        """Devices of the nodes you may see; ``source`` keeps DISCOVERED or DECLARED ones."""
        params = {"cluster": cluster, "source": source.value if source else None}
        return self._t.get_list(DeviceRead, f"{API}/devices", params=params)

    def assign(self, node_id: str, *, cluster_id: str) -> NodeRead:
        """Move a node into a cluster (platform admin)."""
        body = payload(NodeAssign, cluster_id=cluster_id)
        return self._t.send(NodeRead, "PUT", f"{API}/nodes/{segment(node_id)}/cluster", json=body)


class SpecsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, cluster: str | None = None) -> list[SpecRead]:
        return self._t.get_list(SpecRead, f"{API}/specs", params={"cluster": cluster})

    def create(
        self,
        *,
        cluster_id: str,
        cpu_millicores: int,
        mem_bytes: int,
        accel_model: str = "",
        accel_count: int = 0,
        vgpu_vram_gib: int | None = None,
        vgpu_compute_pct: int | None = None,
        name: str = "",
    ) -> SpecRead:
        """An explicit spec record (B7); ``name`` defaults to the display string."""
        body = payload(
            SpecCreate, cluster_id=cluster_id, name=name, cpu_millicores=cpu_millicores,
            mem_bytes=mem_bytes, accel_model=accel_model, accel_count=accel_count,
            vgpu_vram_gib=vgpu_vram_gib, vgpu_compute_pct=vgpu_compute_pct,
        )  # fmt: skip
        return self._t.send(SpecRead, "POST", f"{API}/specs", json=body)

    def delete(self, spec_id: str) -> None:
        self._t.request("DELETE", f"{API}/specs/{segment(spec_id)}")
