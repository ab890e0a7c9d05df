"""What admission decides for each pending workload, with a reason a person can read.

Every decision carries a stable ``code`` (for filters and tests), the spec ``rule`` it applies
and a ``message`` shown as-is in the API, the CLI and the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hangar.scheduling.model import Loan
from hangar.scheduling.placement import Placement
from hangar.scheduling.resources import ZERO, Resources


class Verdict(StrEnum):
    ADMIT = "admit"
    WAIT = "wait"
    REJECT = "reject"


class Code(StrEnum):
    """Why: one code per rule outcome."""

    ADMITTED = "admitted"  # fits in the pool's own remaining capacity (RQ10)
    ADMITTED_BORROWING = "admitted_borrowing"  # fits with idle capacity of other quotas (RQ7)
    POOL_FULL = "pool_full"  # head of the queue; the pool has too little left (RQ10)
    BORROW_SHORT = "borrow_short"  # head; even borrowing finds too little (RQ7, B4)
    BEHIND_HEAD = "behind_head"  # strict head-of-line blocking (RQ10)
    USER_LIMIT = "user_limit"  # per-user GPU / CPU limit (spec 02 §7)
    BEHIND_USER = "behind_user"  # an earlier workload of the same user is held by its limit
    POOL_STOPPED = "pool_stopped"  # the quota or queue is stopped (RQ15, Q10, B10)
    NO_NODE = "no_node"  # quota room, but no node has room now (placement)
    UNKNOWN_POOL = "unknown_pool"
    TYPE_NOT_ALLOWED = "type_not_allowed"  # RQ17, Q5
    WORKSPACE_NOT_ALLOWED = "workspace_not_allowed"  # RQ1, RQ17, Q3
    MODEL_MISMATCH = "model_mismatch"  # the pool holds another card model (RQ4)
    NEVER_FITS = "never_fits"  # larger than any node, or a gang the cluster cannot hold
    PLAN_PARALLELISM = "plan_parallelism"  # the tenant's plan caps Σ cards × weight (10 §2.3)


@dataclass(frozen=True, slots=True)
class Decision:
    """One workload's outcome in one cycle.

    For ``ADMIT``: ``own`` is charged to the workload's pool, ``loans`` to the lenders in the
    order they were borrowed from, and ``placement`` (when nodes were given) says where.
    """

    workload_id: str
    verdict: Verdict
    code: Code
    rule: str
    message: str
    pool_id: str | None = None
    own: Resources = ZERO
    loans: tuple[Loan, ...] = ()
    placement: Placement | None = None

    @property
    def borrowed(self) -> Resources:
        total = ZERO
        for loan in self.loans:
            total = total + loan.amount
        return total
