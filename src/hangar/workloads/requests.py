"""A stored workload spec's per-node resources as the scheduler asks for them, and what a
run node holds once placed.

``spec["resources"]`` (per node) holds ``cpu_millicores``, ``mem_bytes``, ``gpus`` (whole
cards) and ``gpu_model``. A virtual GPU request (spec 02 §9; dev environments only) adds
``vgpu`` = ``{"count", "vram_gib", "compute_percent"}`` (per virtual card; compute ``None``:
VRAM isolation only) and ``gpu_milli``: the thousandths of a physical card the slices count
for in quotas and per-user limits (decision I1), fixed at submission from the card's VRAM.

A run node's ``resources`` add ``devices`` (whole-card UUIDs) and, for virtual GPUs,
``slices`` = ``[{"uuid", "vram_gib", "compute_percent"}, ...]`` (one per virtual card; two
on one physical card are two entries), ``vgpu_vram_gib`` (their VRAM in total) and
``gpu_milli``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hangar.scheduling import model
from hangar.scheduling.placement import RankPlacement
from hangar.scheduling.resources import Resources


def vgpu_of(res: Mapping[str, Any]) -> model.VgpuDemand | None:
    """The virtual GPU demand of per-node resources, or None for whole cards / CPU only."""
    v = res.get("vgpu")
    if not v:
        return None
    pct = v.get("compute_percent")
    return model.VgpuDemand(
        model=str(res.get("gpu_model") or ""), count=int(v["count"]),
        vram_gib=int(v["vram_gib"]), compute_percent=int(pct) if pct else None,
    )  # fmt: skip


def per_node(res: Mapping[str, Any]) -> Resources:
    """Per-node resources as an amount: whole cards, or a vGPU's share of a card."""
    return Resources(
        int(res.get("cpu_millicores") or 0), int(res.get("mem_bytes") or 0),
        int(res.get("gpus") or 0), res.get("gpu_model") or None, int(res.get("gpu_milli") or 0),
    )  # fmt: skip


def request_of(spec: Mapping[str, Any]) -> model.Request:
    """The scheduler's request for a stored spec: per-node resources × node count."""
    res = spec["resources"]
    return model.Request(per_node(res), int(spec.get("node_count") or 1), vgpu_of(res))


def node_resources(spec: Mapping[str, Any], rank: RankPlacement) -> dict[str, Any]:
    """What one placed rank holds: the run node's ``resources`` (see the module notes)."""
    res = spec["resources"]
    held: dict[str, Any] = {
        "cpu_millicores": rank.cpu_millicores, "mem_bytes": rank.mem_bytes,
        "gpus": len(rank.gpu_uuids), "gpu_model": res.get("gpu_model"),
        "devices": list(rank.gpu_uuids),
    }  # fmt: skip
    if rank.slices:
        held["slices"] = [
            {"uuid": s.device_uuid, "vram_gib": s.vram_gib, "compute_percent": s.compute_percent}
            for s in rank.slices
        ]
        held["vgpu_vram_gib"] = sum(s.vram_gib for s in rank.slices)
        held["gpu_milli"] = int(res.get("gpu_milli") or 0)
    return held


def granted_uuids(held: Mapping[str, Any]) -> tuple[str, ...]:
    """Every physical card a run node uses, whole or sliced, each once, in grant order."""
    uuids = list(held.get("devices") or ())
    uuids += [str(s["uuid"]) for s in held.get("slices") or ()]
    return tuple(dict.fromkeys(uuids))
