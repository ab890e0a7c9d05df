"""Admission against quotas and queues: one test per rule of spec 02 §4-§8 and B1-B10."""

from __future__ import annotations

import pytest

from hangar.scheduling import (
    Code,
    Decision,
    Snapshot,
    UserLimits,
    UserState,
    Verdict,
    WorkloadType,
    admit,
)
from tests.scheduling.factories import job, queue, quota, res, running


def by_id(decisions: list[Decision]) -> dict[str, Decision]:
    out = {d.workload_id: d for d in decisions}
    assert len(out) == len(decisions), "one decision per workload"
    return out


def verdicts(decisions: list[Decision]) -> dict[str, str]:
    return {d.workload_id: d.verdict.value for d in decisions}


# -- FIFO and head-of-line blocking (RQ10) ------------------------------------------------------


def test_fifo_by_submission_time_not_input_order() -> None:
    snap = Snapshot(
        quotas=(quota("a", 2),),
        pending=(job("late", "a", 2, t=20), job("early", "a", 2, t=10)),
    )
    d = by_id(admit(snap))
    assert d["early"].verdict is Verdict.ADMIT
    assert d["late"].verdict is Verdict.WAIT


def test_strict_head_of_line_blocking_no_backfill() -> None:
    """RQ10: a small job behind a blocked head is not admitted even though it would fit."""
    snap = Snapshot(
        quotas=(quota("a", 4),),
        running=(running("r1", "a", 2),),
        pending=(job("big", "a", 4, t=1), job("small", "a", 1, t=2), job("tiny", "a", 1, t=3)),
    )
    d = by_id(admit(snap))
    assert d["big"].code is Code.POOL_FULL
    assert d["big"].message == "waiting: head of quota 'a' needs 4 GPUs, 2 free, borrowing off"
    assert d["big"].rule == "RQ10"
    for w in ("small", "tiny"):
        assert d[w].code is Code.BEHIND_HEAD
        assert d[w].message == "waiting behind big (head of quota 'a')"


def test_head_leaves_when_remaining_covers_it_and_capacity_is_consumed_in_cycle() -> None:
    snap = Snapshot(
        quotas=(quota("a", 4),),
        pending=(job("j1", "a", 2, t=1), job("j2", "a", 2, t=2), job("j3", "a", 1, t=3)),
    )
    d = by_id(admit(snap))
    assert [d[w].verdict for w in ("j1", "j2")] == [Verdict.ADMIT, Verdict.ADMIT]
    assert d["j3"].message == "waiting: head of quota 'a' needs 1 GPU, 0 free, borrowing off"


def test_blocking_is_per_quota() -> None:
    snap = Snapshot(
        quotas=(quota("a", 1), quota("b", 1, weight=2)),
        pending=(job("a-big", "a", 2, t=1), job("b-1", "b", 1, t=2)),
    )
    assert verdicts(admit(snap)) == {"a-big": "wait", "b-1": "admit"}


def test_shortfall_message_lists_every_short_resource() -> None:
    snap = Snapshot(
        quotas=(quota("a", 4, cpu=8, mem=32),),
        pending=(job("j", "a", 4, cpu=16, mem=64),),
    )
    (d,) = admit(snap)
    assert d.message == (
        "waiting: head of quota 'a' needs 16 CPU cores, 8 free; 64 GiB memory, 32 GiB free, borrowing off"
    )


# -- priority override (B6) ------------------------------------------------------------------


def test_priority_override_reorders_within_quota_and_ties_keep_fifo() -> None:
    snap = Snapshot(
        quotas=(quota("a", 2),),
        pending=(
            job("old", "a", 1, t=1),
            job("vip-late", "a", 1, t=30, priority=5),
            job("vip-early", "a", 1, t=20, priority=5),
        ),
    )
    d = by_id(admit(snap))
    assert d["vip-early"].verdict is Verdict.ADMIT
    assert d["vip-late"].verdict is Verdict.ADMIT
    assert d["old"].verdict is Verdict.WAIT


def test_head_of_line_blocking_applies_to_the_highest_priority_head() -> None:
    snap = Snapshot(
        quotas=(quota("a", 2),),
        pending=(job("small", "a", 1, t=1), job("urgent-big", "a", 4, t=9, priority=1)),
    )
    d = by_id(admit(snap))
    assert d["urgent-big"].code is Code.POOL_FULL
    assert d["small"].message == "waiting behind urgent-big (head of quota 'a')"


# -- idle borrowing (RQ7, RQ8, RQ9, B4, B5) -----------------------------------------------------


def test_borrowing_takes_from_lowest_weight_lender_first() -> None:
    snap = Snapshot(
        quotas=(
            quota("hi", 2, weight=90, borrowing=True),
            quota("w30", 4, weight=30),
            quota("w10", 2, weight=10),
            quota("w20", 4, weight=20),
        ),
        pending=(job("j", "hi", 7),),
    )
    (d,) = admit(snap)
    assert d.verdict is Verdict.ADMIT and d.code is Code.ADMITTED_BORROWING
    assert d.own == res(2)
    assert [(loan.lender_id, loan.amount) for loan in d.loans] == [
        ("w10", res(2)),
        ("w20", res(3)),
    ]
    assert d.message == (
        "admitted to quota 'hi', borrowing 2 GPUs from quota 'w10' (weight 10), "
        "3 GPUs from quota 'w20' (weight 20)"
    )


def test_borrowing_off_means_queueing() -> None:
    snap = Snapshot(quotas=(quota("a", 2), quota("idle", 8, weight=2)), pending=(job("j", "a", 4),))
    (d,) = admit(snap)
    assert d.code is Code.POOL_FULL and "borrowing off" in d.message


def test_borrowable_counts_only_idle_capacity_of_lenders() -> None:
    """B4: borrowable = Σ other non-exclusive started quotas (total − in use)."""
    snap = Snapshot(
        quotas=(quota("a", 2, borrowing=True), quota("l", 4, weight=2)),
        running=(running("r", "l", 3),),
        pending=(job("j", "a", 4),),
    )
    (d,) = admit(snap)
    assert d.code is Code.BORROW_SHORT
    assert d.message == (
        "waiting: head of quota 'a' needs 4 GPUs, 2 free, 1 borrowable from other quotas"
    )


def test_exclusive_quota_never_lends() -> None:
    """RQ9."""
    snap = Snapshot(
        quotas=(quota("a", 1, borrowing=True), quota("ex", 8, weight=2, exclusive=True)),
        pending=(job("j", "a", 2),),
    )
    (d,) = admit(snap)
    assert d.code is Code.BORROW_SHORT
    assert "0 borrowable" in d.message


def test_lenders_come_only_from_the_same_cluster() -> None:
    snap = Snapshot(
        quotas=(quota("a", 1, borrowing=True), quota("far", 8, weight=2, cluster="c2")),
        pending=(job("j", "a", 2),),
    )
    assert admit(snap)[0].code is Code.BORROW_SHORT


def test_stopped_quota_lends_nothing() -> None:
    """B10."""
    snap = Snapshot(
        quotas=(quota("a", 1, borrowing=True), quota("off", 8, weight=2, started=False)),
        pending=(job("j", "a", 2),),
    )
    assert admit(snap)[0].code is Code.BORROW_SHORT


def test_stopped_quota_admits_nothing_and_keeps_its_queue() -> None:
    """B10/RQ15: queued workloads of a stopped quota wait; none is rejected or admitted."""
    snap = Snapshot(
        quotas=(quota("off", 8, started=False),),
        pending=(job("j1", "off", 1, t=1), job("j2", "off", 1, t=2)),
    )
    out = admit(snap)
    assert {d.code for d in out} == {Code.POOL_STOPPED}
    assert out[0].message == (
        "waiting: quota 'off' is stopped; queued workloads start after an admin starts the "
        "quota again"
    )
    assert out[0].rule == "B10"


def test_lender_keeps_its_own_capacity_for_its_own_queue_first() -> None:
    """Own capacity is used before anything is lent in the same cycle (pass 1 before pass 2)."""
    snap = Snapshot(
        quotas=(quota("borrower", 0, weight=90, borrowing=True), quota("lender", 4, weight=1)),
        pending=(job("b", "borrower", 4, t=1), job("own", "lender", 3, t=2)),
    )
    d = by_id(admit(snap))
    assert d["own"].verdict is Verdict.ADMIT
    assert d["b"].code is Code.BORROW_SHORT


def test_higher_weight_borrower_borrows_first() -> None:
    snap = Snapshot(
        quotas=(
            quota("low", 0, weight=5, borrowing=True),
            quota("high", 0, weight=50, borrowing=True),
            quota("lender", 2, weight=1),
        ),
        pending=(job("lo", "low", 2, t=1), job("hi", "high", 2, t=2)),
    )
    d = by_id(admit(snap))
    assert d["hi"].verdict is Verdict.ADMIT
    assert d["lo"].code is Code.BORROW_SHORT


def test_borrowed_capacity_returns_when_the_borrower_ends() -> None:
    """RQ7/B5: the lender is short while the loan runs, and whole again once it is gone."""
    quotas = (quota("a", 2, borrowing=True), quota("lender", 4, weight=2))
    loan = running("r", "a", 2, loans={"lender": 3})
    want = job("lender-job", "lender", 4)
    during = admit(Snapshot(quotas=quotas, running=(loan,), pending=(want,)))
    assert (
        during[0].message == "waiting: head of quota 'lender' needs 4 GPUs, 1 free, borrowing off"
    )
    after = admit(Snapshot(quotas=quotas, running=(), pending=(want,)))
    assert after[0].verdict is Verdict.ADMIT


def test_no_preemption_of_borrowers() -> None:
    """B5: a lender that needs its capacity back waits; nothing is stopped for it."""
    quotas = (quota("a", 0, borrowing=True), quota("lender", 4, weight=2))
    out = admit(
        Snapshot(
            quotas=quotas,
            running=(running("r", "a", 0, loans={"lender": 4}),),
            pending=(job("mine", "lender", 1),),
        )
    )
    assert out[0].verdict is Verdict.WAIT


# -- per-user limits (spec 02 §7) ----------------------------------------------------------------


def test_per_user_limit_message_lists_requested_used_and_limit() -> None:
    users = {"bob": UserState(UserLimits(max_gpus=10, max_cpu_cores=20), res(8, 2))}
    snap = Snapshot(
        quotas=(quota("a", 64, cpu=512),),
        pending=(job("j", "a", 4, cpu=16, user="bob"),),
        users=users,
    )
    (d,) = admit(snap)
    assert d.verdict is Verdict.WAIT and d.code is Code.USER_LIMIT
    assert d.message == (
        "waiting: user 'bob' would exceed the per-user limit: GPU cards requested 4, used 8, "
        "limit 10; CPU cores requested 16, used 2, limit 20"
    )


def test_per_user_usage_counts_admissions_of_the_same_cycle() -> None:
    users = {"bob": UserState(UserLimits(max_gpus=3))}
    snap = Snapshot(
        quotas=(quota("a", 8), quota("b", 8, weight=2)),
        pending=(job("j1", "a", 2, user="bob", t=1), job("j2", "b", 2, user="bob", t=2)),
        users=users,
    )
    d = by_id(admit(snap))
    assert d["j1"].verdict is Verdict.ADMIT
    assert d["j2"].code is Code.USER_LIMIT
    assert "used 2, limit 3" in d["j2"].message


def test_user_at_limit_holds_own_later_work_but_not_other_users() -> None:
    users = {"bob": UserState(UserLimits(max_gpus=1), res(1))}
    snap = Snapshot(
        quotas=(quota("a", 8),),
        pending=(
            job("bob-1", "a", 1, user="bob", t=1),
            job("carol-1", "a", 1, user="carol", t=2),
            job("bob-2", "a", 1, user="bob", t=3),
        ),
        users=users,
    )
    d = by_id(admit(snap))
    assert d["bob-1"].code is Code.USER_LIMIT
    assert d["carol-1"].verdict is Verdict.ADMIT
    assert d["bob-2"].code is Code.BEHIND_USER
    assert d["bob-2"].message == (
        "waiting behind bob-1 (an earlier workload of user 'bob' in quota 'a', held by the "
        "per-user limit)"
    )


def test_default_limits_apply_to_unknown_users() -> None:
    snap = Snapshot(
        quotas=(quota("a", 8),),
        pending=(job("j", "a", 2, user="dave"),),
        default_limits=UserLimits(max_gpus=1),
    )
    assert admit(snap)[0].code is Code.USER_LIMIT


# -- workload types, workspaces, pools (B1, RQ1, RQ17, Q3, Q5) ----------------------------------


def test_workload_type_not_allowed_is_rejected_not_queued() -> None:
    snap = Snapshot(
        quotas=(quota("train-only", 8, types=frozenset({WorkloadType.TRAINING})),),
        pending=(
            job("ide", "train-only", 1, kind=WorkloadType.IDE, t=1),
            job("train", "train-only", 1, t=2),
        ),
    )
    d = by_id(admit(snap))
    assert d["ide"].verdict is Verdict.REJECT and d["ide"].code is Code.TYPE_NOT_ALLOWED
    assert d["ide"].message == (
        "rejected: workload type 'ide' is not allowed by quota 'train-only' (allowed: "
        "training); pick a quota or queue that allows it"
    )
    assert d["train"].verdict is Verdict.ADMIT  # a rejected workload blocks nothing


def test_every_b1_workload_type_is_known() -> None:
    assert {t.value for t in WorkloadType} == {
        "ide",
        "training",
        "finetune",
        "evaluation",
        "compression",
        "service",
        "data_cleaning",
    }


def test_workspace_must_be_associated_with_the_quota() -> None:
    snap = Snapshot(
        quotas=(quota("a", 8, workspaces=frozenset({"ws1"})),),
        pending=(job("in", "a", 1, workspace="ws1"), job("out", "a", 1, workspace="ws2")),
    )
    d = by_id(admit(snap))
    assert d["in"].verdict is Verdict.ADMIT
    assert d["out"].code is Code.WORKSPACE_NOT_ALLOWED and d["out"].rule == "RQ17"


def test_queue_is_a_hard_partition_for_the_default_workspace() -> None:
    """Q2: no borrowing from or by queues; Q3: only the default workspace uses them."""
    snap = Snapshot(
        quotas=(quota("rich", 8, weight=1),),
        queues=(queue("q", 2, default_ws="default"),),
        pending=(
            job("fits", "q", 2, workspace="default", t=1),
            job("over", "q", 1, workspace="default", t=2),
            job("other-ws", "q", 1, workspace="team", t=3),
        ),
    )
    d = by_id(admit(snap))
    assert d["fits"].verdict is Verdict.ADMIT
    assert d["over"].message == "waiting: head of queue 'q' needs 1 GPU, 0 free, borrowing off"
    assert d["other-ws"].code is Code.WORKSPACE_NOT_ALLOWED and d["other-ws"].rule == "Q3"


def test_queue_never_lends_to_quotas() -> None:
    snap = Snapshot(
        quotas=(quota("a", 0, borrowing=True),),
        queues=(queue("q", 8),),
        pending=(job("j", "a", 1),),
    )
    assert admit(snap)[0].code is Code.BORROW_SHORT


def test_builtin_default_queue_is_bounded_only_by_the_cluster() -> None:
    snap = Snapshot(queues=(queue("default", None),), pending=(job("j", "default", 512),))
    assert admit(snap)[0].verdict is Verdict.ADMIT


def test_stopped_queue_waits() -> None:
    snap = Snapshot(queues=(queue("q", 8, started=False),), pending=(job("j", "q", 1),))
    (d,) = admit(snap)
    assert d.code is Code.POOL_STOPPED and d.rule == "Q10"


def test_unknown_pool_and_model_mismatch_are_rejected() -> None:
    snap = Snapshot(
        quotas=(quota("h", 8, model="H800"),),
        pending=(job("lost", "gone", 1), job("a800", "h", 1, model="A800")),
    )
    d = by_id(admit(snap))
    assert d["lost"].code is Code.UNKNOWN_POOL
    assert d["lost"].message == "rejected: quota or queue 'gone' does not exist"
    assert d["a800"].code is Code.MODEL_MISMATCH
    assert d["a800"].message == "rejected: quota 'h' holds H800 cards; the request asks for A800"


def test_spec_x_count_is_only_a_total() -> None:
    """RQ5: a 4-card quota runs four 1-card tasks or one 4-card task alike."""
    four_small = Snapshot(
        quotas=(quota("a", 4),), pending=tuple(job(f"j{i}", "a", 1, t=i) for i in range(4))
    )
    assert set(verdicts(admit(four_small)).values()) == {"admit"}
    one_big = Snapshot(quotas=(quota("a", 4),), pending=(job("j", "a", 4),))
    assert admit(one_big)[0].verdict is Verdict.ADMIT


def test_gang_request_counts_all_nodes_against_the_quota() -> None:
    snap = Snapshot(quotas=(quota("a", 8),), pending=(job("ddp", "a", 4, nodes=3),))
    assert admit(snap)[0].message == (
        "waiting: head of quota 'a' needs 12 GPUs, 8 free, borrowing off"
    )


def test_same_input_same_output() -> None:
    snap = Snapshot(
        quotas=(quota("a", 3, borrowing=True, weight=9), quota("b", 5, weight=2)),
        pending=tuple(job(f"j{i}", "ab"[i % 2], 1 + i % 3, t=i % 4) for i in range(12)),
    )
    assert admit(snap) == admit(snap)


def test_snapshot_refuses_ambiguous_ids() -> None:
    with pytest.raises(ValueError, match="quota and queue ids must differ"):
        Snapshot(quotas=(quota("x"),), queues=(queue("x"),))
    with pytest.raises(ValueError, match="appears twice"):
        Snapshot(quotas=(quota("a"),), pending=(job("j", "a"), job("j", "a")))
