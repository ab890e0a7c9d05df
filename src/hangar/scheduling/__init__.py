"""The scheduler core: admission and placement as pure, deterministic functions.

No I/O, no database, no clock: the integrator maps rows to the input types of ``model`` and
``placement`` once per cycle, calls ``schedule`` (or ``admit``), and applies the decisions.
See docs/scheduling.md for the rules and the reason strings.
"""

from hangar.scheduling.admission import admit, schedule
from hangar.scheduling.decisions import Code, Decision, Verdict
from hangar.scheduling.model import (
    POLICIES,
    Loan,
    ParallelismCap,
    PendingWorkload,
    Queue,
    Quota,
    Request,
    RunningWorkload,
    Snapshot,
    UserLimits,
    UserState,
    VgpuDemand,
    WorkloadType,
)
from hangar.scheduling.placement import (
    PLACEMENTS,
    Device,
    Inventory,
    Node,
    Placement,
    PlacementIndex,
    RankPlacement,
    SliceGrant,
    Unplaceable,
    place,
)
from hangar.scheduling.resources import GIB, ZERO, Resources
from hangar.scheduling.specs import Spec, VgpuSlice, parse_spec
from hangar.scheduling.usage import PoolUsage, max_borrowable, pool_usage
from hangar.scheduling.vgpu import CardShare, recommended, recommended_slice, validate_slice

__all__ = [
    "GIB",
    "PLACEMENTS",
    "POLICIES",
    "ZERO",
    "CardShare",
    "Code",
    "Decision",
    "Device",
    "Inventory",
    "Loan",
    "Node",
    "ParallelismCap",
    "PendingWorkload",
    "Placement",
    "PlacementIndex",
    "PoolUsage",
    "Queue",
    "Quota",
    "RankPlacement",
    "Request",
    "Resources",
    "RunningWorkload",
    "SliceGrant",
    "Snapshot",
    "Spec",
    "Unplaceable",
    "UserLimits",
    "UserState",
    "Verdict",
    "VgpuDemand",
    "VgpuSlice",
    "WorkloadType",
    "admit",
    "max_borrowable",
    "parse_spec",
    "place",
    "pool_usage",
    "recommended",
    "recommended_slice",
    "schedule",
    "validate_slice",
]
