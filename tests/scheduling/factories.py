"""Builders for scheduler inputs: short to write, explicit where it matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hangar.scheduling import (
    GIB,
    Device,
    Loan,
    Node,
    PendingWorkload,
    Queue,
    Quota,
    Request,
    Resources,
    RunningWorkload,
    VgpuDemand,
    WorkloadType,
)
from hangar.scheduling.model import ALL_TYPES

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def res(gpus: int = 0, cpu: int = 0, mem: int = 0, model: str | None = None) -> Resources:
    """GPUs, CPU cores, GiB."""
    return Resources.of(cpu=cpu, mem_gib=mem, gpus=gpus, gpu_model=model)


def quota(
    id: str,
    gpus: int = 8,
    *,
    cpu: int = 0,
    mem: int = 0,
    cluster: str = "c1",
    weight: int = 1,
    borrowing: bool = False,
    exclusive: bool = False,
    started: bool = True,
    types: frozenset[WorkloadType] = ALL_TYPES,
    workspaces: frozenset[str] | None = None,
    model: str | None = None,
) -> Quota:
    return Quota(
        id=id,
        name=id,
        cluster_id=cluster,
        total=res(gpus, cpu, mem, model),
        workload_types=types,
        weight=weight,
        borrowing=borrowing,
        exclusive=exclusive,
        started=started,
        workspace_ids=workspaces,
    )


def queue(
    id: str,
    gpus: int | None = 8,
    *,
    cluster: str = "c1",
    started: bool = True,
    types: frozenset[WorkloadType] = ALL_TYPES,
    default_ws: str | None = None,
) -> Queue:
    return Queue(
        id=id,
        name=id,
        cluster_id=cluster,
        total=None if gpus is None else res(gpus),
        workload_types=types,
        started=started,
        default_workspace_id=default_ws,
    )


def job(
    id: str,
    pool: str,
    gpus: int = 1,
    *,
    t: int = 0,
    cpu: int = 0,
    mem: int = 0,
    user: str = "alice",
    kind: WorkloadType = WorkloadType.TRAINING,
    priority: int = 0,
    nodes: int = 1,
    model: str | None = None,
    workspace: str | None = None,
    distinct: bool = False,
) -> PendingWorkload:
    """A pending workload; ``gpus``/``cpu``/``mem`` are per node."""
    return PendingWorkload(
        id=id,
        pool_id=pool,
        workload_type=kind,
        user_id=user,
        request=Request(res(gpus, cpu, mem, model), nodes, distinct_nodes=distinct),
        submitted_at=at(t),
        priority=priority,
        workspace_id=workspace,
    )


def vjob(
    id: str,
    pool: str,
    *,
    count: int,
    vram: int,
    phys: int,
    model: str = "L40s",
    t: int = 0,
    user: str = "alice",
) -> PendingWorkload:
    """A pending vGPU workload: ``count`` slices of ``vram`` GiB on ``phys`` GiB cards."""
    milli = -(-count * vram * 1000 // phys)
    per = Resources.of(cpu=count, mem_gib=count, gpu_model=model, gpu_milli=milli)
    return PendingWorkload(
        id=id,
        pool_id=pool,
        workload_type=WorkloadType.IDE,
        user_id=user,
        request=Request(per, 1, VgpuDemand(model, count, vram)),
        submitted_at=at(t),
    )


def running(
    id: str, pool: str, gpus: int = 1, *, user: str = "alice", loans: dict[str, int] | None = None
) -> RunningWorkload:
    return RunningWorkload(
        id=id,
        pool_id=pool,
        user_id=user,
        own=res(gpus),
        loans=tuple(Loan(lender, res(n)) for lender, n in (loans or {}).items()),
    )


def node(
    name: str,
    gpus: int = 8,
    *,
    cpu: int = 64,
    mem: int = 512,
    model: str = "H800",
    vram: int = 80,
    cluster: str = "c1",
    cordoned: bool = False,
    healthy: bool = True,
    allocated: int = 0,
    faulty: tuple[int, ...] = (),
) -> Node:
    """A node with ``gpus`` cards; the first ``allocated`` are held by running work."""
    devices = tuple(
        Device(f"{name}-g{i}", model, vram, allocated=i < allocated, faulty=i in faulty)
        for i in range(gpus)
    )
    return Node(
        name=name,
        cluster_id=cluster,
        cpu_millicores=cpu * 1000,
        mem_bytes=mem * GIB,
        devices=devices,
        healthy=healthy,
        cordoned=cordoned,
    )
