"""Admin-action preconditions and bounds (spec 02 §4-§6, §10, RQ6, decisions B2/B3), and
submission checks (RQ17, RQ18)."""

from __future__ import annotations

import pytest

from hangar.errors import Conflict, ValidationFailed
from hangar.scheduling import Request, Snapshot, WorkloadType, max_borrowable, pool_usage
from hangar.scheduling.rules import (
    check_cards_per_instance,
    check_delete,
    check_instance_count,
    check_resize,
    check_start,
    check_stop,
    check_submission,
    check_weight,
    count_bounds,
)
from tests.scheduling.factories import queue, quota, res, running

# -- weight (RQ6) ----------------------------------------------------------------------------------


def test_weight_unique_per_cluster() -> None:
    others = [("team-a", 5), ("team-b", 6)]
    assert check_weight(7, others=others) == 7
    with pytest.raises(ValidationFailed) as err:
        check_weight(5, others=others)
    assert err.value.fields == {
        "weight": "5 is already used by quota 'team-a' in this cluster; weights must be unique "
        "per cluster (RQ6): choose another, e.g. 4"
    }


@pytest.mark.parametrize("weight", [0, 101, -3])
def test_weight_between_1_and_100(weight: int) -> None:
    with pytest.raises(ValidationFailed, match="between 1 and 100"):
        check_weight(weight, others=[])


def test_cards_per_instance_granularity() -> None:
    for n in (1, 2, 4, 8):
        assert check_cards_per_instance(n) == n
    with pytest.raises(ValidationFailed, match="1, 2, 4 or 8 cards"):
        check_cards_per_instance(3)


# -- instance count bounds (§6, B2, B3) ------------------------------------------------------------


def test_increase_bound_is_current_plus_what_unallocated_cards_allow() -> None:
    """B2: new ≤ current + floor(unallocated / cards per instance): 10 + floor(100/8) = 22."""
    b = count_bounds(
        current_count=10,
        cards_per_instance=8,
        unallocated_cards=100,
        cards_in_use=0,
        max_queued_task_cards=0,
    )
    assert b.maximum == 22
    check_instance_count(
        22,
        current_count=10,
        cards_per_instance=8,
        unallocated_cards=100,
        cards_in_use=0,
        max_queued_task_cards=0,
    )
    with pytest.raises(ValidationFailed) as err:
        check_instance_count(
            23,
            current_count=10,
            cards_per_instance=8,
            unallocated_cards=100,
            cards_in_use=0,
            max_queued_task_cards=0,
        )
    assert "at most 22" in err.value.message and "B2" in err.value.message
    assert "instance_count" in err.value.fields


def test_decrease_bound_is_the_larger_of_in_use_and_largest_queued_task() -> None:
    """B3: new × cards ≥ max(in use, largest queued task), by ceil: max(12, 4)/8 → 2."""
    kw = dict(current_count=4, cards_per_instance=8, unallocated_cards=0)
    assert count_bounds(**kw, cards_in_use=12, max_queued_task_cards=4).minimum == 2
    assert count_bounds(**kw, cards_in_use=3, max_queued_task_cards=17).minimum == 3
    assert count_bounds(**kw, cards_in_use=0, max_queued_task_cards=0).minimum == 1
    check_instance_count(2, **kw, cards_in_use=12, max_queued_task_cards=4)
    with pytest.raises(ValidationFailed) as err:
        check_instance_count(1, **kw, cards_in_use=12, max_queued_task_cards=4)
    assert err.value.fields["instance_count"] == (
        "1 is too few: 1 × 8 cards < 12 cards needed (the larger of 12 in use and 4 for the "
        "largest queued task) (§6, B3); use at least 2"
    )


# -- start / stop / resize / delete (RQ14-RQ16, Q9-Q11) -------------------------------------------


def test_stop_and_start_preconditions() -> None:
    check_stop(kind="quota", name="a", started=True)
    check_start(kind="quota", name="a", started=False)
    with pytest.raises(Conflict, match="already stopped"):
        check_stop(kind="quota", name="a", started=False)
    with pytest.raises(Conflict, match="already started"):
        check_start(kind="queue", name="q", started=True)


def test_quota_resize_requires_stopped() -> None:
    with pytest.raises(Conflict) as err:
        check_resize(
            kind="quota", name="a", started=True, spec_changed=False, running_tasks=0,
            queued_tasks=0,
        )  # fmt: skip
    assert "must be stopped before it is resized (RQ14)" in err.value.message
    assert err.value.extra["rule"] == "RQ14"
    check_resize(
        kind="quota", name="a", started=False, spec_changed=False, running_tasks=3, queued_tasks=2
    )


def test_queue_resize_does_not_require_stop() -> None:
    check_resize(
        kind="queue", name="q", started=True, spec_changed=False, running_tasks=3, queued_tasks=1
    )


@pytest.mark.parametrize(("kind", "rule"), [("quota", "RQ14"), ("queue", "Q9")])
@pytest.mark.parametrize(("run", "queued"), [(1, 0), (0, 1)])
def test_spec_change_forbidden_with_running_or_queued_tasks(
    kind: str, rule: str, run: int, queued: int
) -> None:
    with pytest.raises(Conflict) as err:
        check_resize(
            kind=kind,  # type: ignore[arg-type]
            name="x",
            started=False,
            spec_changed=True,
            running_tasks=run,
            queued_tasks=queued,
        )
    assert rule in err.value.message and "change only the instance count" in err.value.message
    check_resize(
        kind=kind,  # type: ignore[arg-type]
        name="x",
        started=False,
        spec_changed=True,
        running_tasks=0,
        queued_tasks=0,
    )


@pytest.mark.parametrize(("kind", "rule"), [("quota", "RQ16"), ("queue", "Q11")])
def test_delete_only_stopped_and_with_every_task_finished(kind: str, rule: str) -> None:
    with pytest.raises(Conflict, match=f"must be stopped before it is deleted \\({rule}\\)"):
        check_delete(kind=kind, name="x", started=True, unfinished_tasks=0)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as err:
        check_delete(kind=kind, name="x", started=False, unfinished_tasks=2)  # type: ignore[arg-type]
    assert "wait for completion or migrate tasks" in err.value.message
    check_delete(kind=kind, name="x", started=False, unfinished_tasks=0)  # type: ignore[arg-type]


# -- submission (RQ17, RQ18, Q3, Q10) --------------------------------------------------------------


def test_submission_to_stopped_quota_is_refused() -> None:
    with pytest.raises(Conflict, match="is stopped and accepts no new workloads"):
        check_submission(
            quota("a", started=False),
            workload_type=WorkloadType.TRAINING,
            workspace_id=None,
            request=Request(res(1)),
        )


def test_submission_checks_type_workspace_and_size() -> None:
    train_only = quota("a", 4, types=frozenset({WorkloadType.TRAINING}))
    with pytest.raises(ValidationFailed) as err:
        check_submission(
            train_only, workload_type=WorkloadType.IDE, workspace_id=None, request=Request(res(1))
        )
    assert "workload_type" in err.value.fields
    with pytest.raises(ValidationFailed, match="queue_id"):
        check_submission(
            queue("q", default_ws="default"),
            workload_type=WorkloadType.TRAINING,
            workspace_id="team",
            request=Request(res(1)),
        )
    with pytest.raises(ValidationFailed) as err:
        check_submission(
            train_only,
            workload_type=WorkloadType.TRAINING,
            workspace_id=None,
            request=Request(res(5)),
        )
    assert "larger than quota 'a' can ever hold" in err.value.message
    lender = quota("a", 4, borrowing=True)
    check_submission(
        lender,
        workload_type=WorkloadType.TRAINING,
        workspace_id=None,
        request=Request(res(5)),
        max_borrowable=res(2),
    )


# -- usage and borrowable (RQ8 corrected by B4, RQ12) ----------------------------------------------


def test_max_borrowable_subtracts_in_use_exclusive_and_stopped() -> None:
    snap = Snapshot(
        quotas=(
            quota("me", 4, borrowing=True),
            quota("l1", 8, weight=2),
            quota("l2", 8, weight=3, exclusive=True),
            quota("l3", 8, weight=4, started=False),
            quota("l4", 8, weight=5, cluster="c2"),
        ),
        running=(running("r", "l1", 3), running("x", "me", 0, loans={"l1": 2})),
    )
    assert max_borrowable(snap, "me") == res(3)
    usage = pool_usage(snap)
    assert (usage["l1"].used, usage["l1"].lent, usage["l1"].idle) == (res(3), res(2), res(3))
    assert usage["me"].borrowed == res(2)
