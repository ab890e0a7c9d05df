"""Field rules of quota and queue forms (spec 02 Q4, RQ3, RQ4, RQ10), each naming the field,
the rule and the fix. Weights, card counts and resize bounds are the scheduler's rules
(:mod:`hangar.scheduling.rules`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hangar.errors import ValidationFailed
from hangar.resources.types import Policy, WorkloadType

NAME_MAX = 200
QUOTA_DESCRIPTION_MAX = 128
QUEUE_DESCRIPTION_MAX = 500
_NAME_CHAR = re.compile(r"[A-Za-z0-9\u4e00-\u9fff_-]")
_ALLOWED = "letters (A-Z, a-z), Chinese characters, digits, '-' and '_'"


def check_name(name: str, field: str = "name") -> str:
    """Q4/RQ3: 1-200 visible characters: letters, Chinese, digits, ``-``, ``_``."""
    if not name:
        raise ValidationFailed.field(field, f"is required: 1-{NAME_MAX} characters of {_ALLOWED}")
    if len(name) > NAME_MAX:
        raise ValidationFailed.field(
            field, f"must be at most {NAME_MAX} characters (got {len(name)}); shorten it"
        )
    bad = sorted({c for c in name if not _NAME_CHAR.fullmatch(c)})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise ValidationFailed.field(
            field, f"may contain only {_ALLOWED} (found {shown}); remove or replace them"
        )
    return name


def check_description(value: str, limit: int, field: str = "description") -> str:
    """Optional; when given, 1-``limit`` characters (RQ3: 128 for quotas, Q4: 500 for queues)."""
    if len(value) > limit:
        raise ValidationFailed.field(
            field, f"must be at most {limit} characters (got {len(value)}); shorten it"
        )
    return value


def check_workload_types(values: Iterable[str], field: str = "workload_types") -> list[str]:
    """At least one type, each from the decision-B1 enum; returned sorted and unique."""
    allowed = [t.value for t in WorkloadType]
    chosen = sorted(set(values))
    if not chosen:
        raise ValidationFailed.field(
            field, f"pick at least one workload type from: {', '.join(allowed)}"
        )
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise ValidationFailed.field(
            field,
            f"unknown workload type(s) {', '.join(repr(v) for v in unknown)}; "
            f"pick from: {', '.join(allowed)}",
        )
    return chosen


def check_count(count: int, field: str = "instance_count") -> int:
    if count < 1:
        raise ValidationFailed.field(field, f"must be at least 1 (got {count})")
    return count


def check_policy(policy: str, field: str = "policy") -> str:
    """One of the admission policies: 'fifo' (RQ10, the default) or 'best_effort'."""
    allowed = [p.value for p in Policy]
    if policy not in allowed:
        raise ValidationFailed.field(
            field,
            f"'{policy}' is not a scheduling policy; pick one of "
            f"{', '.join(repr(p) for p in allowed)} ('fifo' is strict FIFO, RQ10)",
        )
    return policy
