"""The plan's GPU parallelism cap (spec 10 §2.3; J5 for upgrades).

Each card model has a parallelism weight (40G: 1, 80G: 2). Summed over all concurrent runs,
``Σ count × weight`` must stay within the plan's parallelism. A Run Task uses
``GPUs per worker × workers`` cards, each weighted by its model (an 80G card counts 2 there
too: the spec presumes it and nothing says otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hangar.billing.catalog import CardModel, Catalog, Plan
from hangar.billing.errors import ParallelismExceeded, invalid


@dataclass(frozen=True, slots=True)
class CardDemand:
    """``count`` whole cards of model ``card_key``."""

    card_key: str
    count: int

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise invalid("count", f"must be a whole number of cards ≥ 1 (got {self.count!r})")


def run_task_demand(*, card_key: str, gpus_per_worker: int, workers: int) -> CardDemand:
    """A Run Task's cards: GPUs per worker × workers (spec 10 §2.3)."""
    for name, value in (("gpus_per_worker", gpus_per_worker), ("workers", workers)):
        if isinstance(value, bool) or value < 1:
            raise invalid(name, f"must be a whole number ≥ 1 (got {value!r})")
    return CardDemand(card_key, gpus_per_worker * workers)


def parallelism_units(demands: Iterable[CardDemand], *, catalog: Catalog) -> int:
    """``Σ count × weight`` of the demands; unknown card models are refused."""
    return sum(d.count * catalog.card(d.card_key).parallelism_weight for d in demands)


def _describe(demands: Sequence[CardDemand], catalog: Catalog) -> str:
    counts: dict[str, int] = {}
    for demand in demands:
        counts[demand.card_key] = counts.get(demand.card_key, 0) + demand.count
    if not counts:
        return "nothing"
    return " + ".join(f"{n}×{catalog.card(key).label}" for key, n in counts.items())


def check_parallelism(
    *,
    plan: Plan,
    running: Sequence[CardDemand],
    asking: Sequence[CardDemand],
    catalog: Catalog,
) -> int:
    """Allow ``asking`` next to ``running`` under ``plan``'s cap; returns the new total.

    Raises :class:`ParallelismExceeded` naming every number, e.g. "plan 'Basic' allows
    parallelism 4; running 2×80G (4) + asking 1×40G (1) = 5".
    """
    if not asking:
        raise invalid("asking", "must ask for at least one card")
    used = parallelism_units(running, catalog=catalog)
    wanted = parallelism_units(asking, catalog=catalog)
    total = used + wanted
    if total > plan.parallelism:
        hint = (
            "subscribe to a plan to run on GPUs"
            if plan.parallelism == 0
            else "wait for a run to end, ask for fewer cards or upgrade the plan"
        )
        raise ParallelismExceeded(
            f"plan '{plan.name}' allows parallelism {plan.parallelism}; running "
            f"{_describe(running, catalog)} ({used}) + asking {_describe(asking, catalog)} "
            f"({wanted}) = {total}; {hint}",
            fields={"asking": f"needs parallelism {wanted}, {plan.parallelism - used} left"},
            plan=plan.key,
            cap=plan.parallelism,
            running=used,
            asking=wanted,
        )
    return total


def full_card_mixes(*, cap: int, cards: Sequence[CardModel]) -> tuple[dict[str, int], ...]:
    """Every mix of ``cards`` that fits ``cap`` and to which no further card could be added
    (the "valid parallel configs" of spec 10 §2.3), most of the first card model first."""
    if cap < 0:
        raise invalid("cap", f"must not be negative (got {cap})")
    if not cards:
        return ()
    lightest = min(card.parallelism_weight for card in cards)
    mixes: list[dict[str, int]] = []

    def fill(index: int, left: int, mix: dict[str, int]) -> None:
        if index == len(cards):
            if left < lightest and any(mix.values()):
                mixes.append({k: n for k, n in mix.items() if n})
            return
        card = cards[index]
        for count in range(left // card.parallelism_weight, -1, -1):
            fill(index + 1, left - count * card.parallelism_weight, {**mix, card.key: count})

    fill(0, cap, {})
    return tuple(mixes)
