"""Inventory: this host's CPUs, memory and GPUs (NVML), plus declared devices kept apart."""

from __future__ import annotations

import os
from pathlib import Path

from hangar.backends import DeviceSource
from tests.backends.support import make_backend


def test_discovers_this_host(tmp_path: Path) -> None:
    (host,) = make_backend(tmp_path, sandbox="off").inventory().hosts
    assert host.cpus == len(os.sched_getaffinity(0))
    assert host.memory_bytes > 256 * 1024 * 1024
    assert host.gpu_discovery  # says what NVML found, or why it found nothing
    for gpu in host.discovered_gpus:
        assert gpu.uuid.startswith(("GPU-", "MIG-")) and gpu.memory_bytes > 0 and gpu.model
    if not host.discovered_gpus:
        assert "no NVIDIA GPUs discovered" in host.gpu_discovery


def test_declared_gpus_are_labelled_and_stable(tmp_path: Path) -> None:
    declared = [
        {"model": "A100-80G", "memory_gib": 80, "count": 2},
        {"model": "L40S", "memory_gib": 48, "count": 1},
    ]
    first = make_backend(tmp_path, sandbox="off", declared_gpus=declared).inventory().hosts[0]
    again = make_backend(tmp_path, sandbox="off", declared_gpus=declared[::-1]).inventory().hosts[0]

    assert [g.model for g in first.declared_gpus] == ["A100-80G", "A100-80G", "L40S"]
    assert all(g.source is DeviceSource.DECLARED for g in first.declared_gpus)
    assert all(g.uuid.startswith("DECLARED-") and g.minor is None for g in first.declared_gpus)
    assert first.declared_gpus[0].memory_bytes == 80 * 1024**3
    assert len({g.uuid for g in first.gpus}) == len(first.gpus)
    assert {g.uuid for g in first.declared_gpus} == {g.uuid for g in again.declared_gpus}
    assert not set(first.discovered_gpus) & set(first.declared_gpus)
    assert "declared" in first.gpu_discovery


def test_gpu_discovery_can_be_turned_off(tmp_path: Path) -> None:
    (host,) = make_backend(tmp_path, sandbox="off", discover_gpus=False).inventory().hosts
    assert host.gpus == () and "off" in host.gpu_discovery
