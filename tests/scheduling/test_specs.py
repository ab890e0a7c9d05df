"""Resource amounts and spec strings (spec 02 §3, decision B7)."""

from __future__ import annotations

import pytest

from hangar.errors import ValidationFailed
from hangar.scheduling import GIB, Resources, Spec, VgpuSlice, parse_spec
from tests.scheduling.factories import res


def test_resources_arithmetic_and_fits() -> None:
    a, b = res(4, 16, 64, "H800"), res(1, 2, 8)
    assert a + b == res(5, 18, 72, "H800")
    assert a - b == res(3, 14, 56, "H800")
    assert b.fits(a) and not a.fits(b)
    assert (a - a).is_zero() and not a.is_zero()
    assert res(2, model="A800").fits(res(8, model="H800")) is False  # models must agree
    assert res(2).fits(res(8, model="H800"))  # a request naming no model takes any
    assert res(4, 4).min(res(2, 8)) == res(2, 4)
    assert res(4).shortfall(res(1)) == res(3)


def test_fractional_gpus_normalise_and_count_against_whole_cards() -> None:
    third = Resources(gpu_milli=334)
    assert third + third + third == Resources(gpus=1, gpu_milli=2)
    assert Resources(gpu_milli=2500) == Resources(gpus=2, gpu_milli=500)
    assert Resources(gpus=1) - Resources(gpu_milli=250) == Resources(gpu_milli=750)
    assert Resources(gpu_milli=750).fits(Resources(gpus=1))
    assert not Resources(gpus=1, gpu_milli=1).fits(Resources(gpus=1))


def test_describe_names_each_part() -> None:
    assert res(4, 16, 64, "H800").describe() == "4 GPUs (H800), 16 CPU cores, 64 GiB memory"
    assert res(1, 1).describe() == "1 GPU, 1 CPU core"
    assert Resources(gpu_milli=230).describe() == "0.23 GPUs"


@pytest.mark.parametrize(
    ("text", "cpu", "mem", "count", "model"),
    [
        ("21C_175G_1*H800", 21, 175, 1, "H800"),
        ("170C_1400G_8*H800", 170, 1400, 8, "H800"),
        ("14C_100G_1*A800", 14, 100, 1, "A800"),
        ("170C_1400G_8*T800", 170, 1400, 8, "T800"),
        ("2C8G", 2, 8, 0, None),
    ],
)
def test_spec_strings_round_trip(
    text: str, cpu: int, mem: int, count: int, model: str | None
) -> None:
    spec = parse_spec(text)
    assert (spec.cpu_millicores, spec.mem_bytes) == (cpu * 1000, mem * GIB)
    assert (spec.accel_count, spec.accel_model) == (count, model)
    assert spec.display() == text


def test_whole_node_spec_is_an_explicit_record_not_a_multiple() -> None:
    """B7: 8 × 21C = 168C, yet the whole-node H800 spec is 170C."""
    one = Spec.accel(21, 175, 1, "H800")
    node = Spec.accel(170, 1400, 8, "H800")
    assert one.display() == "21C_175G_1*H800"
    assert node.display() == "170C_1400G_8*H800"
    assert node.resources() != one.resources().times(8)
    assert node.cards == 8


def test_cpu_only_spec_variants_parse() -> None:
    for text in ("2C8G", "2C_8G", "CPU_2C-内存_8G"):
        assert parse_spec(text) == Spec.cpu_only(2, 8)
    assert Spec.cpu_only(8, 16).display() == "8C16G"  # the data-cleaning default
    assert Spec.cpu_only(0.5, 1).display() == "0.5C1G"


def test_virtual_spec_string() -> None:
    spec = Spec.virtual("L40s", 2, VgpuSlice(vram_gib=5, cpu_cores=1, mem_gib=8))
    assert spec.display() == "2*(L40s(eGPU)_5G_1C_8G)"
    assert parse_spec("2*(L40s(eGPU)_5G_1C_8G)") == spec
    assert (spec.cpu_millicores, spec.mem_bytes) == (2000, 16 * GIB)
    assert spec.cards == 0  # virtual cards are not physical cards
    # draws its VRAM share of the 44 GiB card from quotas: 2 × 5 / 44 = 0.228 cards
    assert spec.resources(phys_vram_gib=44).gpu_total_milli == 228
    request = spec.request(phys_vram_gib=44)
    assert request.vgpu is not None and request.vgpu.count == 2


@pytest.mark.parametrize("text", ["", "21C", "H800", "21C_175G_1*", "2*(L40s_5G_1C_8G)"])
def test_bad_spec_strings_name_the_field_and_the_formats(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_spec(text, field="instance_spec")
    assert "instance_spec" in err.value.fields
    assert "21C_175G_1*H800" in err.value.message
    assert "2*(L40s(eGPU)_5G_1C_8G)" in err.value.message


@pytest.mark.parametrize("text", ["21C_175G_0*H800", "0C_8G_1*H800", "0*(L40s(eGPU)_5G_1C_8G)"])
def test_zero_counts_and_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_spec(text)
    assert "spec" in err.value.fields


def test_spec_record_rules() -> None:
    with pytest.raises(ValidationFailed, match="accel_model"):
        Spec(1000, GIB, accel_count=2)
    with pytest.raises(ValidationFailed, match="cpu"):
        Spec(0, GIB)
