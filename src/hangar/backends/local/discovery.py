"""What this host has: usable CPUs, memory, NVIDIA GPUs (NVML) and operator-declared GPUs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pynvml

from hangar.backends.inventory import DECLARED_PREFIX, DeviceSource, GpuDevice, HostInventory
from hangar.backends.local.config import DeclaredGpu

GIB = 1024**3
#: Fixed namespace: a declared device keeps its UUID across restarts and config reorders.
DECLARED_NAMESPACE = uuid.UUID("6f1c3a52-0b7e-4d55-9a43-6b1f2f7a9e10")


def discover_host(
    *, node_name: str, discover_gpus: bool, declared: Sequence[DeclaredGpu]
) -> HostInventory:
    """Inventory of this host. Discovered GPUs first (NVML order), then declared ones."""
    if discover_gpus:
        found, note = nvml_gpus()
    else:
        found, note = [], "GPU discovery is off (discover_gpus=false)"
    extra = declared_gpus(node_name, declared, first_index=len(found))
    if extra:
        note += f"; {len(extra)} declared GPU(s) from config (not real hardware)"
    return HostInventory(
        name=node_name,
        cpus=len(os.sched_getaffinity(0)),
        memory_bytes=memory_bytes(),
        gpus=(*found, *extra),
        gpu_discovery=note,
    )


def memory_bytes() -> int:
    """MemTotal from /proc/meminfo."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def nvml_gpus() -> tuple[list[GpuDevice], str]:
    """NVIDIA GPUs via NVML. No library or no driver means no GPUs, with the reason."""
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], f"no NVIDIA GPUs discovered: NVML unavailable ({exc})"
    try:
        gpus = [_nvml_device(i) for i in range(int(pynvml.nvmlDeviceGetCount()))]
    except pynvml.NVMLError as exc:
        return [], f"no NVIDIA GPUs discovered: NVML failed ({exc})"
    finally:
        pynvml.nvmlShutdown()
    return gpus, f"NVML found {len(gpus)} NVIDIA GPU(s)"


def _nvml_device(index: int) -> GpuDevice:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    try:
        minor: int | None = int(pynvml.nvmlDeviceGetMinorNumber(handle))
    except pynvml.NVMLError:
        minor = None
    return GpuDevice(
        uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
        model=_text(pynvml.nvmlDeviceGetName(handle)),
        memory_bytes=int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
        index=index,
        source=DeviceSource.DISCOVERED,
        minor=minor,
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def declared_gpus(
    node_name: str, declared: Sequence[DeclaredGpu], *, first_index: int
) -> list[GpuDevice]:
    """Declared GPUs with synthetic UUIDs ``DECLARED-<uuid5>``, stable per (host, model,
    memory, n-th card of that kind)."""
    seen: dict[tuple[str, float], int] = {}
    devices: list[GpuDevice] = []
    for entry in declared:
        for _ in range(entry.count):
            key = (entry.model, entry.memory_gib)
            ordinal = seen.get(key, 0)
            seen[key] = ordinal + 1
            name = f"{node_name}/{entry.model}/{entry.memory_gib:g}/{ordinal}"
            devices.append(
                GpuDevice(
                    uuid=DECLARED_PREFIX + str(uuid.uuid5(DECLARED_NAMESPACE, name)),
                    model=entry.model,
                    memory_bytes=int(entry.memory_gib * GIB),
                    index=first_index + len(devices),
                    source=DeviceSource.DECLARED,
                )
            )
    return devices
