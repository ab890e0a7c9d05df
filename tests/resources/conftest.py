"""Resources tests: GPU hosts reported by a backend, and a dedicated cluster made of them.

The hosts stand in for hardware: ``report_hosts`` stores an inventory as a multi-host backend
would report it (through ``sync_inventory``, as the server does for the local backend).
``Setup`` then builds, through the public API, one dedicated cluster ``ded-a`` of two
8 × H800 nodes (16 cards) with 1/2/4/8-card specs, plus a CPU-only spec, and one
non-default workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hangar.backends.inventory import DeviceSource, GpuDevice, HostInventory, Inventory
from hangar.resources.inventory import sync_inventory
from hangar.workloads.orm import Run, RunNode, Workload
from tests.support import Api, Hangar

GIB = 1024**3
CLUSTER_BACKEND = "ci"  # a multi-host backend, as Slurm would report one


def gpus(host: str, model: str, vram_gib: int, count: int) -> tuple[GpuDevice, ...]:
    return tuple(
        GpuDevice(
            uuid=f"DECLARED-{host}-{i}", model=model, memory_bytes=vram_gib * GIB, index=i,
            source=DeviceSource.DECLARED,
        )
        for i in range(count)
    )  # fmt: skip


def host(name: str, cpus: int, mem_gib: int, cards: tuple[GpuDevice, ...] = ()) -> HostInventory:
    return HostInventory(name=name, cpus=cpus, memory_bytes=mem_gib * GIB, gpus=cards)


HOSTS = Inventory(
    hosts=(
        host("gpu-a1", 170, 1400, gpus("gpu-a1", "H800", 80, 8)),
        host("gpu-a2", 170, 1400, gpus("gpu-a2", "H800", 80, 8)),
        host("gpu-l1", 36, 316, gpus("gpu-l1", "L40S", 44, 4)),
        host("cpu-1", 64, 256),
    )
)
H800_SPECS = {1: (21, 175), 2: (42, 350), 4: (84, 700), 8: (170, 1400)}


def spec_body(cluster_id: str, cards: int, model: str = "H800") -> dict[str, Any]:
    cpu, mem = H800_SPECS.get(cards, (cards * 21, cards * 175))
    return {
        "cluster_id": cluster_id, "cpu_millicores": cpu * 1000, "mem_bytes": mem * GIB,
        "accel_model": model, "accel_count": cards,
    }  # fmt: skip


@dataclass
class Setup:
    """One tenant's dedicated cluster, its specs (by cards), a custom workspace."""

    h: Hangar
    cluster: dict[str, Any]
    specs: dict[int, dict[str, Any]]
    cpu_spec: dict[str, Any]
    workspace: dict[str, Any]

    @property
    def admin(self) -> Api:
        return self.h.admin

    def quota_body(self, name: str, **kw: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name, "cluster_id": self.cluster["id"], "workload_types": ["training"],
            "spec_id": self.specs[kw.pop("cards", 1)]["id"], "instance_count": 1,
            "weight": 1,
        }  # fmt: skip
        body.update(kw)
        return body

    def quota(self, name: str, **kw: Any) -> dict[str, Any]:
        quota: dict[str, Any] = self.admin.call(
            "POST", "/api/v1/quotas", 201, json=self.quota_body(name, **kw)
        )
        return quota

    def queue_body(self, name: str, **kw: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name, "cluster_id": self.cluster["id"], "workload_types": ["training"],
            "spec_id": self.specs[kw.pop("cards", 1)]["id"], "instance_count": 1,
        }  # fmt: skip
        body.update(kw)
        return body

    def queue(self, name: str, **kw: Any) -> dict[str, Any]:
        queue: dict[str, Any] = self.admin.call(
            "POST", "/api/v1/queues", 201, json=self.queue_body(name, **kw)
        )
        return queue

    def workload(
        self,
        *,
        state: str,
        quota_id: str | None = None,
        queue_id: str | None = None,
        workspace_id: str | None = None,
        gpus: int = 1,
        nodes: int = 1,
    ) -> str:
        """Insert a workload row directly: the jobs API is not this suite's subject."""
        me = self.admin.call("GET", "/api/v1/auth/me")
        ws = workspace_id or self.workspace["id"]
        row = Workload(
            tenant_id=me["tenant_id"], workspace_id=ws, created_by=me["id"], kind="training",
            name=f"t-{state.lower()}", spec={"resources": {"gpus": gpus}, "node_count": nodes},
            quota_id=quota_id, queue_id=queue_id, state=state,
            submitted_at=datetime.now(UTC),
        )  # fmt: skip
        with self.h.state.sessions() as session, session.begin():
            session.add(row)
            session.flush()
            return row.id

    def running(
        self,
        *,
        quota_id: str | None = None,
        queue_id: str | None = None,
        gpus: int,
        borrowed: int = 0,
    ) -> str:
        """A RUNNING workload with its live run on one node holding ``gpus`` H800 cards."""
        ident = self.workload(state="RUNNING", quota_id=quota_id, queue_id=queue_id, gpus=gpus)
        per_card = {"cpu_millicores": 21_000, "mem_bytes": 175 * GIB}
        with self.h.state.sessions() as session, session.begin():
            run = Run(
                workload_id=ident, number=1, state="RUNNING", started_at=datetime.now(UTC),
                borrowed={"lender-quota": {"gpus": borrowed}} if borrowed else {},
            )  # fmt: skip
            session.add(run)
            session.flush()
            resources = {"gpus": gpus, "gpu_model": "H800"}
            resources.update({k: v * gpus for k, v in per_card.items()})
            session.add(RunNode(run_id=run.id, rank=0, node_name="gpu-a1", resources=resources))
        return ident


def report_hosts(h: Hangar, inventory: Inventory = HOSTS) -> None:
    """What the ``ci`` backend reports, stored as the server stores any backend's report."""
    with h.state.sessions() as session, session.begin():
        sync_inventory(session, inventory, backend=CLUSTER_BACKEND)


def build_setup(h: Hangar) -> Setup:
    report_hosts(h)
    me = h.admin.call("GET", "/api/v1/auth/me")
    cluster = h.admin.call(
        "POST", "/api/v1/clusters", 201, json={"name": "ded-a", "tenant_id": me["tenant_id"]}
    )
    for node in h.admin.call("GET", "/api/v1/nodes"):
        if node["name"] in ("gpu-a1", "gpu-a2"):
            h.admin.call(
                "PUT", f"/api/v1/nodes/{node['id']}/cluster", json={"cluster_id": cluster["id"]}
            )
    specs = {
        n: h.admin.call("POST", "/api/v1/specs", 201, json=spec_body(cluster["id"], n))
        for n in (1, 2, 4, 8)
    }
    cpu_spec = h.admin.call(
        "POST", "/api/v1/specs", 201,
        json={"cluster_id": cluster["id"], "cpu_millicores": 2000, "mem_bytes": 8 * GIB},
    )  # fmt: skip
    ws = h.create_workspace("TeamA")
    return Setup(h, cluster, specs, cpu_spec, ws)


# The app without its loops: tests insert workload rows directly, which a scheduler pass
# would otherwise act on (reject, admit) while the test looks at them.
@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[Setup]:
    from tests.jobs.support import quiet_hangar  # here: that module imports this one

    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield build_setup(h)


@pytest.fixture
def setup_any(tmp_path: Path, any_db_url: str) -> Iterator[Setup]:
    """``setup`` once on SQLite and once on PostgreSQL."""
    from tests.jobs.support import quiet_hangar  # here: that module imports this one

    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield build_setup(h)
