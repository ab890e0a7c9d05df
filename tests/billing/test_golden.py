"""Every worked example of spec 10 (and spec 09 §3.3's allocation example), reproduced exactly.

Each test names the rule or table it reproduces. A failure here means Hangar disagrees with a
published or derived number the spec makes an acceptance criterion.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from hangar.billing.allocation import AllocationChange, allocated_gpu_hours_for_days
from hangar.billing.arrears import assess_arrears
from hangar.billing.buckets import BucketSource
from hangar.billing.catalog import DEFAULT_CATALOG, PriceList
from hangar.billing.errors import ParallelismExceeded
from hangar.billing.money import Amount, Unit
from hangar.billing.parallelism import CardDemand, check_parallelism, full_card_mixes
from hangar.billing.rating import PriceBook, Usage, hours_covered, rate_usage
from hangar.billing.rules import (
    ACTIVATE_CARRY_OVER,
    CARRY_OVER,
    EXPIRE_ACTIVATED_CARRY_OVER,
    FORFEIT_CARRY_OVER,
)
from hangar.billing.storage import daily_storage_charge
from hangar.billing.subscriptions import (
    Advance,
    Consume,
    GrantTrial,
    GrantVoucher,
    Subscribe,
    Wallet,
    current_plan,
)
from tests.billing.factories import CST, apply, at, bal, cu, dcu, run

CATALOG = DEFAULT_CATALOG
RATE = CATALOG.storage_rate_per_gb_day


# -- §2.5 B-E11: the carry-over timeline ---------------------------------------------------


def test_carry_over_timeline_of_section_2_5() -> None:
    wallet = Wallet.open(at=at(4, 1))

    # 1 Apr: Trial bought, period 1 Apr–30 Apr.
    wallet = apply(wallet, Subscribe(at(4, 1), "trial")).wallet
    assert (bal(wallet).active, bal(wallet).inactive) == (dcu(20), dcu(0))
    assert wallet.period is not None and wallet.period.end == at(5, 1)

    # 30 Apr: end of the period, 10 left (10 consumed during April).
    wallet = apply(wallet, Consume(at(4, 12, 15), dcu(10))).wallet
    wallet = apply(wallet, Advance(at(4, 30, 23, 59, 59))).wallet
    assert (bal(wallet).active, bal(wallet).inactive) == (dcu(10), dcu(0))

    # 1 May: the 10 DCU carry over, inactive, until ~30 May (31 May 00:00 exclusive).
    applied = apply(wallet, Advance(at(5, 1)))
    wallet = applied.wallet
    assert (bal(wallet).active, bal(wallet).inactive) == (dcu(0), dcu(10))
    assert [(t.rule, t.amount) for t in applied.transitions] == [(CARRY_OVER, dcu(10))]
    (carried,) = wallet.buckets
    assert carried.source is BucketSource.CARRY_OVER and carried.carried_once
    assert (carried.valid_from, carried.valid_to) == (at(5, 1), at(5, 31))
    assert current_plan(wallet, catalog=CATALOG).key == "free"

    # 15 May: Basic bought (period 15 May–13 Jun): the 10 DCU activate, 66.6 in all.
    applied = apply(wallet, Subscribe(at(5, 15), "basic"))
    wallet = applied.wallet
    assert (bal(wallet).active, bal(wallet).inactive) == (dcu("66.6"), dcu(0))
    assert (ACTIVATE_CARRY_OVER, dcu(10)) in [(t.rule, t.amount) for t in applied.transitions]
    assert wallet.period is not None and wallet.period.end == at(6, 14)

    # Nothing consumed before 13 Jun: still 66.6 on the last second of 13 Jun.
    wallet = apply(wallet, Advance(at(6, 13, 23, 59, 59))).wallet
    assert bal(wallet).active == dcu("66.6")

    # 14 Jun: the activated 10 expire (not re-carried); Basic's 56.6 carries over, inactive.
    applied = apply(wallet, Advance(at(6, 14)))
    wallet = applied.wallet
    assert (bal(wallet).active, bal(wallet).inactive) == (dcu(0), dcu("56.6"))
    moves = {(t.rule.name, str(t.amount)) for t in applied.transitions}
    assert moves == {
        (EXPIRE_ACTIVATED_CARRY_OVER.name, "10 DCU"),
        (CARRY_OVER.name, "56.6 DCU"),
    }
    (carried,) = wallet.buckets
    assert carried.origin == "basic" and carried.valid_to == at(7, 14)  # until ~13 Jul

    # Acceptance: with no re-subscription before the carry-over ends, it is forfeited.
    applied = apply(wallet, Advance(at(7, 14)))
    assert bal(applied.wallet).active == bal(applied.wallet).inactive == dcu(0)
    assert [(t.rule, t.amount) for t in applied.transitions] == [(FORFEIT_CARRY_OVER, dcu("56.6"))]


# -- §2.4 B-E5 and derived storage examples -----------------------------------------------


def test_storage_example_trial_50_gb_is_0_03_dcu_not_0_003() -> None:
    trial = CATALOG.plan("trial")
    charge = daily_storage_charge(
        day=date(2025, 4, 3),
        peak_gb=Decimal(50),
        free_gb=trial.free_storage_gb,
        rate_per_gb_day=RATE,
    )
    assert charge.billable_gb == 20
    assert charge.amount == dcu("0.03")
    assert charge.amount != dcu("0.003")  # J1: the source's arithmetic error
    assert charge.charge_on == date(2025, 4, 4)  # deducted the next morning (B-E3)


def test_storage_basic_60_4_gb_bills_one_gb() -> None:
    basic = CATALOG.plan("basic")
    charge = daily_storage_charge(
        day=date(2025, 4, 3),
        peak_gb=Decimal("60.4"),
        free_gb=basic.free_storage_gb,
        rate_per_gb_day=RATE,
    )
    assert (charge.billable_gb, charge.amount) == (1, dcu("0.0015"))


def test_storage_advanced_150_gb_for_30_days_is_2_25() -> None:
    advanced = CATALOG.plan("advanced")
    first = date(2025, 4, 1)
    charges = [
        daily_storage_charge(
            day=first + timedelta(days=n),
            peak_gb=Decimal(150),
            free_gb=advanced.free_storage_gb,
            rate_per_gb_day=RATE,
        )
        for n in range(30)
    ]
    assert {c.amount for c in charges} == {dcu("0.075")}
    assert sum((c.amount for c in charges), dcu(0)) == dcu("2.25")


# -- §3 B-T3: the trial month -------------------------------------------------------------


def test_trial_month_250_cu_at_7_cu_per_hour() -> None:
    a10 = CATALOG.card("a10")
    assert hours_covered(balance=cu(250), rate_per_hour=a10.rate_per_hour) == Decimal("35.7")
    assert hours_covered(balance=cu(750), rate_per_hour=a10.rate_per_hour) == Decimal("107.1")

    book = PriceBook.from_catalog(CATALOG, effective_from=at(1, 1))
    wallet = apply(Wallet.open(at=at(1, 1)), GrantTrial(at(1, 1), "notebook-trial")).wallet
    assert bal(wallet, Unit.CU).active == cu(250)
    assert bal(wallet, Unit.CU).scheduled == cu(500)  # two more monthly tranches

    start = at(1, 2, 8)
    for hour in range(35):  # 35 hours: 245 CU, covered
        usage = Usage("a10", 1, start + timedelta(hours=hour), start + timedelta(hours=hour + 1))
        applied = apply(wallet, Consume(usage.end, rate_usage(book, usage).total))
        assert applied.deduction is not None and applied.deduction.shortfall.is_zero
        wallet = applied.wallet
    assert bal(wallet, Unit.CU).active == cu(5)

    # The 36th hour: 36 × 7 = 252 > 250, so 2 CU are billed beyond the grant.
    usage = Usage("a10", 1, start + timedelta(hours=35), start + timedelta(hours=36))
    assert rate_usage(book, usage).total == cu(7)
    applied = apply(wallet, Consume(usage.end, rate_usage(book, usage).total))
    assert applied.deduction is not None
    assert (applied.deduction.covered, applied.deduction.shortfall) == (cu(5), cu(2))
    assert bal(applied.wallet, Unit.CU).arrears == cu(2)

    # The next month's tranche is released, and it does not pay the previous month's overage.
    later = apply(applied.wallet, Advance(at(1, 31))).wallet
    assert bal(later, Unit.CU).active == cu(250)
    assert bal(later, Unit.CU).arrears == cu(2)


# -- §2.4 B-E6: arrears -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owed", "bears", "voucher", "cleanup"),
    [("5", "5", "0", False), ("20", "10", "10", True), ("10", "10", "0", False)],
)
def test_arrears_policy(owed: str, bears: str, voucher: str, cleanup: bool) -> None:
    result = assess_arrears(owed=dcu(owed), threshold=CATALOG.arrears_cleanup_threshold)
    assert (result.user_bears, result.voucher) == (dcu(bears), dcu(voucher))
    assert result.cleanup_allowed is cleanup
    assert result.keep_data and result.keep_accruing


def test_arrears_20_with_the_voucher_leaves_the_user_bearing_10() -> None:
    wallet = run(Wallet.open(at=at(4, 1)), [Subscribe(at(4, 1), "trial")])
    wallet = apply(wallet, Consume(at(4, 20), dcu(40))).wallet  # 20 in the plan, 20 uncovered
    assert bal(wallet).arrears == dcu(20)
    voucher = assess_arrears(owed=bal(wallet).arrears, threshold=dcu(10)).voucher
    wallet = apply(wallet, GrantVoucher(at(4, 21), voucher)).wallet
    assert bal(wallet).arrears == dcu(10)


# -- §2.3: parallelism ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan_key", "allowed"), [("trial", False), ("basic", False), ("advanced", True)]
)
def test_parallelism_1x40g_plus_2x80g_is_5(plan_key: str, allowed: bool) -> None:
    asking = [CardDemand("dc100-40g", 1), CardDemand("dc100-80g", 2)]
    plan = CATALOG.plan(plan_key)
    if allowed:
        assert check_parallelism(plan=plan, running=[], asking=asking, catalog=CATALOG) == 5
    else:
        with pytest.raises(ParallelismExceeded, match=r"1×40G \+ 2×80G \(5\) = 5"):
            check_parallelism(plan=plan, running=[], asking=asking, catalog=CATALOG)


def test_parallelism_refusal_names_the_numbers() -> None:
    with pytest.raises(ParallelismExceeded) as err:
        check_parallelism(
            plan=CATALOG.plan("basic"),
            running=[CardDemand("dc100-80g", 2)],
            asking=[CardDemand("dc100-40g", 1)],
            catalog=CATALOG,
        )
    assert err.value.message.startswith(
        "plan 'Basic' allows parallelism 4; running 2×80G (4) + asking 1×40G (1) = 5"
    )


@pytest.mark.parametrize(
    ("plan_key", "mixes"),
    [
        ("trial", [{"dc100-40g": 2}, {"dc100-80g": 1}]),
        ("basic", [{"dc100-40g": 4}, {"dc100-40g": 2, "dc100-80g": 1}, {"dc100-80g": 2}]),
    ],
)
def test_valid_parallel_configs(plan_key: str, mixes: list[dict[str, int]]) -> None:
    cards = (CATALOG.card("dc100-40g"), CATALOG.card("dc100-80g"))
    cap = CATALOG.plan(plan_key).parallelism
    assert list(full_card_mixes(cap=cap, cards=cards)) == mixes


def test_advanced_mixes_fill_8_units() -> None:
    cards = (CATALOG.card("dc100-40g"), CATALOG.card("dc100-80g"))
    mixes = full_card_mixes(cap=8, cards=cards)
    assert mixes[0] == {"dc100-40g": 8} and mixes[-1] == {"dc100-80g": 4}
    assert all(m.get("dc100-40g", 0) + 2 * m.get("dc100-80g", 0) == 8 for m in mixes)
    assert len(mixes) == 5


# -- §2.6: upgrade --------------------------------------------------------------------------


def test_upgrade_on_day_10_of_basic_with_30_left() -> None:
    wallet = run(Wallet.open(at=at(3, 1)), [Subscribe(at(3, 1), "basic")])
    wallet = apply(wallet, Consume(at(3, 9, 18), dcu("26.6"))).wallet
    assert bal(wallet).active == dcu(30)

    applied = apply(wallet, Subscribe(at(3, 10, 9), "advanced"))
    wallet = applied.wallet
    assert bal(wallet).active == dcu(530)
    assert current_plan(wallet, catalog=CATALOG).parallelism == 8  # J5: immediately
    assert wallet.period is not None and wallet.period.start == at(3, 10, 9)
    new_end = at(3, 10, 9) + timedelta(days=30)
    basic = next(b for b in wallet.buckets if b.origin == "basic")
    assert basic.valid_to == wallet.period.end == new_end  # refreshed in step (B-E12)
    assert [t.rule.name for t in applied.transitions] == ["refresh_on_upgrade", "upgrade_plan"]

    # Deduction uses Basic's 30 first (lower tier), then Advanced's.
    deduction = apply(wallet, Consume(at(3, 11), dcu(40))).deduction
    assert deduction is not None
    assert [(t.origin, t.amount) for t in deduction.takes] == [
        ("basic", dcu(30)),
        ("advanced", dcu(10)),
    ]

    # After the new period, both remainders enter carry-over.
    later = apply(wallet, Advance(new_end)).wallet
    assert bal(later).inactive == dcu(530)
    assert {b.source for b in later.buckets} == {BucketSource.CARRY_OVER}


# -- §2.3: derived hours per plan, §2.2: derived effective prices ---------------------------


@pytest.mark.parametrize(
    ("compute", "hours_40g", "hours_80g"),
    [
        (CATALOG.plan("trial").compute, "15.6", "7.8"),
        (CATALOG.plan("basic").compute, "44.2", "22.1"),
        (CATALOG.plan("advanced").compute, "390.6", "195.3"),
        (CATALOG.extension_pack("extension-10").compute, "7.8", "3.9"),
    ],
)
def test_derived_hours_per_plan(compute: Amount | None, hours_40g: str, hours_80g: str) -> None:
    assert compute is not None
    for card, expected in (("dc100-40g", hours_40g), ("dc100-80g", hours_80g)):
        rate = CATALOG.card(card).rate_per_hour
        assert hours_covered(balance=compute, rate_per_hour=rate) == Decimal(expected)


@pytest.mark.parametrize(
    ("key", "standard", "education"),
    [
        ("trial", "6.75", "5.95"),
        ("basic", "6.45", "5.74"),
        ("advanced", "6.20", "5.50"),
        ("extension-10", "6.75", "5.95"),
    ],
)
def test_derived_effective_prices(key: str, standard: str, education: str) -> None:
    item = CATALOG.extension_pack(key) if key.startswith("extension") else CATALOG.plan(key)
    assert item.unit_price(PriceList.STANDARD) == Decimal(standard)
    assert item.unit_price(PriceList.EDUCATION) == Decimal(education)


# -- spec 09 §3.3: allocated GPU-hours ------------------------------------------------------


def test_allocated_gpu_hours_1_card_then_2_cards_is_72() -> None:
    changes = [
        AllocationChange(at(1, 1), Decimal(1)),
        AllocationChange(at(1, 2), Decimal(2)),
    ]
    hours = allocated_gpu_hours_for_days(
        changes, first_day=date(2025, 1, 1), last_day=date(2025, 1, 2), tz=CST
    )
    assert hours == Decimal(72)
