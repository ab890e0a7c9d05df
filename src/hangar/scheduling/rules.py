"""Checks for quota and queue admin actions and for submissions (spec 02 §4-§6, §10).

Pure functions: the caller passes the facts (counts of running and queued tasks, unallocated
cards) and gets nothing back or an error that names the rule and the fix. State preconditions
raise ``Conflict`` (409); out-of-range values raise ``ValidationFailed`` on the field (422).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hangar.errors import Conflict, ValidationFailed
from hangar.scheduling.model import Queue, Quota, Request, WorkloadType
from hangar.scheduling.resources import Resources

PoolKind = Literal["quota", "queue"]
CARD_GRANULARITY = (1, 2, 4, 8)  # RQ4: cards per instance
WEIGHT_MIN, WEIGHT_MAX = 1, 100  # RQ6


def _label(kind: PoolKind, name: str) -> str:
    return f"{kind} '{name}'"


# -- weight (RQ6) -----------------------------------------------------------------------------


def check_weight(weight: int, *, others: Iterable[tuple[str, int]]) -> int:
    """RQ6: an integer 1-100, unique among the quotas of the cluster.

    ``others`` are (name, weight) of the cluster's *other* quotas.
    """
    if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
        raise ValidationFailed.field(
            "weight", f"must be between {WEIGHT_MIN} and {WEIGHT_MAX} (RQ6); got {weight}"
        )
    taken = dict((w, name) for name, w in others)
    if weight in taken:
        free = [w for w in range(WEIGHT_MIN, WEIGHT_MAX + 1) if w not in taken]
        hint = (
            f"choose another, e.g. {min(free, key=lambda w: (abs(w - weight), w))}"
            if free
            else "every weight 1-100 is taken: change another quota's weight first"
        )
        raise ValidationFailed.field(
            "weight",
            f"{weight} is already used by quota '{taken[weight]}' in this cluster; weights must "
            f"be unique per cluster (RQ6): {hint}",
        )
    return weight


def check_cards_per_instance(cards: int) -> int:
    """RQ4: a quota's instance spec has 1, 2, 4 or 8 cards of the cluster's model."""
    if cards not in CARD_GRANULARITY:
        raise ValidationFailed.field(
            "spec",
            f"a quota instance spec must have 1, 2, 4 or 8 cards (RQ4); this one has {cards}: "
            "pick a spec with one of those card counts",
        )
    return cards


# -- instance count (§6, B2, B3) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountBounds:
    """The allowed instance counts for a resize."""

    minimum: int
    maximum: int


def count_bounds(
    *,
    current_count: int,
    cards_per_instance: int,
    unallocated_cards: int,
    cards_in_use: int,
    max_queued_task_cards: int,
) -> CountBounds:
    """§6 with decisions B2 and B3.

    Increase (B2): ``new ≤ current + floor(unallocated_cards / cards_per_instance)``.
    Decrease (B3): ``new × cards_per_instance ≥ max(cards_in_use, max_queued_task_cards)``,
    i.e. ``new ≥ ceil(max(...) / cards_per_instance)``, and at least 1.
    """
    if cards_per_instance < 1:
        raise ValueError("count bounds are in cards: cards_per_instance must be ≥ 1")
    maximum = current_count + max(0, unallocated_cards) // cards_per_instance
    needed = max(cards_in_use, max_queued_task_cards)
    minimum = max(1, math.ceil(needed / cards_per_instance))
    return CountBounds(minimum, maximum)


def check_instance_count(
    new_count: int,
    *,
    current_count: int,
    cards_per_instance: int,
    unallocated_cards: int,
    cards_in_use: int,
    max_queued_task_cards: int,
) -> int:
    """Reject a resized instance count outside ``count_bounds`` (§6, B2, B3)."""
    b = count_bounds(
        current_count=current_count,
        cards_per_instance=cards_per_instance,
        unallocated_cards=unallocated_cards,
        cards_in_use=cards_in_use,
        max_queued_task_cards=max_queued_task_cards,
    )
    if new_count > b.maximum:
        raise ValidationFailed.field(
            "instance_count",
            f"{new_count} is more than the cluster can still give: at most {b.maximum} "
            f"(current {current_count} + floor({unallocated_cards} unallocated cards / "
            f"{cards_per_instance} per instance)) (§6, B2); lower it or free cards in other "
            "quotas or queues",
        )
    if new_count < b.minimum:
        needed = max(cards_in_use, max_queued_task_cards)
        raise ValidationFailed.field(
            "instance_count",
            f"{new_count} is too few: {new_count} × {cards_per_instance} cards < {needed} cards "
            f"needed (the larger of {cards_in_use} in use and {max_queued_task_cards} for the "
            f"largest queued task) (§6, B3); use at least {b.minimum}",
        )
    return new_count


# -- start / stop / resize / delete (RQ14-RQ16, Q8-Q11) ---------------------------------------


def check_stop(*, kind: PoolKind, name: str, started: bool) -> None:
    """RQ15/Q10: stop blocks new submissions; running tasks go on. Only a started pool."""
    if not started:
        raise Conflict(f"{_label(kind, name)} is already stopped (RQ15)", rule="RQ15")


def check_start(*, kind: PoolKind, name: str, started: bool) -> None:
    """RQ15/Q10: start allows submissions again. Only a stopped pool."""
    if started:
        raise Conflict(f"{_label(kind, name)} is already started (RQ15)", rule="RQ15")


def check_resize(
    *,
    kind: PoolKind,
    name: str,
    started: bool,
    spec_changed: bool,
    running_tasks: int,
    queued_tasks: int,
) -> None:
    """RQ14: a quota is resized only when stopped. RQ14/Q9: the spec may change only while
    no task runs or waits. Count bounds: ``check_instance_count``."""
    label = _label(kind, name)
    if kind == "quota" and started:
        raise Conflict(
            f"{label} must be stopped before it is resized (RQ14): stop it, resize it, "
            "then start it again",
            rule="RQ14",
        )
    if spec_changed and (running_tasks or queued_tasks):
        raise Conflict(
            f"the instance spec of {label} cannot change while it has {running_tasks} running "
            f"and {queued_tasks} queued tasks ({'RQ14' if kind == 'quota' else 'Q9'}): wait "
            "for them to finish or migrate them, or change only the instance count",
            rule="RQ14" if kind == "quota" else "Q9",
        )


def check_delete(*, kind: PoolKind, name: str, started: bool, unfinished_tasks: int) -> None:
    """RQ16/Q11: delete only a stopped pool whose every task has finished."""
    rule = "RQ16" if kind == "quota" else "Q11"
    label = _label(kind, name)
    if started:
        raise Conflict(f"{label} must be stopped before it is deleted ({rule})", rule=rule)
    if unfinished_tasks:
        raise Conflict(
            f"{label} still has {unfinished_tasks} unfinished tasks ({rule}): wait for "
            "completion or migrate tasks, then delete it",
            rule=rule,
        )


# -- submission (RQ17, RQ18, Q3, Q5) ----------------------------------------------------------


def refusal(
    pool: Quota | Queue, workload_type: WorkloadType, workspace_id: str | None
) -> tuple[str, str, str] | None:
    """Why ``pool`` cannot take this workload at all: (field, rule, message), or None.

    Shared by submission checks and admission (which rejects such queued workloads).
    """
    is_quota = isinstance(pool, Quota)
    label = _label("quota" if is_quota else "queue", pool.name)
    if workload_type not in pool.workload_types:
        allowed = ", ".join(sorted(pool.workload_types)) or "none"
        return (
            "workload_type",
            "RQ17" if is_quota else "Q5",
            f"workload type '{workload_type}' is not allowed by {label} (allowed: {allowed}); "
            "pick a quota or queue that allows it",
        )
    if isinstance(pool, Quota):
        if pool.workspace_ids is not None and workspace_id not in pool.workspace_ids:
            return (
                "quota_id",
                "RQ17",
                f"workspace '{workspace_id}' may not use {label}: it is not associated with it",
            )
    elif pool.default_workspace_id is not None and workspace_id != pool.default_workspace_id:
        return (
            "queue_id",
            "Q3",
            f"workspace '{workspace_id}' may not use {label}: only the default workspace may "
            "use queues",
        )
    return None


def check_submission(
    pool: Quota | Queue,
    *,
    workload_type: WorkloadType,
    workspace_id: str | None,
    request: Request,
    max_borrowable: Resources | None = None,
) -> None:
    """Refuse at submission what admission would reject or could never admit.

    ``max_borrowable`` (``usage.max_borrowable``) is added to a borrowing quota's total.
    """
    is_quota = isinstance(pool, Quota)
    label = _label("quota" if is_quota else "queue", pool.name)
    if not pool.started:
        raise Conflict(
            f"{label} is stopped and accepts no new workloads "
            f"({'RQ15, RQ18' if is_quota else 'Q10'}): ask an admin to start it, or pick another",
            rule="RQ18" if is_quota else "Q10",
        )
    found = refusal(pool, workload_type, workspace_id)
    if found is not None:
        field, _rule, message = found
        raise ValidationFailed.field(field, message)
    if pool.total is None:
        return
    want = request.total
    if not want.model_compatible(pool.total):
        raise ValidationFailed.field(
            "resources",
            f"{label} holds {pool.total.gpu_model} cards; the request asks for "
            f"{want.gpu_model} (RQ4): pick a quota of that card model",
        )
    ceiling = pool.total
    if isinstance(pool, Quota) and pool.borrowing and max_borrowable is not None:
        ceiling = ceiling + max_borrowable
    if not want.fits(ceiling):
        borrow = " plus what it may borrow" if ceiling is not pool.total else ""
        raise ValidationFailed.field(
            "resources",
            f"the request ({want.describe()}) is larger than {label} can ever hold "
            f"({ceiling.describe()}: its total{borrow}) (RQ5, RQ10): ask for less, or ask an "
            "admin to resize the quota",
        )
