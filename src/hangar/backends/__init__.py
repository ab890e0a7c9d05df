"""Backends run workloads: the contract (``base``) and its types; ``local`` is the default.

Import the local backend from ``hangar.backends.local.backend``; this package stays light
because the per-node supervisor program is started from it.
"""

from hangar.backends.base import Backend
from hangar.backends.errors import BackendError, LaunchRejected, RunConflict, RunNotFound
from hangar.backends.inventory import DeviceSource, GpuDevice, HostInventory, Inventory
from hangar.backends.spec import (
    DeviceGrant,
    Mount,
    MountKind,
    NodePlacement,
    NodeResources,
    RunSpec,
    VGpuSlice,
    check_placements,
)
from hangar.backends.state import (
    AppliedLimits,
    LimitMechanism,
    LogChunk,
    NodeState,
    ObservedState,
    Phase,
    RunHandle,
)

__all__ = [
    "AppliedLimits",
    "Backend",
    "BackendError",
    "DeviceGrant",
    "DeviceSource",
    "GpuDevice",
    "HostInventory",
    "Inventory",
    "LaunchRejected",
    "LimitMechanism",
    "LogChunk",
    "Mount",
    "MountKind",
    "NodePlacement",
    "NodeResources",
    "NodeState",
    "ObservedState",
    "Phase",
    "RunConflict",
    "RunHandle",
    "RunNotFound",
    "RunSpec",
    "VGpuSlice",
    "check_placements",
]
