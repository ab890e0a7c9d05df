"""Used GPU-hours (spec 09 §3.3, decision I1): pure aggregation over usage intervals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from hangar.billing.usage import (
    DayRange,
    UserUsage,
    WorkspaceUsage,
    by_user,
    by_workspace,
    check_range,
    rounded,
)
from hangar.errors import ValidationFailed

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)
DAYS = DayRange(first=date(2026, 1, 1), last=date(2026, 1, 2))  # [Jan 1 00:00, Jan 3 00:00)


@dataclass(frozen=True)
class Iv:
    started_at: datetime
    ended_at: datetime | None
    gpus: int = 1
    gpu_milli: int = 0
    gpu_model: str = "A100"
    workspace_id: str = "ws1"
    user_id: str | None = "u1"


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def test_an_interval_is_clipped_to_the_closed_day_range() -> None:
    before = Iv(JAN_1 - hours(5), JAN_1 + hours(2), gpus=2)  # 2 cards × 2 h inside
    after = Iv(JAN_1 + hours(47), JAN_1 + hours(60))  # 1 h inside (Jan 2 23:00–24:00)
    outside = Iv(JAN_1 + hours(48), JAN_1 + hours(50))  # Jan 3: not in the range
    rows = by_workspace([before, after, outside], DAYS, now=NOW)
    assert rows == [WorkspaceUsage("ws1", "A100", Decimal(5))]


def test_a_vgpu_share_counts_as_a_fraction_of_a_card() -> None:
    rows = by_workspace([Iv(JAN_1, JAN_1 + hours(2), gpus=0, gpu_milli=455)], DAYS, now=NOW)
    assert rows == [WorkspaceUsage("ws1", "A100", Decimal("0.910"))]
    assert str(rounded(rows[0].gpu_hours)) == "0.91"


def test_an_open_interval_counts_up_to_now() -> None:
    now = (
        JAN_1
        + hours(
            1,
        )
        + timedelta(minutes=30)
    )
    rows = by_workspace([Iv(JAN_1, None, gpus=4)], DAYS, now=now)
    assert rows == [WorkspaceUsage("ws1", "A100", Decimal(6))]


def test_rows_per_workspace_and_card_model_and_per_user() -> None:
    # Deleted workloads keep their intervals: nothing here knows about workloads at all.
    ivs = [
        Iv(JAN_1, JAN_1 + hours(10), gpu_model="L40S"),
        Iv(JAN_1, JAN_1 + hours(20), gpu_model="A100"),
        Iv(JAN_1, JAN_1 + hours(1), workspace_id="ws2", user_id=None),
        Iv(JAN_1, JAN_1 + hours(3), gpus=0),  # CPU only: no GPU-hours, no row
    ]
    assert by_workspace(ivs, DAYS, now=NOW) == [
        WorkspaceUsage("ws1", "A100", Decimal(20)),
        WorkspaceUsage("ws1", "L40S", Decimal(10)),
        WorkspaceUsage("ws2", "A100", Decimal(1)),
    ]
    assert by_user(ivs, DAYS, now=NOW) == [
        UserUsage(None, Decimal(1)),
        UserUsage("u1", Decimal(30)),
    ]


def test_exact_sums_are_rounded_once_half_up() -> None:
    third = Iv(JAN_1, JAN_1 + timedelta(minutes=20))  # 1/3 h each
    rows = by_workspace([third, third, third], DAYS, now=NOW)
    assert rounded(rows[0].gpu_hours) == Decimal("1.00")
    assert rounded(Decimal("0.005")) == Decimal("0.01")


def test_the_range_defaults_to_the_last_seven_days() -> None:
    days = check_range(first=None, last=None, today=date(2026, 1, 10))
    assert (days.first, days.last) == (date(2026, 1, 4), date(2026, 1, 10))
    assert days.end - days.start == timedelta(days=7)


@pytest.mark.parametrize(
    ("first", "last", "field", "rule"),
    [
        (date(2026, 1, 1), date(2026, 1, 11), "end", "future"),
        (date(2026, 1, 5), date(2026, 1, 4), "start", "after end"),
        (date(2025, 7, 14), date(2026, 1, 1), "start", "last 180 days"),
    ],
)
def test_a_range_outside_the_last_180_days_is_refused(
    first: date, last: date, field: str, rule: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        check_range(first=first, last=last, today=date(2026, 1, 10))
    assert field in err.value.fields and rule in str(err.value)


def test_the_oldest_allowed_day_is_179_days_before_today() -> None:
    days = check_range(first=date(2025, 7, 15), last=None, today=date(2026, 1, 10))
    assert days.first == date(2025, 7, 15)
