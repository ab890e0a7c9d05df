"""Virtual GPU ("custom allocation") validation and recommended values (spec 02 §9, B8).

A physical card's *share* is the CPU cores and memory that come with one card on its node
(the L40s example: 44 GiB VRAM, 9 cores, 79 GiB). A virtual card takes a VRAM slice of one
physical card plus CPU and memory from that share. Every error names the field, the rule and
the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hangar.errors import ValidationFailed
from hangar.scheduling.specs import Spec, VgpuSlice


@dataclass(frozen=True, slots=True)
class CardShare:
    """A physical card model as a node offers it: VRAM and the per-card CPU/memory share."""

    model: str
    vram_gib: int
    cpu_cores: int
    mem_gib: int


def max_per_card(phys_vram_gib: int, vram_gib: int) -> int:
    """V4: how many slices of ``vram_gib`` one physical card holds (128/16 → 8)."""
    return phys_vram_gib // vram_gib if vram_gib > 0 else 0


def recommended(share: int, vram_gib: int, phys_vram_gib: int) -> int:
    """V7/V8/B8: ``max(1, floor(share × vram / phys_vram))`` (9 × 5/44 → 1, 79 × 5/44 → 8)."""
    return max(1, math.floor(share * vram_gib / phys_vram_gib))


def recommended_slice(card: CardShare, vram_gib: int) -> VgpuSlice:
    """The auto-filled ("recommended") slice for a VRAM size (V7); validates the VRAM first."""
    _check_vram(card, vram_gib)
    return VgpuSlice(
        vram_gib=vram_gib,
        cpu_cores=recommended(card.cpu_cores, vram_gib, card.vram_gib),
        mem_gib=recommended(card.mem_gib, vram_gib, card.vram_gib),
    )


def _check_vram(card: CardShare, vram_gib: int) -> None:
    if vram_gib < 1:
        raise ValidationFailed.field(
            "vgpu_vram_gib", f"must be at least 1 GiB (V5); got {vram_gib}: raise it"
        )
    if vram_gib > card.vram_gib:
        raise ValidationFailed.field(
            "vgpu_vram_gib",
            f"must be at most the physical {card.model} card's {card.vram_gib} GiB (V5); "
            f"got {vram_gib}: lower it, or use whole cards",
        )


def validate_slice(card: CardShare, count: int, vgpu: VgpuSlice, *, node_cards: int) -> Spec:
    """Check a virtual GPU request (V4-V6, B8) and return its spec.

    ``node_cards`` is the number of physical ``card.model`` cards on the largest node that
    offers them: the virtual card count may not exceed it (V4).
    """
    if count < 1:
        raise ValidationFailed.field("vgpu_count", f"must be at least 1 (V4); got {count}")
    if count > node_cards:
        raise ValidationFailed.field(
            "vgpu_count",
            f"must be at most the node's {node_cards} physical {card.model} cards (V4); "
            f"got {count}: lower the count",
        )
    _check_vram(card, vgpu.vram_gib)
    if vgpu.cpu_cores < 1:
        raise ValidationFailed.field(
            "vgpu_cpu_cores", f"must be at least 1 core (V6); got {vgpu.cpu_cores}: raise it"
        )
    if vgpu.cpu_cores > card.cpu_cores:
        raise ValidationFailed.field(
            "vgpu_cpu_cores",
            f"must be at most the {card.model} card's CPU share of {card.cpu_cores} cores (V6); "
            f"got {vgpu.cpu_cores}: lower it (recommended "
            f"{recommended(card.cpu_cores, vgpu.vram_gib, card.vram_gib)})",
        )
    if vgpu.mem_gib < 1:
        raise ValidationFailed.field(
            "vgpu_mem_gib", f"must be at least 1 GiB (V6); got {vgpu.mem_gib}: raise it"
        )
    if vgpu.mem_gib > card.mem_gib:
        raise ValidationFailed.field(
            "vgpu_mem_gib",
            f"must be at most the {card.model} card's memory share of {card.mem_gib} GiB (V6); "
            f"got {vgpu.mem_gib}: lower it (recommended "
            f"{recommended(card.mem_gib, vgpu.vram_gib, card.vram_gib)})",
        )
    pct = vgpu.compute_percent
    if pct is not None and not 1 <= pct <= 100:
        raise ValidationFailed.field(
            "vgpu_compute_percent",
            f"must be between 1 and 100 percent of a card (V2, B8); got {pct}: "
            "leave it empty to isolate by VRAM only",
        )
    return Spec.virtual(card.model, count, vgpu)
