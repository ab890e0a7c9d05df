"""Unit buckets and the deduction order (spec 10 §5.4, B-E14).

A bucket is one lot of compute units with its own validity window:
``{source, tier, amount, active, valid_from, valid_to, carried_once}``. Buckets never go
negative: :func:`deduct` takes what the usable buckets hold and reports the rest as a
shortfall (arrears), which the caller must record.

Deduction order (B-E14): carry-over → extension packs → lower-tier plan → higher-tier plan.
Trial-grant tranches (a separate unit, CU, in practice) come first of all: free quota is spent
before anything paid (source [B]: "free quota first, then pay-as-you-go").
Within carry-over, the soonest to expire goes first; within extension packs, the oldest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from hangar.billing.errors import invalid
from hangar.billing.money import (
    Amount,
    Unit,
    min_amount,
    require_compute_unit,
    require_non_negative,
    total,
)
from hangar.billing.times import require_aware


class BucketSource(StrEnum):
    PLAN = "plan"
    CARRY_OVER = "carry_over"
    EXTENSION = "extension"
    TRIAL_GRANT = "trial_grant"


_RANK = {
    BucketSource.TRIAL_GRANT: 0,
    BucketSource.CARRY_OVER: 1,
    BucketSource.EXTENSION: 2,
    BucketSource.PLAN: 3,
}


@dataclass(frozen=True, slots=True)
class Bucket:
    """One lot of compute units. ``valid_to`` is exclusive; ``None`` only for extension packs,
    whose life follows the plan periods and carry-overs (decision J3)."""

    id: int
    source: BucketSource
    origin: str
    tier: int | None
    amount: Amount
    granted: Amount
    active: bool
    valid_from: datetime
    valid_to: datetime | None
    carried_once: bool = False

    def __post_init__(self) -> None:
        where = f"bucket[{self.id}]"
        require_compute_unit(self.amount, field=f"{where}.amount")
        require_non_negative(self.amount, field=f"{where}.amount")
        if self.amount > self.granted:
            raise invalid(
                f"{where}.amount", f"{self.amount} exceeds the {self.granted} granted to it"
            )
        require_aware(self.valid_from, field=f"{where}.valid_from")
        if self.valid_to is None:
            if self.source is not BucketSource.EXTENSION:
                raise invalid(f"{where}.valid_to", f"a {self.source} bucket needs an end")
        else:
            require_aware(self.valid_to, field=f"{where}.valid_to")
            if self.valid_to <= self.valid_from:
                raise invalid(f"{where}.valid_to", "must be after valid_from")

    @property
    def unit(self) -> Unit:
        return self.amount.unit

    def within(self, at: datetime) -> bool:
        """Whether ``at`` lies in ``[valid_from, valid_to)``."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def usable_at(self, at: datetime) -> bool:
        return self.active and self.within(at) and self.amount.is_positive


def deduction_key(bucket: Bucket) -> tuple[int, int, float, float, int]:
    """Sort key implementing B-E14 (see the module docstring)."""
    expires = bucket.valid_to.timestamp() if bucket.valid_to else float("inf")
    start = bucket.valid_from.timestamp()
    tier = bucket.tier if bucket.tier is not None else 0
    if bucket.source is BucketSource.PLAN:
        return (_RANK[bucket.source], tier, expires, start, bucket.id)
    if bucket.source is BucketSource.EXTENSION:
        return (_RANK[bucket.source], 0, start, start, bucket.id)
    return (_RANK[bucket.source], 0, expires, tier, bucket.id)


@dataclass(frozen=True, slots=True)
class Take:
    """Part of a deduction, taken from one bucket."""

    bucket_id: int
    source: BucketSource
    origin: str
    amount: Amount


@dataclass(frozen=True, slots=True)
class Deduction:
    """The outcome of a deduction: what each bucket gave and what nothing could cover."""

    requested: Amount
    takes: tuple[Take, ...]
    shortfall: Amount

    @property
    def covered(self) -> Amount:
        return total((take.amount for take in self.takes), unit=self.requested.unit)


def deduct(
    buckets: Sequence[Bucket],
    amount: Amount,
    *,
    at: datetime,
    sources: Iterable[BucketSource] = tuple(BucketSource),
) -> tuple[tuple[Bucket, ...], Deduction]:
    """Take ``amount`` from the buckets usable at ``at``, in the B-E14 order.

    Returns the updated buckets (same order as given) and the :class:`Deduction`. Never
    takes more than a bucket holds: what remains uncovered is ``Deduction.shortfall``.
    """
    require_compute_unit(amount, field="amount")
    require_non_negative(amount, field="amount")
    require_aware(at, field="at")
    allowed = frozenset(sources)
    remaining = amount
    updated = {bucket.id: bucket for bucket in buckets}
    takes: list[Take] = []
    candidates = sorted(
        (b for b in buckets if b.source in allowed and b.unit is amount.unit and b.usable_at(at)),
        key=deduction_key,
    )
    for bucket in candidates:
        if not remaining.is_positive:
            break
        taken = min_amount(remaining, bucket.amount)
        updated[bucket.id] = replace(bucket, amount=bucket.amount - taken)
        takes.append(Take(bucket.id, bucket.source, bucket.origin, taken))
        remaining = remaining - taken
    return tuple(updated[b.id] for b in buckets), Deduction(amount, tuple(takes), remaining)
