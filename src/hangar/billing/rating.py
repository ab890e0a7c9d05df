"""Rating usage into units or currency (spec 10 §5.1-§5.2, §5.7; decisions J4, I1).

A :class:`PriceBook` holds price versions per card model, each effective from a time. A
version runs until its ``effective_to`` or, if that is open, until the next version starts.
A price change applies from its effective time on, never retroactively: an interval spanning
a change is split, each part priced by the version in force.

Metering is per second (J4): interval boundaries are truncated to whole seconds, and a part
costs ``rate/h × cards × fraction × seconds / 3600``, kept to 0.000001 of its unit (half up).
A vGPU slice is the fraction of a card given by its VRAM share (I1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from itertools import pairwise

from hangar.billing.catalog import Catalog
from hangar.billing.errors import invalid
from hangar.billing.money import (
    ARITHMETIC,
    SECONDS_PER_HOUR,
    Amount,
    format_decimal,
    quantize,
    ratio,
    require_non_negative,
    require_positive,
    total,
)
from hangar.billing.times import elapsed, require_aware, whole_second


def vgpu_fraction(*, slice_vram_gb: Decimal, card_vram_gb: Decimal) -> Decimal:
    """The share of a card a vGPU slice is billed as: its VRAM over the card's (I1)."""
    if card_vram_gb <= 0:
        raise invalid("card_vram_gb", f"must be greater than zero (got {card_vram_gb})")
    if not 0 < slice_vram_gb <= card_vram_gb:
        raise invalid(
            "slice_vram_gb",
            f"must be greater than 0 and at most the card's {format_decimal(card_vram_gb)} GB "
            f"(got {format_decimal(slice_vram_gb)} GB)",
        )
    return ratio(slice_vram_gb, card_vram_gb)


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """``rate_per_hour`` for one card of ``card_key`` from ``effective_from`` (inclusive) to
    ``effective_to`` (exclusive; ``None``: until the next version of the card starts)."""

    card_key: str
    rate_per_hour: Amount
    effective_from: datetime
    effective_to: datetime | None = None

    def __post_init__(self) -> None:
        where = f"price_versions[{self.card_key!r}]"
        require_non_negative(self.rate_per_hour, field=f"{where}.rate_per_hour")
        require_aware(self.effective_from, field=f"{where}.effective_from")
        if self.effective_to is not None:
            require_aware(self.effective_to, field=f"{where}.effective_to")
            if self.effective_to <= self.effective_from:
                raise invalid(f"{where}.effective_to", "must be after effective_from")


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Price versions of every card, validated: per card one unit, no overlapping versions."""

    versions: tuple[PriceVersion, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.versions, key=lambda v: (v.card_key, v.effective_from)))
        for before, after in pairwise(ordered):
            if before.card_key != after.card_key:
                continue
            where = f"price_versions[{after.card_key!r}]"
            if before.rate_per_hour.unit is not after.rate_per_hour.unit:
                raise invalid(
                    f"{where}.rate_per_hour",
                    f"is in {after.rate_per_hour.unit} but an earlier version is in "
                    f"{before.rate_per_hour.unit}; one card is priced in one unit",
                )
            if before.effective_to is None and before.effective_from == after.effective_from:
                raise invalid(
                    f"{where}.effective_from",
                    f"two versions start at {after.effective_from.isoformat()}; "
                    "price versions of a card must not overlap",
                )
            if before.effective_to is not None and before.effective_to > after.effective_from:
                raise invalid(
                    f"{where}.effective_from",
                    f"the version from {after.effective_from.isoformat()} overlaps the one "
                    f"from {before.effective_from.isoformat()} to "
                    f"{before.effective_to.isoformat()}; price versions must not overlap",
                )
        object.__setattr__(self, "versions", ordered)

    @classmethod
    def from_catalog(cls, catalog: Catalog, *, effective_from: datetime) -> PriceBook:
        """One open-ended version per card of ``catalog``."""
        return cls(
            tuple(PriceVersion(c.key, c.rate_per_hour, effective_from) for c in catalog.cards)
        )

    def with_version(self, version: PriceVersion, *, now: datetime) -> PriceBook:
        """Add a price change. Refused if it would take effect before ``now``: prices are
        never changed retroactively."""
        require_aware(now, field="now")
        if version.effective_from < now:
            raise invalid(
                "effective_from",
                f"{version.effective_from.isoformat()} is before now ({now.isoformat()}); "
                "a price change applies from its effective time, never retroactively",
            )
        return PriceBook((*self.versions, version))

    def spans(self, card_key: str) -> tuple[tuple[datetime, datetime | None, PriceVersion], ...]:
        """``(from, to, version)`` for ``card_key``, open ends resolved to the next version."""
        mine = [v for v in self.versions if v.card_key == card_key]
        if not mine:
            known = ", ".join(sorted({v.card_key for v in self.versions})) or "none"
            raise invalid("card", f"no price for card model {card_key!r}; priced: {known}")
        result: list[tuple[datetime, datetime | None, PriceVersion]] = []
        for index, version in enumerate(mine):
            nxt = mine[index + 1].effective_from if index + 1 < len(mine) else None
            end = version.effective_to if version.effective_to is not None else nxt
            result.append((version.effective_from, end, version))
        return tuple(result)

    def rate_at(self, card_key: str, at: datetime) -> Amount:
        for start, end, version in self.spans(card_key):
            if start <= at and (end is None or at < end):
                return version.rate_per_hour
        raise invalid("at", f"no price for card model {card_key!r} at {at.isoformat()}")


@dataclass(frozen=True, slots=True)
class Usage:
    """``count`` cards (each ``fraction`` of a card) of ``card_key`` used over [start, end)."""

    card_key: str
    count: int
    start: datetime
    end: datetime
    fraction: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise invalid("count", f"must be a whole number of cards ≥ 1 (got {self.count!r})")
        if not isinstance(self.fraction, Decimal) or not 0 < self.fraction <= 1:
            raise invalid(
                "fraction", f"must be a Decimal greater than 0 and at most 1 (got {self.fraction})"
            )
        require_aware(self.start, field="start")
        require_aware(self.end, field="end")
        if self.end < self.start:
            raise invalid("end", f"{self.end.isoformat()} is before start {self.start.isoformat()}")


@dataclass(frozen=True, slots=True)
class RatedPart:
    """The part of a usage interval priced by one version."""

    start: datetime
    end: datetime
    seconds: int
    rate_per_hour: Amount
    amount: Amount


@dataclass(frozen=True, slots=True)
class Rating:
    usage: Usage
    parts: tuple[RatedPart, ...]
    total: Amount

    @property
    def seconds(self) -> int:
        return sum(part.seconds for part in self.parts)


def rate_usage(book: PriceBook, usage: Usage) -> Rating:
    """Price ``usage`` second by second, split at every price change inside it."""
    start, end = whole_second(usage.start), whole_second(usage.end)
    cards = ARITHMETIC.multiply(usage.fraction, Decimal(usage.count))
    parts: list[RatedPart] = []
    cursor = start
    for raw_start, raw_end, version in book.spans(usage.card_key):
        span_start = whole_second(raw_start)
        span_end = None if raw_end is None else whole_second(raw_end)
        if cursor >= end:
            break
        if span_end is not None and span_end <= cursor:
            continue
        if span_start > cursor:
            raise invalid(
                "start",
                f"no price for card model {usage.card_key!r} from {cursor.isoformat()} "
                f"(the next version starts {span_start.isoformat()})",
            )
        part_end = end if span_end is None else min(end, span_end)
        seconds = int(elapsed(cursor, part_end) / timedelta(seconds=1))
        rate = version.rate_per_hour
        exact = ratio((rate * cards * seconds).value, SECONDS_PER_HOUR)
        amount = Amount(quantize(exact, rate.unit.quantum), rate.unit)
        parts.append(RatedPart(cursor, part_end, seconds, rate, amount))
        cursor = part_end
    if cursor < end:
        raise invalid(
            "end", f"no price for card model {usage.card_key!r} after {cursor.isoformat()}"
        )
    if not parts:
        unit = book.rate_at(usage.card_key, start).unit
        return Rating(usage, (), Amount.zero(unit))
    return Rating(usage, tuple(parts), total((p.amount for p in parts), unit=parts[0].amount.unit))


def hour_windows(start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """Split ``[start, end)`` at whole UTC hours (the local whole hours of any zone with a
    whole-hour offset), for hourly settlement (B-M2: a bill every hour)."""
    require_aware(start, field="start")
    require_aware(end, field="end")
    if end < start:
        raise invalid("end", f"{end.isoformat()} is before start {start.isoformat()}")
    windows: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        utc = cursor.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        boundary = (utc + timedelta(hours=1)).astimezone(start.tzinfo)
        windows.append((cursor, min(boundary, end)))
        cursor = min(boundary, end)
    return tuple(windows)


def hours_covered(*, balance: Amount, rate_per_hour: Amount) -> Decimal:
    """How many hours ``balance`` buys at ``rate_per_hour``, rounded *down* to 0.1 h (never
    promise more than the balance buys): 20 DCU at 1.28 DCU/h → 15.6 h; 250 CU at 7 → 35.7 h."""
    require_non_negative(balance, field="balance")
    require_positive(rate_per_hour, field="rate_per_hour")
    return quantize(balance.divided_by(rate_per_hour), Decimal("0.1"), ROUND_DOWN)


def rate_all(book: PriceBook, usages: Iterable[Usage]) -> tuple[Rating, ...]:
    return tuple(rate_usage(book, usage) for usage in usages)
