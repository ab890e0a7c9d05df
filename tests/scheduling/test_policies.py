"""Admission policies per pool: strict FIFO (RQ10, the default) and best-effort FIFO.

Under ``"best_effort"`` a head that cannot start waits with its usual reason, and the pool
goes on down its queue in the same order; nothing else about admission changes.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from hangar.scheduling import (
    POLICIES,
    Code,
    Decision,
    ParallelismCap,
    PendingWorkload,
    Quota,
    Snapshot,
    UserLimits,
    UserState,
    Verdict,
    admit,
    schedule,
)
from hangar.scheduling.model import Queue
from tests.scheduling.factories import job, node, queue, quota, res, running

BEST = "best_effort"


def by_id(decisions: list[Decision]) -> dict[str, Decision]:
    out = {d.workload_id: d for d in decisions}
    assert len(out) == len(decisions), "one decision per workload"
    return out


def best(pool: Quota) -> Quota:
    return replace(pool, policy=BEST)


def blocked_head(policy: str) -> Snapshot:
    """Quota 'a' (4 GPUs) runs 2; the head asks for 4, two later jobs for 1 each."""
    return Snapshot(
        quotas=(replace(quota("a", 4), policy=policy),),
        running=(running("r1", "a", 2),),
        pending=(job("big", "a", 4, t=1), job("small", "a", 1, t=2), job("tiny", "a", 1, t=3)),
    )


def test_policies_and_the_default() -> None:
    assert POLICIES == ("fifo", "best_effort")
    assert quota("a").policy == "fifo"
    assert queue("q").policy == "fifo"


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="quota 'a' has policy 'lottery'; the policies are"):
        replace(quota("a"), policy="lottery")
    with pytest.raises(ValueError, match="the policies are fifo, best_effort"):
        replace(queue("q"), policy="lottery")


def test_fifo_blocks_behind_the_head_best_effort_admits_the_later_job() -> None:
    fifo = by_id(admit(blocked_head("fifo")))
    assert fifo["big"].code is Code.POOL_FULL
    assert {fifo[w].code for w in ("small", "tiny")} == {Code.BEHIND_HEAD}

    d = by_id(admit(blocked_head(BEST)))
    # The head waits with exactly the reason it has under FIFO.
    assert (d["big"].verdict, d["big"].code, d["big"].rule, d["big"].message) == (
        Verdict.WAIT, Code.POOL_FULL, "RQ10", fifo["big"].message,
    )  # fmt: skip
    assert d["small"].verdict is Verdict.ADMIT and d["tiny"].verdict is Verdict.ADMIT
    assert d["small"].own == res(1)


def test_best_effort_admits_in_order_and_later_jobs_see_the_capacity_taken() -> None:
    snap = Snapshot(
        quotas=(best(quota("a", 4)),),
        running=(running("r1", "a", 1),),
        pending=(
            job("big", "a", 4, t=1),
            job("two", "a", 2, t=2),
            job("two-more", "a", 2, t=3),
            job("one", "a", 1, t=4),
        ),
    )
    d = by_id(admit(snap))
    assert d["two"].verdict is Verdict.ADMIT  # 3 free → 1
    # Not "behind" anyone: it waits for capacity with its own reason.
    assert d["two-more"].code is Code.POOL_FULL
    assert d["two-more"].message == (
        "waiting: head of quota 'a' needs 2 GPUs, 1 free, borrowing off"
    )
    assert d["one"].verdict is Verdict.ADMIT  # the last free card


def test_a_best_effort_queue_does_not_block_either() -> None:
    snap = Snapshot(
        queues=(replace(queue("q", 2), policy=BEST),),
        pending=(job("big", "q", 4, t=1), job("small", "q", 2, t=2)),
    )
    d = by_id(admit(snap))
    assert d["big"].code is Code.POOL_FULL
    assert d["small"].verdict is Verdict.ADMIT


def test_pools_keep_their_own_policy() -> None:
    snap = Snapshot(
        quotas=(quota("strict", 2), best(quota("loose", 2, weight=2))),
        pending=(
            job("s-big", "strict", 4, t=1),
            job("s-small", "strict", 1, t=2),
            job("l-big", "loose", 4, t=1),
            job("l-small", "loose", 1, t=2),
        ),
    )
    d = by_id(admit(snap))
    assert d["s-small"].code is Code.BEHIND_HEAD
    assert d["l-small"].verdict is Verdict.ADMIT


def test_best_effort_with_borrowing_goes_on_after_a_short_borrow() -> None:
    """The head cannot borrow enough; the next job fits the quota's own capacity."""
    snap = Snapshot(
        quotas=(best(quota("a", 2, borrowing=True, weight=2)), quota("lender", 2)),
        pending=(job("huge", "a", 8, t=1), job("fits", "a", 2, t=2), job("borrows", "a", 2, t=3)),
    )
    d = by_id(admit(snap))
    assert d["huge"].code is Code.BORROW_SHORT
    assert d["fits"].verdict is Verdict.ADMIT and d["fits"].loans == ()
    assert d["borrows"].code is Code.ADMITTED_BORROWING  # what is left to lend, in order


def test_best_effort_does_not_hold_the_users_later_work_by_the_user_limit() -> None:
    def snap(policy: str) -> Snapshot:
        return Snapshot(
            quotas=(replace(quota("a", 8), policy=policy),),
            pending=(job("big", "a", 4, t=1), job("small", "a", 1, t=2), job("bob", "a", 1, t=3,
                                                                            user="bob")),
            users={"alice": UserState(UserLimits(max_gpus=3), used=res(1))},
        )  # fmt: skip

    fifo = by_id(admit(snap("fifo")))
    assert fifo["big"].code is Code.USER_LIMIT
    assert fifo["small"].code is Code.BEHIND_USER
    assert fifo["bob"].verdict is Verdict.ADMIT  # other users go on under either policy
    d = by_id(admit(snap(BEST)))
    assert d["big"].code is Code.USER_LIMIT
    assert d["small"].verdict is Verdict.ADMIT  # 1 used + 1 ≤ 3
    assert d["bob"].verdict is Verdict.ADMIT


def test_best_effort_does_not_block_behind_the_plan_cap() -> None:
    caps = {"t1": ParallelismCap(plan="cap-3", cap=3)}

    def snap(policy: str) -> Snapshot:
        big = replace(job("big", "a", 2, t=1), cap_group="t1")
        small = replace(job("small", "a", 1, t=2), cap_group="t1")
        other = job("other-tenant", "a", 1, t=3)
        held = replace(running("r", "a", 2), cap_group="t1")
        return Snapshot(
            quotas=(replace(quota("a", 8), policy=policy),),
            running=(held,),
            pending=(big, small, other),
            caps=caps,
        )

    fifo = by_id(admit(snap("fifo")))
    assert fifo["big"].code is Code.PLAN_PARALLELISM
    assert {fifo[w].code for w in ("small", "other-tenant")} == {Code.BEHIND_HEAD}
    d = by_id(admit(snap(BEST)))
    assert d["big"].code is Code.PLAN_PARALLELISM
    assert d["small"].verdict is Verdict.ADMIT  # 2 + 1 ≤ 3
    assert d["other-tenant"].verdict is Verdict.ADMIT


def test_best_effort_goes_past_a_head_no_node_has_room_for() -> None:
    def snap(policy: str) -> Snapshot:
        return Snapshot(
            quotas=(replace(quota("a", 16), policy=policy),),
            pending=(job("eight", "a", 8, t=1), job("two", "a", 2, t=2)),
        )

    nodes = [node("n1", 8, allocated=4), node("n2", 8, allocated=4)]
    fifo = by_id(schedule(snap("fifo"), nodes))
    assert fifo["eight"].code is Code.NO_NODE
    assert fifo["two"].code is Code.BEHIND_HEAD
    d = by_id(schedule(snap(BEST), nodes))
    assert d["eight"].code is Code.NO_NODE
    assert d["eight"].message == fifo["eight"].message
    assert d["two"].verdict is Verdict.ADMIT


def _mixed(policy: str, seed: int, *, limits: bool = True) -> Snapshot:
    rng = random.Random(seed)
    pools = ("a", "b", "c")
    pending: list[PendingWorkload] = [
        job(f"w{i:03}", rng.choice(pools), rng.choice((1, 2, 4, 8)), t=rng.randrange(50),
            user=rng.choice(("alice", "bob", "carol")), priority=rng.choice((0, 0, 0, 1)))
        for i in range(120)
    ]  # fmt: skip
    return Snapshot(
        quotas=(
            replace(quota("a", 16, borrowing=True, weight=3), policy=policy),
            replace(quota("b", 8, weight=2), policy=policy),
        ),
        queues=(Queue("c", "c", "c1", res(8), policy=policy),),
        running=(running("r1", "a", 3), running("r2", "b", 5, user="bob")),
        pending=tuple(pending),
        users={"carol": UserState(UserLimits(max_gpus=6))} if limits else {},
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_same_input_same_decisions_whatever_the_input_order(policy: str) -> None:
    snap = _mixed(policy, seed=7)
    nodes = [node(f"n{i:02}", 8, allocated=i % 5) for i in range(6)]
    first = sorted(schedule(snap, nodes), key=lambda d: d.workload_id)
    shuffled = list(snap.pending)
    random.Random(1).shuffle(shuffled)
    again = schedule(replace(snap, pending=tuple(shuffled)), list(reversed(nodes)))
    assert sorted(again, key=lambda d: d.workload_id) == first


def test_best_effort_never_overcommits_and_admits_a_superset_in_order() -> None:
    """Best effort admits at least the FIFO prefix of each pool and stays within totals.

    (Without per-user limits: with them, best effort may spend a user's limit on work FIFO
    holds back, and that user's later work in another pool then waits.)"""
    for seed in range(5):
        fifo = by_id(admit(_mixed("fifo", seed, limits=False)))
        snap = _mixed(BEST, seed, limits=False)
        loose = by_id(admit(snap))
        held = {"a": 3, "b": 5, "c": 0}
        totals = {"a": 16, "b": 8, "c": 8}
        for d in loose.values():
            if d.verdict is Verdict.ADMIT:
                assert d.pool_id is not None
                held[d.pool_id] += d.own.gpus
                for loan in d.loans:
                    held[loan.lender_id] += loan.amount.gpus
        assert all(held[p] <= totals[p] for p in totals), (seed, held)
        # In a pool that never borrows, a FIFO admission is also a best-effort admission:
        # best effort only goes further down the same order.
        for w in snap.pending:
            if w.pool_id in ("b", "c") and fifo[w.id].verdict is Verdict.ADMIT:
                assert loose[w.id].verdict is Verdict.ADMIT, (seed, w.id)
        assert not any(d.code is Code.BEHIND_HEAD for d in loose.values())
