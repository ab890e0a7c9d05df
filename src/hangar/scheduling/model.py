"""The scheduler's inputs: one immutable snapshot of quotas, queues, usage and pending work.

The integrator maps database rows to these types once per cycle; nothing here reads a clock,
a file or a database. Times are inputs (``submitted_at``). Quota and queue ids must be unique
across both kinds: a pending or running workload names its pool by that id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hangar.scheduling.resources import MILLI, ZERO, Resources


class WorkloadType(StrEnum):
    """Decision B1: the workload types a quota or queue may accept."""

    IDE = "ide"
    TRAINING = "training"
    FINETUNE = "finetune"
    EVALUATION = "evaluation"
    COMPRESSION = "compression"
    SERVICE = "service"
    DATA_CLEANING = "data_cleaning"


ALL_TYPES = frozenset(WorkloadType)

# Admission policies of a pool (docs/scheduling.md, "Policies and placement strategies"):
# "fifo" is strict FIFO with head-of-line blocking (RQ10, the default); under "best_effort" a
# head that cannot start waits with its reason but does not hold back the work behind it.
FIFO = "fifo"
BEST_EFFORT = "best_effort"
POLICIES = (FIFO, BEST_EFFORT)


def _check_policy(kind: str, name: str, policy: str) -> None:
    if policy not in POLICIES:
        raise ValueError(
            f"{kind} '{name}' has policy {policy!r}; the policies are {', '.join(POLICIES)}"
        )


@dataclass(frozen=True, slots=True)
class Quota:
    """A resource quota (spec 02 §5): a logical share of a dedicated cluster.

    ``total`` is spec × instance count (RQ5: only a total). ``exclusive`` quotas never lend
    (RQ9); ``borrowing`` lets this quota's workloads borrow idle capacity of other quotas
    (RQ7). A stopped quota lends nothing and admits nothing (B10). ``workspace_ids`` are the
    associated workspaces (RQ1, RQ17); ``None`` skips that check. ``policy`` is one of
    ``POLICIES``: ``"fifo"`` (RQ10) or ``"best_effort"``.
    """

    id: str
    name: str
    cluster_id: str
    total: Resources
    workload_types: frozenset[WorkloadType] = ALL_TYPES
    weight: int = 1
    borrowing: bool = False
    exclusive: bool = True
    started: bool = True
    workspace_ids: frozenset[str] | None = None
    policy: str = FIFO

    def __post_init__(self) -> None:
        _check_policy("quota", self.name, self.policy)


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue (spec 02 §4): a hard partition that never borrows and never lends (Q2).

    ``total`` ``None`` is the built-in default queue: bounded only by its cluster (Q3).
    Only the default workspace may use queues (Q3): ``default_workspace_id`` names it, and
    ``None`` skips the check. ``policy`` as for :class:`Quota`.
    """

    id: str
    name: str
    cluster_id: str
    total: Resources | None
    workload_types: frozenset[WorkloadType] = ALL_TYPES
    started: bool = True
    default_workspace_id: str | None = None
    policy: str = FIFO

    def __post_init__(self) -> None:
        _check_policy("queue", self.name, self.policy)


@dataclass(frozen=True, slots=True)
class VgpuDemand:
    """Virtual GPUs per node: ``count`` slices of one ``model`` card each (spec 02 §9)."""

    model: str
    count: int
    vram_gib: int
    compute_percent: int | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """What a workload asks for: ``nodes`` ranks of ``per_node`` each (gang, all or nothing).

    With ``vgpu`` set, ``per_node`` carries the slices' CPU, memory and fractional cards
    (``gpu_milli``) and no whole GPUs. ``distinct_nodes`` forbids two ranks on one node;
    by default ranks may share a node when it has room for both (as Kubernetes pods may).
    """

    per_node: Resources
    nodes: int = 1
    vgpu: VgpuDemand | None = None
    distinct_nodes: bool = False
    total: Resources = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ValueError(f"a request needs at least 1 node, got {self.nodes}")
        if self.vgpu is None and self.per_node.gpu_milli:
            raise ValueError("a fraction of a GPU needs a vGPU demand (VgpuDemand)")
        if self.vgpu is not None and self.vgpu.count < 1:
            raise ValueError("a vGPU request needs at least 1 slice")
        object.__setattr__(
            self, "total", self.per_node if self.nodes == 1 else self.per_node.times(self.nodes)
        )

    def describe(self) -> str:
        one = self.per_node.describe()
        if self.vgpu is not None:
            v = self.vgpu
            one = f"{v.count} × {v.vram_gib} GiB {v.model} vGPU, {one}"
        return one if self.nodes == 1 else f"{self.nodes} nodes × ({one})"


@dataclass(frozen=True, slots=True)
class PendingWorkload:
    """A queued workload. ``priority`` is the admin override (B6): higher goes first, equal
    priorities keep submission order."""

    id: str
    pool_id: str
    workload_type: WorkloadType
    user_id: str
    request: Request
    submitted_at: datetime
    priority: int = 0
    workspace_id: str | None = None
    cap_group: str | None = None  # the key of its ParallelismCap in the snapshot (a tenant)


@dataclass(frozen=True, slots=True)
class Loan:
    """Capacity borrowed from ``lender_id`` (a quota) by one workload (RQ7)."""

    lender_id: str
    amount: Resources


@dataclass(frozen=True, slots=True)
class RunningWorkload:
    """A live (admitted, not finished) workload: what it draws from its own pool and what it
    borrowed from which lender. When it ends, the next snapshot omits it and its loans return
    to the lenders (RQ7, B5: no preemption)."""

    id: str
    pool_id: str
    user_id: str
    own: Resources
    loans: tuple[Loan, ...] = ()
    cap_group: str | None = None

    @property
    def held(self) -> Resources:
        """Everything it holds: its own share and its loans."""
        total = self.own
        for loan in self.loans:
            total = total + loan.amount
        return total


@dataclass(frozen=True, slots=True)
class ParallelismCap:
    """A prepaid plan's GPU parallelism cap (spec 10 §2.3): Σ cards × the card model's weight
    over a tenant's live workloads stays within ``cap``. ``weights`` is keyed by lower-case
    model name; a model missing from it weighs 1; fractions of cards (vGPU slices) round up
    to whole cards."""

    plan: str
    cap: int
    weights: Mapping[str, int] = field(default_factory=dict)

    def units(self, resources: Resources) -> int:
        cards = -(-resources.gpu_total_milli // MILLI)
        return cards * self.weights.get((resources.gpu_model or "").lower(), 1) if cards else 0


@dataclass(frozen=True, slots=True)
class UserLimits:
    """Spec 02 §7: simultaneous GPU cards and CPU cores per user (default 10000 each)."""

    max_gpus: int = 10000
    max_cpu_cores: int = 10000


@dataclass(frozen=True, slots=True)
class UserState:
    """A user's effective limits and what all their live workloads hold, on every cluster
    (dev environments included), as spec 02 §7 requires."""

    limits: UserLimits = UserLimits()
    used: Resources = ZERO


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything admission needs, as of one instant."""

    quotas: tuple[Quota, ...] = ()
    queues: tuple[Queue, ...] = ()
    running: tuple[RunningWorkload, ...] = ()
    pending: tuple[PendingWorkload, ...] = ()
    users: Mapping[str, UserState] = field(default_factory=dict)
    default_limits: UserLimits = UserLimits()
    caps: Mapping[str, ParallelismCap] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [q.id for q in self.quotas] + [q.id for q in self.queues]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"pool ids {twice} appear twice; quota and queue ids must differ")
        if len({w.id for w in self.pending}) != len(self.pending):
            raise ValueError("a pending workload appears twice in the snapshot")
