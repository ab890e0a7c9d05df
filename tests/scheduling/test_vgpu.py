"""GPU virtualisation: bounds and recommended values (spec 02 §9 V4-V8, decision B8)."""

from __future__ import annotations

import pytest

from hangar.errors import ValidationFailed
from hangar.scheduling import CardShare, VgpuSlice, recommended, recommended_slice, validate_slice
from hangar.scheduling.vgpu import max_per_card

L40S = CardShare(model="L40s", vram_gib=44, cpu_cores=9, mem_gib=79)


def test_worked_example_l40s_two_by_5g() -> None:
    """V8: 9 × 5/44 = 1.02 → 1 core; 79 × 5/44 = 8.98 → 8 GiB; `2*(L40s(eGPU)_5G_1C_8G)`."""
    assert recommended(9, 5, 44) == 1
    assert recommended(79, 5, 44) == 8
    slice_ = recommended_slice(L40S, 5)
    assert slice_ == VgpuSlice(vram_gib=5, cpu_cores=1, mem_gib=8)
    spec = validate_slice(L40S, 2, slice_, node_cards=4)
    assert spec.display() == "2*(L40s(eGPU)_5G_1C_8G)"


def test_recommended_is_floor_with_minimum_one() -> None:
    assert recommended(9, 1, 44) == 1  # 0.2 → at least 1
    assert recommended(9, 44, 44) == 9
    assert recommended(79, 22, 44) == 39  # 39.5 → floor


def test_max_vgpus_per_card_is_floor_of_vram_ratio() -> None:
    assert max_per_card(128, 16) == 8  # V4's example
    assert max_per_card(44, 5) == 8
    assert max_per_card(44, 45) == 0


def _fails(field: str, count: int, s: VgpuSlice, node_cards: int = 4) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        validate_slice(L40S, count, s, node_cards=node_cards)
    assert list(err.value.fields) == [field]
    return err.value


def test_count_must_not_exceed_node_physical_cards() -> None:
    e = _fails("vgpu_count", 5, VgpuSlice(5, 1, 8), node_cards=4)
    assert "4 physical L40s cards" in e.message and "V4" in e.message
    _fails("vgpu_count", 0, VgpuSlice(5, 1, 8))
    validate_slice(L40S, 4, VgpuSlice(5, 1, 8), node_cards=4)


@pytest.mark.parametrize("vram", [0, 45])
def test_vram_between_1_and_physical(vram: int) -> None:
    e = _fails("vgpu_vram_gib", 1, VgpuSlice(vram, 1, 1))
    assert "V5" in e.message
    validate_slice(L40S, 1, VgpuSlice(44, 1, 1), node_cards=1)


def test_cpu_between_1_and_card_share() -> None:
    assert "V6" in _fails("vgpu_cpu_cores", 1, VgpuSlice(5, 0, 8)).message
    e = _fails("vgpu_cpu_cores", 1, VgpuSlice(5, 10, 8))
    assert "9 cores" in e.message and "recommended 1" in e.message
    validate_slice(L40S, 1, VgpuSlice(5, 9, 8), node_cards=1)


def test_memory_between_1_and_card_share() -> None:
    _fails("vgpu_mem_gib", 1, VgpuSlice(5, 1, 0))
    e = _fails("vgpu_mem_gib", 1, VgpuSlice(5, 1, 80))
    assert "79 GiB" in e.message and "recommended 8" in e.message
    validate_slice(L40S, 1, VgpuSlice(5, 1, 79), node_cards=1)


@pytest.mark.parametrize("pct", [0, 101])
def test_compute_percent_optional_but_bounded(pct: int) -> None:
    _fails("vgpu_compute_percent", 1, VgpuSlice(5, 1, 8, pct))
    validate_slice(L40S, 1, VgpuSlice(5, 1, 8, 1), node_cards=1)
    validate_slice(L40S, 1, VgpuSlice(5, 1, 8, None), node_cards=1)


def test_recommended_slice_rejects_bad_vram() -> None:
    with pytest.raises(ValidationFailed, match="vgpu_vram_gib"):
        recommended_slice(L40S, 50)
