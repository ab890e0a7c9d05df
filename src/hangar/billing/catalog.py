"""The sellable catalog: plans, extension packs, card prices and trial-grant terms.

This is data an administrator may replace: build another :class:`Catalog` from the same
dataclasses. The constructor checks the whole table (unique keys, tiers in ascending order,
units, signs) and names the offending entry, e.g. ``plans['basic'].parallelism``.
:data:`DEFAULT_CATALOG` holds the published figures of spec 10 §2.2, §2.3, §2.4 and §3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Protocol, TypeVar

from hangar.billing.errors import invalid
from hangar.billing.money import (
    Amount,
    Unit,
    quantize,
    require_compute_unit,
    require_currency,
    require_non_negative,
    require_positive,
    require_unit,
)


class PriceList(StrEnum):
    """Which published price applies to the buyer (spec 10 §2.2: non-education / education)."""

    STANDARD = "standard"
    EDUCATION = "education"


def _check_key(key: str, *, field: str) -> None:
    if not key or key != key.strip() or any(c.isspace() for c in key):
        raise invalid(field, f"must be a non-empty key without spaces (got {key!r})")


def _check_prices(price: Amount | None, price_education: Amount | None, *, where: str) -> None:
    for name, value in (("price", price), ("price_education", price_education)):
        if value is not None:
            require_currency(value, field=f"{where}.{name}")
            require_non_negative(value, field=f"{where}.{name}")


def _price_for(
    price: Amount | None, price_education: Amount | None, price_list: PriceList, *, what: str
) -> Amount:
    chosen = price if price_list is PriceList.STANDARD else price_education
    if chosen is None:
        raise invalid("price_list", f"{what} has no {price_list} price; it cannot be bought")
    return chosen


def unit_price(price: Amount, compute: Amount) -> Decimal:
    """Currency per compute unit, rounded to 0.01 (spec 10 §2.2 "derived effective prices")."""
    return quantize(price.divided_by(Amount(compute.value, price.unit)), Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class CardModel:
    """A GPU card model as sold: its hourly rate and its parallelism weight (spec 10 §2.3)."""

    key: str
    name: str
    label: str
    vram_gb: Decimal
    rate_per_hour: Amount
    parallelism_weight: int

    def __post_init__(self) -> None:
        where = f"cards[{self.key!r}]"
        _check_key(self.key, field=f"{where}.key")
        if self.vram_gb <= 0:
            raise invalid(f"{where}.vram_gb", f"must be greater than zero (got {self.vram_gb})")
        require_non_negative(self.rate_per_hour, field=f"{where}.rate_per_hour")
        if isinstance(self.parallelism_weight, bool) or self.parallelism_weight < 1:
            raise invalid(
                f"{where}.parallelism_weight",
                f"must be a whole number of at least 1 (got {self.parallelism_weight})",
            )


@dataclass(frozen=True, slots=True)
class Plan:
    """A subscription plan (spec 10 §2.2). The free plan has no compute and no price.

    ``tier`` orders plans by benefit: buying a higher tier is an upgrade (B-E12), the same or
    a lower tier is a renewal or downgrade queued to the period end (B-E13).
    """

    key: str
    name: str
    tier: int
    compute: Amount | None
    parallelism: int
    free_storage_gb: Decimal
    max_storage_gb: Decimal
    price: Amount | None = None
    price_education: Amount | None = None

    def __post_init__(self) -> None:
        where = f"plans[{self.key!r}]"
        _check_key(self.key, field=f"{where}.key")
        if self.compute is not None:
            require_compute_unit(self.compute, field=f"{where}.compute")
            require_positive(self.compute, field=f"{where}.compute")
        if isinstance(self.parallelism, bool) or self.parallelism < 0:
            raise invalid(
                f"{where}.parallelism", f"must be a whole number ≥ 0 (got {self.parallelism})"
            )
        if self.free_storage_gb < 0:
            raise invalid(
                f"{where}.free_storage_gb", f"must not be negative (got {self.free_storage_gb})"
            )
        if self.max_storage_gb < self.free_storage_gb:
            raise invalid(
                f"{where}.max_storage_gb",
                f"must be at least the free storage {self.free_storage_gb} GB "
                f"(got {self.max_storage_gb})",
            )
        _check_prices(self.price, self.price_education, where=where)
        if (self.compute is None) != (self.price is None):
            raise invalid(
                f"{where}.price",
                "a plan has both compute and a price (subscribable) or neither (a free plan)",
            )

    @property
    def subscribable(self) -> bool:
        return self.compute is not None and self.price is not None

    @property
    def storage_expandable(self) -> bool:
        return self.max_storage_gb > self.free_storage_gb

    def price_for(self, price_list: PriceList) -> Amount:
        return _price_for(self.price, self.price_education, price_list, what=f"plan '{self.name}'")

    def unit_price(self, price_list: PriceList) -> Decimal:
        """Currency per compute unit (e.g. Basic: 365 / 56.6 = 6.45 CNY/DCU)."""
        if self.compute is None:
            raise invalid("plan", f"plan '{self.name}' has no compute to price")
        return unit_price(self.price_for(price_list), self.compute)


@dataclass(frozen=True, slots=True)
class ExtensionPack:
    """Extra compute bought on top of a plan (spec 10 §2.2; validity per decision J3)."""

    key: str
    name: str
    compute: Amount
    price: Amount | None = None
    price_education: Amount | None = None

    def __post_init__(self) -> None:
        where = f"extension_packs[{self.key!r}]"
        _check_key(self.key, field=f"{where}.key")
        require_compute_unit(self.compute, field=f"{where}.compute")
        require_positive(self.compute, field=f"{where}.compute")
        _check_prices(self.price, self.price_education, where=where)

    def price_for(self, price_list: PriceList) -> Amount:
        return _price_for(
            self.price, self.price_education, price_list, what=f"extension pack '{self.name}'"
        )

    def unit_price(self, price_list: PriceList) -> Decimal:
        return unit_price(self.price_for(price_list), self.compute)


@dataclass(frozen=True, slots=True)
class TrialGrantTerms:
    """A free-trial grant released in equal tranches (B-T2: 250 CU a month for 3 months).

    Each tranche is usable only within its own ``tranche_days`` window; an unused tranche
    expires with its window (a trial grant is not a plan, so it never carries over).
    """

    key: str
    name: str
    tranche: Amount
    tranches: int
    tranche_days: int

    def __post_init__(self) -> None:
        where = f"trial_grants[{self.key!r}]"
        _check_key(self.key, field=f"{where}.key")
        require_compute_unit(self.tranche, field=f"{where}.tranche")
        require_positive(self.tranche, field=f"{where}.tranche")
        for name, value in (("tranches", self.tranches), ("tranche_days", self.tranche_days)):
            if isinstance(value, bool) or value < 1:
                raise invalid(f"{where}.{name}", f"must be a whole number ≥ 1 (got {value})")

    @property
    def total(self) -> Amount:
        return self.tranche * self.tranches


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


_K = TypeVar("_K", bound=_Keyed)


def _unique(items: Sequence[_K], *, kind: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise invalid(kind, f"key {item.key!r} appears twice; keys must be unique")
        seen.add(item.key)


def _lookup(items: Sequence[_K], key: str, *, kind: str, field: str) -> _K:
    for item in items:
        if item.key == key:
            return item
    known = ", ".join(item.key for item in items) or "none"
    raise invalid(field, f"unknown {kind} {key!r}; known: {known}")


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything sold, with the terms that govern it. Plans are listed lowest tier first."""

    plans: tuple[Plan, ...]
    extension_packs: tuple[ExtensionPack, ...]
    cards: tuple[CardModel, ...]
    trial_grants: tuple[TrialGrantTerms, ...] = ()
    free_plan_key: str = "free"
    plan_unit: Unit = Unit.DCU
    storage_rate_per_gb_day: Amount = field(default_factory=lambda: Amount.of("0.0015", Unit.DCU))
    arrears_cleanup_threshold: Amount = field(default_factory=lambda: Amount.of(10, Unit.DCU))
    plan_period_days: int = 30
    carry_over_days: int = 30

    def __post_init__(self) -> None:
        if not self.plans:
            raise invalid("plans", "must list at least the free plan")
        for kind, items in (
            ("plans", self.plans),
            ("extension_packs", self.extension_packs),
            ("cards", self.cards),
            ("trial_grants", self.trial_grants),
        ):
            _unique(items, kind=kind)
        for lower, higher in pairwise(self.plans):
            if higher.tier <= lower.tier:
                raise invalid(
                    "plans",
                    f"must be listed from lowest to highest tier with distinct tiers; "
                    f"{higher.key!r} (tier {higher.tier}) follows {lower.key!r} "
                    f"(tier {lower.tier})",
                )
        free = _lookup(self.plans, self.free_plan_key, kind="plan", field="free_plan_key")
        if free.subscribable:
            raise invalid("free_plan_key", f"plan {free.key!r} has a price; the free plan has none")
        for plan in self.plans:
            if plan.compute is not None:
                require_unit(plan.compute, self.plan_unit, field=f"plans[{plan.key!r}].compute")
        for pack in self.extension_packs:
            require_unit(
                pack.compute, self.plan_unit, field=f"extension_packs[{pack.key!r}].compute"
            )
        require_unit(self.storage_rate_per_gb_day, self.plan_unit, field="storage_rate_per_gb_day")
        require_non_negative(self.storage_rate_per_gb_day, field="storage_rate_per_gb_day")
        require_unit(
            self.arrears_cleanup_threshold, self.plan_unit, field="arrears_cleanup_threshold"
        )
        require_non_negative(self.arrears_cleanup_threshold, field="arrears_cleanup_threshold")
        for name in ("plan_period_days", "carry_over_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise invalid(name, f"must be a whole number of days ≥ 1 (got {value!r})")

    def plan(self, key: str) -> Plan:
        return _lookup(self.plans, key, kind="plan", field="plan")

    def card(self, key: str) -> CardModel:
        return _lookup(self.cards, key, kind="card model", field="card")

    def extension_pack(self, key: str) -> ExtensionPack:
        return _lookup(self.extension_packs, key, kind="extension pack", field="extension_pack")

    def trial_grant(self, key: str) -> TrialGrantTerms:
        return _lookup(self.trial_grants, key, kind="trial grant", field="trial_grant")

    @property
    def free_plan(self) -> Plan:
        return self.plan(self.free_plan_key)

    @property
    def subscribable_plans(self) -> tuple[Plan, ...]:
        return tuple(plan for plan in self.plans if plan.subscribable)


def _dcu(value: str) -> Amount:
    return Amount.of(value, Unit.DCU)


def _cny(value: str) -> Amount:
    return Amount.of(value, Unit.CNY)


# fmt: off
DEFAULT_CATALOG = Catalog(
    plans=(
        # Free plan: 30 G of storage, not expandable, no compute, no GPU parallelism.
        Plan("free", "Free", 0, None, 0, Decimal(30), Decimal(30)),
        Plan("trial", "Trial", 1, _dcu("20"), 2, Decimal(30), Decimal(500),
             _cny("135"), _cny("119")),
        Plan("basic", "Basic", 2, _dcu("56.6"), 4, Decimal(60), Decimal(500),
             _cny("365"), _cny("325")),
        # "2 TB" is read as 2048 GB (1 TB = 1024 G, as storage sizes are shown in G).
        Plan("advanced", "Advanced", 3, _dcu("500"), 8, Decimal(100), Decimal(2048),
             _cny("3100"), _cny("2750")),
    ),
    extension_packs=(ExtensionPack("extension-10", "Extension pack", _dcu("10"),
                                   _cny("67.5"), _cny("59.5")),),
    cards=(
        CardModel("dc100-40g", "DC100 (Hopper) 40G", "40G", Decimal(40), _dcu("1.28"), 1),
        CardModel("dc100-80g", "DC100 (Hopper) 80G", "80G", Decimal(80), _dcu("2.56"), 2),
        # Free-trial notebook spec of source [T]: A10 (gn7i) at about 7 CU/h (B-T1).
        CardModel("a10", "A10 (gn7i)", "A10", Decimal(24), Amount.of(7, Unit.CU), 1),
    ),
    trial_grants=(
        TrialGrantTerms("notebook-trial", "Free-trial resource deduction package",
                        Amount.of(250, Unit.CU), 3, 30),
    ),
)
# fmt: on
