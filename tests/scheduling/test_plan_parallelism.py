"""The plan parallelism cap at admission (spec 10 §2.3): Σ cards × card-model weight over a
tenant's live workloads within the plan's cap; the worked example 1×40G + 2×80G = 5."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hangar.scheduling import Code, ParallelismCap, Snapshot, Verdict, admit
from tests.scheduling.factories import job, quota, res, running

WEIGHTS = {"dc100-40g": 1, "dc100-80g": 2}


def cap(limit: int) -> dict[str, ParallelismCap]:
    return {"t1": ParallelismCap(plan=f"cap-{limit}", cap=limit, weights=WEIGHTS)}


def snapshot(limit: int) -> Snapshot:
    """The tenant already runs 1×40G; it asks for 2×80G in another quota."""
    held = replace(running("r40", "q40", 1), own=res(1, model="dc100-40g"), cap_group="t1")
    asks = replace(job("j80", "q80", 2, model="dc100-80g"), cap_group="t1")
    return Snapshot(
        quotas=(quota("q40", 8, model="dc100-40g"), quota("q80", 8, model="dc100-80g")),
        running=(held,),
        pending=(asks,),
        caps=cap(limit),
    )


@pytest.mark.parametrize(
    ("limit", "verdict"), [(2, Verdict.REJECT), (4, Verdict.WAIT), (8, Verdict.ADMIT)]
)
def test_the_worked_example_against_caps_2_4_and_8(limit: int, verdict: Verdict) -> None:
    (decision,) = admit(snapshot(limit))
    assert decision.verdict is verdict
    if verdict is Verdict.ADMIT:
        return
    assert decision.code is Code.PLAN_PARALLELISM
    assert decision.rule == "spec 10 §2.3"
    assert (
        f"it asks 4 (cards × card-model weight), the tenant's running work holds 1, "
        f"and plan 'cap-{limit}' allows {limit}" in decision.message
    )


def test_a_waiting_head_blocks_its_pool_and_admissions_count_in_the_same_cycle() -> None:
    first = replace(job("a", "q", 2, t=1, model="dc100-80g"), cap_group="t1")
    second = replace(job("b", "q", 1, t=2, model="dc100-80g"), cap_group="t1")
    third = replace(job("c", "q", 1, t=3, model="dc100-80g"), cap_group="t1")
    snap = Snapshot(
        quotas=(quota("q", 8, model="dc100-80g"),), pending=(first, second, third), caps=cap(6)
    )
    decisions = {d.workload_id: d for d in admit(snap)}
    assert decisions["a"].verdict is Verdict.ADMIT  # 4 of 6
    assert decisions["b"].verdict is Verdict.ADMIT  # 6 of 6
    assert decisions["c"].verdict is Verdict.WAIT
    assert decisions["c"].code is Code.PLAN_PARALLELISM


def test_other_tenants_and_cpu_only_work_are_not_capped() -> None:
    other = replace(job("other", "q", 4, model="dc100-80g"), cap_group="t2")
    cpu = replace(job("cpu", "q", 0, cpu=4), cap_group="t1")
    snap = Snapshot(quotas=(quota("q", 8, cpu=8),), pending=(other, cpu), caps=cap(1))
    assert {d.verdict for d in admit(snap)} == {Verdict.ADMIT}


def test_a_model_without_a_weight_counts_one_per_card_and_fractions_round_up() -> None:
    limits = ParallelismCap(plan="p", cap=3, weights=WEIGHTS)
    assert limits.units(res(3, model="other")) == 3
    assert limits.units(res(2, model="dc100-80g")) == 4
    assert limits.units(replace(res(0, model="dc100-80g"), gpu_milli=250)) == 2
    assert limits.units(res(0, cpu=8)) == 0
