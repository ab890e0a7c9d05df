"""Named lifecycle rules for unit buckets, and the transition records they leave.

Every change the wallet state machine (:mod:`hangar.billing.subscriptions`) makes to a bucket
is recorded as a :class:`Transition` naming its :class:`Rule`: the states it moves between,
the spec rule behind it and the reason. Together they explain every number in a balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hangar.billing.buckets import Bucket
from hangar.billing.money import Amount


class BucketState(StrEnum):
    NONE = "none"  # does not exist yet (before a credit) or any more
    SCHEDULED = "scheduled"  # not yet released (later trial tranches)
    ACTIVE = "active"
    INACTIVE = "inactive"  # alive but unusable (waiting carry-over, held extension pack)
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Rule:
    """A named lifecycle transition: from which states, to which, by which spec rule, why."""

    name: str
    from_states: tuple[BucketState, ...]
    to_state: BucketState
    spec: str
    reason: str


_N, _S, _A, _I, _E = (
    BucketState.NONE,
    BucketState.SCHEDULED,
    BucketState.ACTIVE,
    BucketState.INACTIVE,
    BucketState.EXPIRED,
)

CREDIT_PLAN = Rule("credit_plan", (_N,), _A, "B-E8", "a plan period starts: 30 days of compute")
UPGRADE_PLAN = Rule(
    "upgrade_plan", (_N,), _A, "B-E12", "an upgrade takes effect on payment: a new 30-day period"
)
START_QUEUED_PLAN = Rule(
    "start_queued_plan", (_N,), _A, "B-E13", "a renewal or downgrade starts as the period ends"
)
REFRESH_ON_UPGRADE = Rule(
    "refresh_on_upgrade",
    (_A,),
    _A,
    "B-E12",
    "the old plan's compute is refreshed to end with the upgraded period",
)
CARRY_OVER = Rule(
    "carry_over", (_A,), _I, "B-E9", "the period ended; what is left carries over once, inactive"
)
ACTIVATE_CARRY_OVER = Rule(
    "activate_carry_over",
    (_I,),
    _A,
    "B-E10",
    "a subscription during the carry-over activates it until the new period ends",
)
FORFEIT_CARRY_OVER = Rule(
    "forfeit_carry_over", (_I,), _E, "B-E10", "the carry-over ended without a re-subscription"
)
EXPIRE_ACTIVATED_CARRY_OVER = Rule(
    "expire_activated_carry_over",
    (_A,),
    _E,
    "B-E10",
    "activated carry-over expires with its period and is never carried again",
)
CLOSE_EMPTY = Rule("close_empty", (_A, _I), _E, "B-E9", "the bucket ended with nothing left")
CREDIT_EXTENSION = Rule(
    "credit_extension", (_N,), _A, "J3", "an extension pack is usable while a plan period is alive"
)
HOLD_EXTENSION = Rule(
    "hold_extension",
    (_N, _A),
    _I,
    "J3",
    "no plan period is alive, only carry-over: the pack is kept, unusable",
)
RESUME_EXTENSION = Rule("resume_extension", (_I,), _A, "J3", "a plan period is alive again")
EXPIRE_EXTENSION = Rule(
    "expire_extension", (_A, _I), _E, "J3", "no plan period and no carry-over is alive"
)
SCHEDULE_TRIAL_TRANCHE = Rule(
    "schedule_trial_tranche", (_N,), _S, "B-T2", "a later monthly tranche of a trial grant"
)
RELEASE_TRIAL_TRANCHE = Rule(
    "release_trial_tranche", (_N, _S), _A, "B-T2", "a monthly trial tranche is released"
)
EXPIRE_TRIAL_TRANCHE = Rule(
    "expire_trial_tranche", (_A,), _E, "B-T2", "a trial tranche is usable in its month only"
)
REPAY_ARREARS = Rule(
    "repay_arrears", (_A,), _A, "B-E6", "arrears are repaid from the first paid compute usable"
)
VOUCHER_REPAYS_ARREARS = Rule(
    "voucher_repays_arrears", (_N,), _N, "B-E6", "a compensation voucher pays arrears first"
)
ARREARS_PAID = Rule("arrears_paid", (_N,), _N, "B-E6", "arrears were paid outside the wallet")


@dataclass(frozen=True, slots=True)
class Transition:
    """One change, for the audit trail: which rule moved how much of which bucket, when.
    ``bucket_id`` is ``None`` for changes to the wallet's arrears."""

    at: datetime
    rule: Rule
    bucket_id: int | None
    amount: Amount
    from_state: BucketState
    to_state: BucketState


def bucket_state(bucket: Bucket, *, at: datetime) -> BucketState:
    """The state ``bucket`` is in at ``at``, judged from its own fields."""
    if bucket.valid_to is not None and at >= bucket.valid_to:
        return BucketState.EXPIRED
    if bucket.valid_from > at:
        return BucketState.SCHEDULED
    return BucketState.ACTIVE if bucket.active else BucketState.INACTIVE
