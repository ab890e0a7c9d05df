"""The contract's own rules: spec validation, placement checks, phase aggregation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.backends import (
    DeviceGrant,
    LaunchRejected,
    NodePlacement,
    NodeResources,
    NodeState,
    ObservedState,
    Phase,
    RunHandle,
    VGpuSlice,
    check_placements,
)
from hangar.backends.state import overall_phase
from tests.backends.support import MIB, make_spec


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"run_id": "../escape"}, "run_id"),
        ({"command": "  "}, "command"),
        ({"command": ()}, "command"),
        ({"env": {"BAD-NAME": "x"}}, "env"),
        ({"node_count": 0}, "node_count"),
        ({"output_dir": Path("relative")}, "output_dir"),
        ({"working_dir": "/etc"}, "working_dir"),
        ({"working_dir": "/work/../etc"}, "working_dir"),
    ],
)
def test_bad_specs_name_the_rule(tmp_path: Path, overrides: dict[str, object], field: str) -> None:
    command = overrides.pop("command", "true")
    with pytest.raises(LaunchRejected) as err:
        make_spec(tmp_path, command, **overrides)
    assert field in err.value.fields


def test_bad_resources_are_rejected() -> None:
    with pytest.raises(LaunchRejected, match="cpu_millicores"):
        NodeResources(cpu_millicores=0, memory_bytes=MIB)
    with pytest.raises(LaunchRejected, match="not both"):
        NodeResources(
            cpu_millicores=1, memory_bytes=MIB, gpus=1, vgpu=VGpuSlice(count=1, vram_bytes=MIB)
        )
    with pytest.raises(LaunchRejected, match="compute_percent"):
        VGpuSlice(count=1, vram_bytes=MIB, compute_percent=0)


def test_vgpu_placements_must_add_up(tmp_path: Path) -> None:
    slice_ = VGpuSlice(count=2, vram_bytes=4 * MIB, compute_percent=50)
    spec = make_spec(
        tmp_path, "true", resources=NodeResources(cpu_millicores=1, memory_bytes=MIB, vgpu=slice_)
    )
    packed = DeviceGrant(uuid="GPU-a", vram_limit_bytes=8 * MIB, compute_percent=50)
    assert check_placements(spec, [NodePlacement(node_name="h", rank=0, devices=(packed,))])
    short = DeviceGrant(uuid="GPU-a", vram_limit_bytes=4 * MIB, compute_percent=50)
    whole = DeviceGrant(uuid="GPU-a")
    for devices in [(short,), (whole, whole), ()]:
        with pytest.raises(LaunchRejected):
            check_placements(spec, [NodePlacement(node_name="h", rank=0, devices=devices)])


def node(rank: int, phase: Phase, code: int | None = None) -> NodeState:
    return NodeState(rank=rank, node_name="h", phase=phase, exit_code=code)


def test_overall_phase_follows_gang_semantics() -> None:
    p = Phase
    assert overall_phase([p.SUCCEEDED, p.SUCCEEDED]) is p.SUCCEEDED
    assert overall_phase([p.FAILED, p.RUNNING]) is p.FAILED
    assert overall_phase([p.LOST, p.RUNNING]) is p.LOST
    assert overall_phase([p.RUNNING, p.PENDING]) is p.RUNNING
    assert overall_phase([p.STOPPED, p.RUNNING]) is p.RUNNING
    assert overall_phase([p.STOPPED, p.SUCCEEDED]) is p.STOPPED

    failed = ObservedState.from_nodes("r", [node(0, p.SUCCEEDED, 0), node(1, p.FAILED, 3)])
    assert (failed.phase, failed.exit_code, failed.finished) == (p.FAILED, 3, True)
    partial = ObservedState.from_nodes("r", [node(0, p.FAILED, 1), node(1, p.RUNNING)])
    assert partial.phase is p.FAILED and not partial.finished


def test_handles_roundtrip() -> None:
    handle = RunHandle(backend="local", run_id="r1", node_count=3)
    assert RunHandle.from_dict(handle.to_dict()) == handle
