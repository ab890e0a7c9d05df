"""The plan table as replaceable data (spec 10 §2.2, §2.3): lookups and validation."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from hangar.billing.catalog import DEFAULT_CATALOG, CardModel, Catalog, Plan, PriceList
from hangar.billing.errors import UnitMismatch
from hangar.billing.money import Unit
from hangar.errors import ValidationFailed
from tests.billing.factories import cny, dcu

CATALOG = DEFAULT_CATALOG


def test_default_plan_table() -> None:
    rows = [
        (
            p.key,
            p.compute,
            p.parallelism,
            p.free_storage_gb,
            p.max_storage_gb,
            p.price,
            p.price_education,
        )
        for p in CATALOG.plans
    ]
    assert rows == [
        ("free", None, 0, 30, 30, None, None),
        ("trial", dcu(20), 2, 30, 500, cny(135), cny(119)),
        ("basic", dcu("56.6"), 4, 60, 500, cny(365), cny(325)),
        ("advanced", dcu(500), 8, 100, 2048, cny(3100), cny(2750)),
    ]
    pack = CATALOG.extension_pack("extension-10")
    assert (pack.compute, pack.price, pack.price_education) == (dcu(10), cny("67.5"), cny("59.5"))
    assert [(c.label, c.rate_per_hour, c.parallelism_weight) for c in CATALOG.cards[:2]] == [
        ("40G", dcu("1.28"), 1),
        ("80G", dcu("2.56"), 2),
    ]
    assert [p.key for p in CATALOG.subscribable_plans] == ["trial", "basic", "advanced"]
    assert not CATALOG.free_plan.storage_expandable
    assert CATALOG.storage_rate_per_gb_day == dcu("0.0015")
    assert CATALOG.trial_grant("notebook-trial").total.value == Decimal(750)


@pytest.mark.parametrize(
    ("lookup", "field", "message"),
    [
        (
            lambda: CATALOG.plan("gold"),
            "plan",
            "unknown plan 'gold'; known: free, trial, basic, advanced",
        ),
        (
            lambda: CATALOG.card("h100"),
            "card",
            "unknown card model 'h100'; known: dc100-40g, dc100-80g, a10",
        ),
        (
            lambda: CATALOG.extension_pack("x"),
            "extension_pack",
            "unknown extension pack 'x'; known: extension-10",
        ),
        (
            lambda: CATALOG.trial_grant("x"),
            "trial_grant",
            "unknown trial grant 'x'; known: notebook-trial",
        ),
    ],
)
def test_unknown_items_are_named(lookup: object, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        lookup()  # type: ignore[operator]
    assert err.value.fields == {field: message}


def test_the_free_plan_has_no_price() -> None:
    with pytest.raises(ValidationFailed, match="plan 'Free' has no standard price"):
        CATALOG.free_plan.price_for(PriceList.STANDARD)


def _plan(**changes: object) -> Plan:
    return dataclasses.replace(CATALOG.plan("basic"), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"compute": dcu(-1)}, "plans['basic'].compute", "must be greater than zero"),
        ({"parallelism": -1}, "plans['basic'].parallelism", "must be a whole number ≥ 0"),
        (
            {"free_storage_gb": Decimal(-1)},
            "plans['basic'].free_storage_gb",
            "must not be negative",
        ),
        ({"max_storage_gb": Decimal(10)}, "plans['basic'].max_storage_gb", "at least the free"),
        ({"price": cny(-1)}, "plans['basic'].price", "must not be negative"),
        ({"price": None}, "plans['basic'].price", "both compute and a price"),
        ({"key": "my plan"}, "plans['my plan'].key", "without spaces"),
    ],
)
def test_bad_plans_name_the_field_and_rule(
    changes: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        _plan(**changes)
    assert rule in err.value.fields[field]


def test_plan_prices_are_currency_and_compute_is_units() -> None:
    with pytest.raises(
        UnitMismatch, match=re.escape("plans['basic'].price: must be a currency amount")
    ):
        _plan(price=dcu(365))
    with pytest.raises(
        UnitMismatch, match=re.escape("plans['basic'].compute: must be in compute units")
    ):
        _plan(compute=cny(56))


def test_card_weight_must_be_at_least_one() -> None:
    with pytest.raises(ValidationFailed) as err:
        CardModel("x", "X", "X", Decimal(40), dcu(1), 0)
    assert err.value.fields == {
        "cards['x'].parallelism_weight": "must be a whole number of at least 1 (got 0)"
    }


def test_catalog_tiers_must_ascend() -> None:
    plans = CATALOG.plans
    with pytest.raises(
        ValidationFailed, match="'basic' \\(tier 2\\) follows 'advanced' \\(tier 3\\)"
    ):
        dataclasses.replace(CATALOG, plans=(plans[0], plans[1], plans[3], plans[2]))


def test_catalog_keys_must_be_unique() -> None:
    cards = CATALOG.cards
    with pytest.raises(ValidationFailed, match="key 'dc100-40g' appears twice"):
        dataclasses.replace(CATALOG, cards=(cards[0], cards[0]))


def test_catalog_plan_compute_must_be_in_the_plan_unit() -> None:
    with pytest.raises(UnitMismatch, match=re.escape("plans['trial'].compute: must be in CU")):
        dataclasses.replace(CATALOG, plan_unit=Unit.CU)


def test_catalog_needs_its_free_plan() -> None:
    with pytest.raises(ValidationFailed, match="unknown plan 'basic-free'"):
        dataclasses.replace(CATALOG, free_plan_key="basic-free")
    with pytest.raises(ValidationFailed, match="plan 'basic' has a price"):
        dataclasses.replace(CATALOG, free_plan_key="basic")


def test_catalog_period_days_must_be_positive() -> None:
    with pytest.raises(ValidationFailed, match="plan_period_days: must be a whole number of days"):
        dataclasses.replace(CATALOG, plan_period_days=0)


def test_an_admin_catalog_replaces_the_default() -> None:
    gold = Plan("gold", "Gold", 9, dcu(1000), 16, Decimal(200), Decimal(4096), cny(5000), cny(4500))
    custom = Catalog(
        plans=(*CATALOG.plans, gold), extension_packs=(), cards=CATALOG.cards, plan_period_days=7
    )
    assert custom.plan("gold").unit_price(PriceList.EDUCATION) == Decimal("4.50")
    assert isinstance(custom, Catalog)
