"""The values placement takes and gives: nodes and their devices, placements, the reasons
for none, the placement strategies, and what one empty node could hold. The index that
decides is ``placement``."""

from __future__ import annotations

from dataclasses import dataclass

from hangar.scheduling.model import Request

BEST_FIT = "best_fit"
FIRST_FIT = "first_fit"
PLACEMENTS = (BEST_FIT, FIRST_FIT)


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is one of ``PLACEMENTS``; else ValueError naming them."""
    if strategy not in PLACEMENTS:
        raise ValueError(
            f"placement strategy {strategy!r} is unknown; the strategies are "
            f"{', '.join(PLACEMENTS)}"
        )
    return strategy


@dataclass(frozen=True, slots=True)
class Device:
    """One physical accelerator. ``allocated``: a whole-card workload holds it. Slices in use
    are given as ``used_vram_gib`` / ``used_compute_percent``."""

    uuid: str
    model: str
    vram_gib: int
    allocated: bool = False
    used_vram_gib: int = 0
    used_compute_percent: int = 0
    faulty: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    """One machine: allocatable CPU and memory, what running work already uses, its cards."""

    name: str
    cluster_id: str
    cpu_millicores: int
    mem_bytes: int
    devices: tuple[Device, ...] = ()
    cpu_used_millicores: int = 0
    mem_used_bytes: int = 0
    healthy: bool = True
    cordoned: bool = False


@dataclass(frozen=True, slots=True)
class SliceGrant:
    """A virtual GPU: its physical card and its VRAM / compute limits (MPS)."""

    device_uuid: str
    vram_gib: int
    compute_percent: int | None


@dataclass(frozen=True, slots=True)
class RankPlacement:
    """Where one rank (node of a gang) runs and what it holds there."""

    rank: int
    node: str
    cpu_millicores: int
    mem_bytes: int
    gpu_uuids: tuple[str, ...] = ()
    slices: tuple[SliceGrant, ...] = ()


@dataclass(frozen=True, slots=True)
class Placement:
    ranks: tuple[RankPlacement, ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(r.node for r in self.ranks)


@dataclass(frozen=True, slots=True)
class Unplaceable:
    """No placement now. ``never``: not even on the empty cluster (a request to reject)."""

    reason: str
    never: bool = False


def ranks_on_empty(n: Node, request: Request) -> int:
    """How many ranks of ``request`` one empty ``n`` would hold (faulty cards included)."""
    per = request.per_node
    limits: list[int] = []
    if per.cpu_millicores:
        limits.append(n.cpu_millicores // per.cpu_millicores)
    if per.mem_bytes:
        limits.append(n.mem_bytes // per.mem_bytes)
    if request.vgpu is not None:
        v = request.vgpu
        slots = 0
        for d in n.devices:
            if d.model == v.model:
                s = d.vram_gib // v.vram_gib
                if v.compute_percent:
                    s = min(s, 100 // v.compute_percent)
                slots += s
        limits.append(slots // v.count)
    elif per.gpus:
        counts: dict[str, int] = {}
        for d in n.devices:
            counts[d.model] = counts.get(d.model, 0) + 1
        if per.gpu_model is not None:
            limits.append(counts.get(per.gpu_model, 0) // per.gpus)
        else:
            limits.append(sum(c // per.gpus for c in counts.values()))
    return min(limits) if limits else request.nodes


__all__ = [
    "BEST_FIT",
    "FIRST_FIT",
    "PLACEMENTS",
    "Device",
    "Node",
    "Placement",
    "RankPlacement",
    "SliceGrant",
    "Unplaceable",
    "check_strategy",
    "ranks_on_empty",
]
