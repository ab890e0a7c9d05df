"""Per-second rating, price versions with effective times, vGPU fractions (J4, I1)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, localcontext

import pytest

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Unit, invoice_total
from hangar.billing.rating import (
    PriceBook,
    PriceVersion,
    Usage,
    hour_windows,
    hours_covered,
    rate_usage,
    vgpu_fraction,
)
from hangar.errors import ValidationFailed
from tests.billing.factories import at, cny, cu, dcu

BOOK = PriceBook.from_catalog(DEFAULT_CATALOG, effective_from=at(1, 1))


def usage(card: str, start_hour: int, end_hour: int, count: int = 1, **kw: Decimal) -> Usage:
    return Usage(card, count, at(3, 1, start_hour), at(3, 1, end_hour), **kw)


def test_one_hour_of_each_card() -> None:
    assert rate_usage(BOOK, usage("dc100-40g", 10, 11)).total == dcu("1.28")
    assert rate_usage(BOOK, usage("dc100-80g", 10, 12, count=2)).total == dcu("10.24")


def test_per_second_precision() -> None:
    one_second = Usage("dc100-40g", 1, at(3, 1, 10), at(3, 1, 10, 0, 1))
    rating = rate_usage(BOOK, one_second)
    assert (rating.seconds, rating.total) == (1, dcu("0.000356"))  # 1.28 / 3600, half up
    ninety_minutes = Usage("dc100-80g", 2, at(3, 1, 10), at(3, 1, 11, 30))
    assert rate_usage(BOOK, ninety_minutes).total == dcu("7.68")


def test_sub_second_timestamps_count_whole_seconds() -> None:
    start = at(3, 1, 10) + timedelta(microseconds=700_000)
    end = at(3, 1, 10, 0, 1) + timedelta(microseconds=200_000)
    assert rate_usage(BOOK, Usage("dc100-40g", 1, start, end)).seconds == 1


def test_zero_length_usage_costs_nothing() -> None:
    rating = rate_usage(BOOK, Usage("dc100-40g", 1, at(3, 1, 10), at(3, 1, 10)))
    assert (rating.parts, rating.total) == ((), dcu(0))


def test_vgpu_slice_is_billed_by_vram_share() -> None:
    fraction = vgpu_fraction(slice_vram_gb=Decimal(10), card_vram_gb=Decimal(40))
    assert fraction == Decimal("0.25")
    assert rate_usage(BOOK, usage("dc100-40g", 10, 11, fraction=fraction)).total == dcu("0.32")
    with pytest.raises(ValidationFailed) as err:
        vgpu_fraction(slice_vram_gb=Decimal(50), card_vram_gb=Decimal(40))
    assert err.value.fields == {
        "slice_vram_gb": "must be greater than 0 and at most the card's 40 GB (got 50 GB)"
    }


def test_price_change_splits_the_interval_and_is_not_retroactive() -> None:
    change = PriceVersion("dc100-40g", dcu("1.5"), at(3, 1, 11))
    book = BOOK.with_version(change, now=at(2, 20))
    rating = rate_usage(book, usage("dc100-40g", 10, 12))
    assert [(p.start, p.end, p.amount) for p in rating.parts] == [
        (at(3, 1, 10), at(3, 1, 11), dcu("1.28")),
        (at(3, 1, 11), at(3, 1, 12), dcu("1.5")),
    ]
    assert rating.total == dcu("2.78")
    # Usage wholly before the change keeps the old price.
    assert rate_usage(book, usage("dc100-40g", 9, 10)).total == dcu("1.28")
    with pytest.raises(ValidationFailed) as err:
        BOOK.with_version(change, now=at(3, 1, 12))
    assert "never retroactively" in err.value.fields["effective_from"]


def test_overlapping_versions_are_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        PriceBook(
            (
                PriceVersion("dc100-40g", dcu("1.28"), at(1, 1), at(3, 1)),
                PriceVersion("dc100-40g", dcu("1.5"), at(2, 1)),
            )
        )
    assert "must not overlap" in err.value.fields["price_versions['dc100-40g'].effective_from"]
    with pytest.raises(ValidationFailed, match="two versions start at"):
        PriceBook(
            (
                PriceVersion("dc100-40g", dcu("1.28"), at(1, 1)),
                PriceVersion("dc100-40g", dcu("1.5"), at(1, 1)),
            )
        )


def test_one_card_is_priced_in_one_unit() -> None:
    with pytest.raises(ValidationFailed, match="is in CNY but an earlier version is in DCU"):
        PriceBook(
            (
                PriceVersion("dc100-40g", dcu("1.28"), at(1, 1)),
                PriceVersion("dc100-40g", cny("9"), at(2, 1)),
            )
        )


def test_gaps_and_unknown_cards_are_errors() -> None:
    book = PriceBook(
        (
            PriceVersion("dc100-40g", dcu("1.28"), at(3, 1, 0), at(3, 1, 10)),
            PriceVersion("dc100-40g", dcu("1.5"), at(3, 1, 12)),
        )
    )
    with pytest.raises(ValidationFailed, match="no price for card model 'dc100-40g' from"):
        rate_usage(book, usage("dc100-40g", 9, 13))
    with pytest.raises(ValidationFailed, match="no price for card model 'dc100-40g' from"):
        rate_usage(BOOK, Usage("dc100-40g", 1, at(1, 1) - timedelta(hours=1), at(1, 1, 1)))
    with pytest.raises(ValidationFailed) as err:
        rate_usage(BOOK, usage("h100", 9, 10))
    assert err.value.fields == {
        "card": "no price for card model 'h100'; priced: a10, dc100-40g, dc100-80g"
    }
    ended = PriceBook((PriceVersion("a10", cu(7), at(3, 1, 0), at(3, 1, 10)),))
    with pytest.raises(ValidationFailed, match="no price for card model 'a10' after"):
        rate_usage(ended, usage("a10", 9, 11))


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"count": 0}, "count"),
        ({"fraction": Decimal("1.5")}, "fraction"),
        ({"fraction": Decimal(0)}, "fraction"),
        ({"end": at(3, 1, 9)}, "end"),
    ],
)
def test_bad_usage(kw: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {
        "card_key": "dc100-40g",
        "count": 1,
        "start": at(3, 1, 10),
        "end": at(3, 1, 11),
    }
    with pytest.raises(ValidationFailed) as err:
        Usage(**{**fields, **kw})  # type: ignore[arg-type]
    assert field in err.value.fields


def test_negative_price_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        PriceVersion("dc100-40g", dcu("-1"), at(1, 1))
    assert err.value.fields == {
        "price_versions['dc100-40g'].rate_per_hour": "must not be negative (got -1 DCU)"
    }


def test_hourly_settlement_rounds_the_hour_total_once() -> None:
    windows = hour_windows(at(3, 1, 9, 30), at(3, 1, 11, 15))
    assert windows == (
        (at(3, 1, 9, 30), at(3, 1, 10)),
        (at(3, 1, 10), at(3, 1, 11)),
        (at(3, 1, 11), at(3, 1, 11, 15)),
    )
    # Three 40G runs of 7 minutes each in one hour: 3 × 0.149333 = 0.448 → 0.45.
    lines = [
        rate_usage(BOOK, Usage("dc100-40g", 1, at(3, 1, 10, m), at(3, 1, 10, m + 7))).total
        for m in (0, 10, 20)
    ]
    assert lines == [dcu("0.149333")] * 3
    assert invoice_total(lines, unit=Unit.DCU) == dcu("0.45")


def test_rating_ignores_the_thread_decimal_context() -> None:
    expected = rate_usage(BOOK, Usage("dc100-40g", 3, at(3, 1, 10), at(3, 1, 10, 17, 23)))
    with localcontext() as ctx:
        ctx.prec = 4
        again = rate_usage(BOOK, Usage("dc100-40g", 3, at(3, 1, 10), at(3, 1, 10, 17, 23)))
    assert again == expected


def test_hours_covered_rounds_down_and_refuses_a_zero_rate() -> None:
    assert hours_covered(balance=dcu("2.559999"), rate_per_hour=dcu("2.56")) == Decimal("0.9")
    with pytest.raises(ValidationFailed, match="rate_per_hour: must be greater than zero"):
        hours_covered(balance=dcu(1), rate_per_hour=dcu(0))
