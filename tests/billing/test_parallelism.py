"""The parallelism cap (spec 10 §2.3) beyond the worked examples in test_golden.py."""

from __future__ import annotations

import pytest

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.errors import ParallelismExceeded
from hangar.billing.parallelism import (
    CardDemand,
    check_parallelism,
    full_card_mixes,
    parallelism_units,
    run_task_demand,
)
from hangar.errors import ValidationFailed

CATALOG = DEFAULT_CATALOG
BASIC = CATALOG.plan("basic")


def test_exactly_the_cap_is_allowed() -> None:
    running = [CardDemand("dc100-40g", 2)]
    assert (
        check_parallelism(
            plan=BASIC, running=running, asking=[CardDemand("dc100-80g", 1)], catalog=CATALOG
        )
        == 4
    )


def test_run_task_counts_gpus_times_workers_weighted() -> None:
    demand = run_task_demand(card_key="dc100-80g", gpus_per_worker=2, workers=2)
    assert demand == CardDemand("dc100-80g", 4)
    assert parallelism_units([demand], catalog=CATALOG) == 8
    with pytest.raises(ValidationFailed, match="workers: must be a whole number ≥ 1"):
        run_task_demand(card_key="dc100-80g", gpus_per_worker=2, workers=0)


def test_refusal_carries_fields_and_data() -> None:
    with pytest.raises(ParallelismExceeded) as err:
        check_parallelism(
            plan=BASIC,
            running=[
                CardDemand("dc100-40g", 1),
                CardDemand("dc100-80g", 1),
                CardDemand("dc100-40g", 1),
            ],
            asking=[CardDemand("dc100-80g", 1)],
            catalog=CATALOG,
        )
    assert err.value.message == (
        "plan 'Basic' allows parallelism 4; running 2×40G + 1×80G (4) + asking 1×80G (2) = 6; "
        "wait for a run to end, ask for fewer cards or upgrade the plan"
    )
    assert err.value.code == "parallelism_exceeded" and err.value.http_status == 409
    assert err.value.fields == {"asking": "needs parallelism 2, 0 left"}
    assert err.value.extra == {"plan": "basic", "cap": 4, "running": 4, "asking": 2}


def test_no_plan_means_no_gpus() -> None:
    with pytest.raises(ParallelismExceeded) as err:
        check_parallelism(
            plan=CATALOG.free_plan, running=[], asking=[CardDemand("dc100-40g", 1)], catalog=CATALOG
        )
    assert err.value.message == (
        "plan 'Free' allows parallelism 0; running nothing (0) + asking 1×40G (1) = 1; "
        "subscribe to a plan to run on GPUs"
    )


def test_bad_demands() -> None:
    with pytest.raises(ValidationFailed, match="unknown card model 'h100'"):
        check_parallelism(plan=BASIC, running=[], asking=[CardDemand("h100", 1)], catalog=CATALOG)
    with pytest.raises(ValidationFailed) as err:
        CardDemand("dc100-40g", 0)
    assert err.value.fields == {"count": "must be a whole number of cards ≥ 1 (got 0)"}
    with pytest.raises(ValidationFailed, match="asking: must ask for at least one card"):
        check_parallelism(plan=BASIC, running=[], asking=[], catalog=CATALOG)


def test_mixes_of_nothing() -> None:
    assert full_card_mixes(cap=0, cards=CATALOG.cards[:2]) == ()
    assert full_card_mixes(cap=4, cards=()) == ()
    with pytest.raises(ValidationFailed, match="cap: must not be negative"):
        full_card_mixes(cap=-1, cards=CATALOG.cards)
