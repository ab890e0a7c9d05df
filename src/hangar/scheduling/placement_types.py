"""The values placement takes and gives: nodes and their devices, placements, the reasons
for none, and the placement strategies. The index that decides is ``placement``."""

from __future__ import annotations

from dataclasses import dataclass

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
]
