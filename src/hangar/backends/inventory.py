"""What a backend can run on: hosts, their CPUs and memory, and their GPUs.

Every GPU says where it came from. DISCOVERED devices were found on the hardware (NVML);
DECLARED devices were written into the operator's config for demos and CI. Declared devices
carry synthetic UUIDs starting with ``DECLARED-`` and no device node: a workload placed on one
sees the UUID in ``CUDA_VISIBLE_DEVICES`` but no real GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DECLARED_PREFIX = "DECLARED-"


class DeviceSource(StrEnum):
    DISCOVERED = "DISCOVERED"
    DECLARED = "DECLARED"


@dataclass(frozen=True, kw_only=True)
class GpuDevice:
    """One GPU. ``index`` is the NVML index (declared: position among declared devices);
    ``minor`` is the ``/dev/nvidia<minor>`` number (None for declared devices)."""

    uuid: str
    model: str
    memory_bytes: int
    index: int
    source: DeviceSource
    minor: int | None = None


@dataclass(frozen=True, kw_only=True)
class HostInventory:
    """One host. ``gpu_discovery`` says what GPU discovery found or why it found nothing."""

    name: str
    cpus: int
    memory_bytes: int
    gpus: tuple[GpuDevice, ...] = ()
    gpu_discovery: str = ""

    def gpu(self, uuid: str) -> GpuDevice | None:
        return next((g for g in self.gpus if g.uuid == uuid), None)

    @property
    def discovered_gpus(self) -> tuple[GpuDevice, ...]:
        return tuple(g for g in self.gpus if g.source is DeviceSource.DISCOVERED)

    @property
    def declared_gpus(self) -> tuple[GpuDevice, ...]:
        return tuple(g for g in self.gpus if g.source is DeviceSource.DECLARED)


@dataclass(frozen=True, kw_only=True)
class Inventory:
    hosts: tuple[HostInventory, ...]

    def host(self, name: str) -> HostInventory | None:
        return next((h for h in self.hosts if h.name == name), None)
