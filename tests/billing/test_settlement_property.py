"""Property: for random usage and price histories, the ledger is usage × price.

Hypothesis draws a price history for one card model (1–4 versions, random rates in CNY or
DCU, changes at random seconds) and a few usage intervals (random starts, lengths, card
counts, some still open). Settlement runs on a real database through the server's code; the
expectation is computed independently here, second by second, with exact fractions:

- Σ ledger lines = Σ cards × rate(t) over every used second / 3600, to within half a line
  quantum per line, so the invoice total (rounded once to 0.01) is the exact one to the cent;
- every line names a price version in force over its whole period;
- settling again (with a lookback over the whole history) adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from hangar.billing.money import Unit
from hangar.billing.orm import LedgerEntry, PriceVersionRow, SettlementMark
from hangar.billing.settlement import LINE_QUANTUM, settle
from hangar.db.engine import transaction
from hangar.workloads.orm import UsageInterval
from tests.billing.test_settlement import price, usage
from tests.jobs.support import quiet_hangar
from tests.support import Hangar

T0 = datetime(2026, 5, 1, tzinfo=UTC)
HORIZON = 8 * 3600  # seconds of history; settlement runs at T0 + 9 h
MODEL = "dc100-40g"


@dataclass(frozen=True)
class Interval:
    start: int  # seconds after T0
    length: int | None  # None: still open at settlement time
    cards: int


rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("50"), places=4)
intervals = st.builds(
    Interval,
    start=st.integers(0, HORIZON - 1),
    length=st.one_of(st.none(), st.integers(1, 3 * 3600)),
    cards=st.integers(1, 8),
)
histories = st.tuples(
    rates,
    st.lists(st.tuples(st.integers(1, HORIZON), rates), max_size=3, unique_by=lambda v: v[0]),
)


@pytest.fixture(scope="module")
def hangar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hangar]:
    home = tmp_path_factory.mktemp("property") / "home"
    with quiet_hangar(home, f"sqlite:///{home.parent / 'db.sqlite'}") as h:
        yield h


def reset(h: Hangar) -> None:
    with transaction(h.state.sessions) as session:
        for table in (LedgerEntry, UsageInterval, PriceVersionRow, SettlementMark):
            session.execute(delete(table))


def expected_total(
    changes: list[tuple[int, Decimal]], used: list[Interval], now: int
) -> tuple[Fraction, int]:
    """The exact Σ cards × rate × seconds / 3600, and the number of (hour, version) pieces."""
    bounds = sorted(changes)
    exact = Fraction(0)
    pieces = 0
    for interval in used:
        end = now if interval.length is None else min(interval.start + interval.length, now)
        cuts = {interval.start, end}
        cuts |= {at for at, _ in bounds if interval.start < at < end}
        cuts |= {h * 3600 for h in range(interval.start // 3600 + 1, end // 3600 + 1)}
        ordered = sorted(c for c in cuts if interval.start <= c <= end)
        for lo, hi in pairwise(ordered):
            rate = next(r for at, r in reversed(bounds) if at <= lo)
            exact += Fraction(rate) * interval.cards * (hi - lo) / 3600
            pieces += 1
    return exact, pieces


def cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories, used=st.lists(intervals, min_size=1, max_size=5), cny=st.booleans())
def test_ledger_is_usage_times_price_and_settling_again_adds_nothing(
    hangar: Hangar,
    history: tuple[Decimal, list[tuple[int, Decimal]]],
    used: list[Interval],
    cny: bool,
) -> None:
    reset(hangar)
    unit = Unit.CNY if cny else Unit.DCU
    first, later = history
    changes = sorted([(0, first), *later])
    for at, rate in changes:
        price(hangar, MODEL, str(rate), T0 + timedelta(seconds=at), unit)
    for index, interval in enumerate(used):
        start = T0 + timedelta(seconds=interval.start)
        end = None if interval.length is None else start + timedelta(seconds=interval.length)
        usage(hangar, f"p{index}", start, end, gpus=interval.cards, gpu_model=MODEL)
    now = HORIZON + 3600

    settle(hangar.state.sessions, now=T0 + timedelta(seconds=now))

    with hangar.state.sessions() as session:
        rows = session.scalars(select(LedgerEntry)).all()
        versions = {
            row.id: row.effective_from.astimezone(UTC)
            for row in session.scalars(select(PriceVersionRow))
        }
    exact, pieces = expected_total(changes, used, (now // 3600) * 3600)
    billed = sum((Fraction(Decimal(row.amount)) for row in rows), Fraction(0))
    assert {row.unit for row in rows} <= {unit.value}
    assert len(rows) == pieces
    assert abs(billed - exact) <= Fraction(LINE_QUANTUM) / 2 * len(rows)
    slack = Fraction(LINE_QUANTUM) / 2 * len(rows)
    if cents(exact - slack) == cents(exact + slack):  # not within rounding of a half cent
        assert cents(billed) == cents(exact)
    for row in rows:
        assert versions[row.price_version_id or ""] <= row.period_start.astimezone(UTC)
    assert sum(row.seconds for row in rows) == sum(
        min(i.start + (i.length or now), (now // 3600) * 3600) - i.start for i in used
    )

    again = settle(
        hangar.state.sessions,
        now=T0 + timedelta(seconds=now),
        lookback=timedelta(seconds=now + 3600),
    )
    assert again == 0
    with hangar.state.sessions() as session:
        assert len(session.scalars(select(LedgerEntry)).all()) == len(rows)
