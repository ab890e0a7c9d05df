"""The wallet state machine beyond the worked examples: renewals, downgrades, extension packs,
arrears, trial tranches, boundaries at exact instants and bad input (spec 10 §2.5-§2.6, §3,
decisions J3, J5)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from hangar.billing.buckets import BucketSource
from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.errors import UnitMismatch, WalletConflict
from hangar.billing.money import Unit
from hangar.billing.rules import BucketState, bucket_state
from hangar.billing.subscriptions import (
    Advance,
    BuyExtension,
    Consume,
    GrantTrial,
    GrantVoucher,
    PayArrears,
    Subscribe,
    Wallet,
    WalletEvent,
    apply_event,
    current_plan,
    replay,
)
from hangar.errors import ValidationFailed
from tests.billing.factories import apply, at, bal, cny, cu, dcu, run

CATALOG = DEFAULT_CATALOG


def basic_from_1_mar(*more: WalletEvent) -> Wallet:
    return run(Wallet.open(at=at(3, 1)), [Subscribe(at(3, 1), "basic"), *more])


# -- renewals and downgrades (B-E13) -------------------------------------------------------


def test_same_plan_renewal_is_queued_and_unusable_until_the_period_ends() -> None:
    wallet = basic_from_1_mar(Consume(at(3, 5), dcu("46.6")), Subscribe(at(3, 20), "basic"))
    assert [(q.plan_key, q.starts_at) for q in wallet.queued] == [("basic", at(3, 31))]
    assert (bal(wallet).active, bal(wallet).scheduled) == (dcu(10), dcu("56.6"))

    applied = apply(wallet, Consume(at(3, 25), dcu(15)))  # next period's compute is not usable
    assert applied.deduction is not None and applied.deduction.shortfall == dcu(5)

    # At the period end the renewal starts and activates the carry-over it meets (B-E10).
    renewed = apply(wallet, Advance(at(3, 31))).wallet
    assert (bal(renewed).active, bal(renewed).inactive) == (dcu("66.6"), dcu(0))
    carried = next(b for b in renewed.buckets if b.source is BucketSource.CARRY_OVER)
    assert carried.active and carried.carried_once and carried.valid_to == at(4, 30)
    assert bucket_state(carried, at=at(4, 29)) is BucketState.ACTIVE
    assert bucket_state(carried, at=at(4, 30)) is BucketState.EXPIRED
    assert renewed.queued == ()


def test_a_second_renewal_queues_after_the_first() -> None:
    wallet = basic_from_1_mar(Subscribe(at(3, 2), "basic"), Subscribe(at(3, 3), "trial"))
    assert [q.starts_at for q in wallet.queued] == [at(3, 31), at(4, 30)]
    later = apply(wallet, Advance(at(4, 30))).wallet
    assert current_plan(later, catalog=CATALOG).key == "trial"


def test_downgrade_keeps_the_higher_parallelism_until_the_period_ends() -> None:
    wallet = run(
        Wallet.open(at=at(3, 1)), [Subscribe(at(3, 1), "advanced"), Subscribe(at(3, 2), "basic")]
    )
    assert current_plan(wallet, catalog=CATALOG).parallelism == 8
    later = apply(wallet, Advance(at(3, 31))).wallet
    assert current_plan(later, catalog=CATALOG).parallelism == 4
    # Advanced's 500 carried over and was activated by Basic, on top of Basic's 56.6.
    assert bal(later).active == dcu("556.6")


def test_upgrade_moves_queued_plans_after_the_new_period() -> None:
    wallet = basic_from_1_mar(Subscribe(at(3, 2), "basic"), Subscribe(at(3, 10), "advanced"))
    assert [q.starts_at for q in wallet.queued] == [at(4, 9)]


def test_activated_carry_over_is_refreshed_by_an_upgrade_and_then_expires() -> None:
    wallet = run(
        Wallet.open(at=at(4, 1)),
        [Subscribe(at(4, 1), "trial"), Advance(at(5, 1)), Subscribe(at(5, 2), "basic")],
    )
    wallet = apply(wallet, Subscribe(at(5, 20), "advanced")).wallet
    carried = next(b for b in wallet.buckets if b.source is BucketSource.CARRY_OVER)
    assert carried.valid_to == at(6, 19)
    after = apply(wallet, Advance(at(6, 19))).wallet
    assert {b.origin for b in after.buckets} == {"basic", "advanced"}  # trial's 20 is gone
    assert bal(after).inactive == dcu("556.6")


def test_the_free_plan_cannot_be_subscribed_to() -> None:
    with pytest.raises(ValidationFailed) as err:
        apply(Wallet.open(at=at(3, 1)), Subscribe(at(3, 1), "free"))
    assert err.value.fields == {"plan": "plan 'Free' is free and cannot be subscribed to"}


def test_unknown_plan_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="unknown plan 'gold'"):
        apply(Wallet.open(at=at(3, 1)), Subscribe(at(3, 1), "gold"))


# -- boundaries at exact instants ----------------------------------------------------------


def test_subscribing_at_the_exact_period_end_activates_the_fresh_carry_over() -> None:
    wallet = run(Wallet.open(at=at(4, 1)), [Subscribe(at(4, 1), "trial")])
    wallet = apply(wallet, Subscribe(at(5, 1), "trial")).wallet
    assert bal(wallet).active == dcu(40)


def test_carry_over_ends_exclusively() -> None:
    carried = run(Wallet.open(at=at(4, 1)), [Subscribe(at(4, 1), "trial"), Advance(at(5, 1))])
    just_in = apply(carried, Subscribe(at(5, 30, 23, 59, 59), "basic")).wallet
    assert bal(just_in).active == dcu("76.6")
    too_late = apply(carried, Subscribe(at(5, 31), "basic")).wallet
    assert bal(too_late).active == dcu("56.6")


def test_an_empty_plan_leaves_nothing_to_carry() -> None:
    wallet = run(
        Wallet.open(at=at(4, 1)), [Subscribe(at(4, 1), "trial"), Consume(at(4, 2), dcu(20))]
    )
    applied = apply(wallet, Advance(at(5, 1)))
    assert applied.wallet.buckets == ()
    assert [t.rule.name for t in applied.transitions] == ["close_empty"]


def test_inactive_carry_over_cannot_be_consumed() -> None:
    wallet = run(Wallet.open(at=at(4, 1)), [Subscribe(at(4, 1), "trial"), Advance(at(5, 2))])
    applied = apply(wallet, Consume(at(5, 3), dcu(1)))
    assert applied.deduction is not None and applied.deduction.shortfall == dcu(1)
    assert bal(applied.wallet).inactive == dcu(20)


# -- extension packs (J3) and the deduction order (B-E14) -----------------------------------


def test_deduction_order_carry_over_then_extension_then_plan() -> None:
    wallet = run(
        Wallet.open(at=at(4, 1)),
        [
            Subscribe(at(4, 1), "trial"),
            Consume(at(4, 2), dcu(15)),  # 5 left to carry
            Subscribe(at(5, 3), "basic"),
            BuyExtension(at(5, 4), "extension-10"),
        ],
    )
    deduction = apply(wallet, Consume(at(5, 5), dcu(20))).deduction
    assert deduction is not None
    assert [(t.source, t.amount) for t in deduction.takes] == [
        (BucketSource.CARRY_OVER, dcu(5)),
        (BucketSource.EXTENSION, dcu(10)),
        (BucketSource.PLAN, dcu(5)),
    ]


def test_extension_needs_a_plan_or_carry_over() -> None:
    with pytest.raises(WalletConflict) as err:
        apply(Wallet.open(at=at(3, 1)), BuyExtension(at(3, 1), "extension-10"))
    assert "needs a plan period or a carry-over alive (J3)" in err.value.message


def test_extension_follows_plans_and_carry_overs() -> None:
    wallet = basic_from_1_mar(BuyExtension(at(3, 2), "extension-10"))
    # Period ends with Basic's 56.6 carried: the pack is kept but unusable.
    held = apply(wallet, Advance(at(3, 31))).wallet
    pack = next(b for b in held.buckets if b.source is BucketSource.EXTENSION)
    assert not pack.active and bal(held).inactive == dcu("66.6")
    # A new subscription makes it usable again.
    resumed = apply(held, Subscribe(at(4, 5), "trial")).wallet
    assert bal(resumed).active == dcu("86.6")
    # Without one, it dies with the carry-over.
    gone = apply(held, Advance(at(4, 30))).wallet
    assert gone.buckets == ()


def test_extension_bought_during_carry_over_waits_for_a_plan() -> None:
    wallet = basic_from_1_mar(Advance(at(3, 31)), BuyExtension(at(4, 1), "extension-10"))
    assert (bal(wallet).active, bal(wallet).inactive) == (dcu(0), dcu("66.6"))


def test_extension_dies_when_the_plan_ends_empty_and_nothing_carries() -> None:
    wallet = basic_from_1_mar(
        Consume(at(3, 3), dcu("56.6")), BuyExtension(at(3, 4), "extension-10")
    )
    assert bal(wallet).active == dcu(10)
    applied = apply(wallet, Advance(at(3, 31)))
    assert applied.wallet.buckets == ()
    assert [(t.rule.name, t.amount) for t in applied.transitions] == [
        ("close_empty", dcu(0)),
        ("expire_extension", dcu(10)),
    ]


# -- arrears -------------------------------------------------------------------------------


def test_shortfall_becomes_arrears_never_a_negative_bucket() -> None:
    applied = apply(basic_from_1_mar(), Consume(at(3, 2), dcu(60)))
    assert applied.deduction is not None
    assert (applied.deduction.covered, applied.deduction.shortfall) == (dcu("56.6"), dcu("3.4"))
    assert all(not b.amount.is_negative for b in applied.wallet.buckets)
    assert bal(applied.wallet).arrears == dcu("3.4")


def test_arrears_are_repaid_from_the_next_subscription() -> None:
    wallet = apply(Wallet.open(at=at(3, 1)), Consume(at(3, 1), dcu(5))).wallet
    assert bal(wallet).arrears == dcu(5)
    applied = apply(wallet, Subscribe(at(3, 2), "basic"))
    assert (bal(applied.wallet).active, bal(applied.wallet).arrears) == (dcu("51.6"), dcu(0))
    assert [t.rule.name for t in applied.transitions][-1] == "repay_arrears"


def test_voucher_beyond_arrears_becomes_an_extension() -> None:
    wallet = basic_from_1_mar(Consume(at(3, 2), dcu("58.6")))  # 2 owed
    applied = apply(wallet, GrantVoucher(at(3, 3), dcu(10)))
    assert bal(applied.wallet).arrears == dcu(0)
    pack = next(b for b in applied.wallet.buckets if b.source is BucketSource.EXTENSION)
    assert (pack.origin, pack.amount) == ("voucher", dcu(8))


def test_paying_arrears_outside_the_wallet() -> None:
    wallet = apply(Wallet.open(at=at(3, 1)), Consume(at(3, 1), dcu(5))).wallet
    wallet = apply(wallet, PayArrears(at(3, 2), dcu(3))).wallet
    assert bal(wallet).arrears == dcu(2)
    with pytest.raises(ValidationFailed) as err:
        apply(wallet, PayArrears(at(3, 3), dcu(3)))
    assert err.value.fields == {"amount": "3 DCU is more than the 2 DCU of arrears owed"}


# -- trial grants (B-T2) -------------------------------------------------------------------


def test_trial_tranches_are_released_monthly_and_do_not_carry() -> None:
    wallet = apply(Wallet.open(at=at(1, 1)), GrantTrial(at(1, 1), "notebook-trial")).wallet
    wallet = apply(wallet, Consume(at(1, 10), cu(100))).wallet
    month_2 = apply(wallet, Advance(at(1, 31))).wallet
    assert (bal(month_2, Unit.CU).active, bal(month_2, Unit.CU).scheduled) == (cu(250), cu(250))
    month_3 = apply(month_2, Advance(at(3, 2))).wallet
    assert (bal(month_3, Unit.CU).active, bal(month_3, Unit.CU).scheduled) == (cu(250), cu(0))
    over = apply(month_3, Advance(at(4, 1))).wallet
    assert over.buckets == ()
    # Trial CU and plan DCU never meet: a plan's compute does not cover CU usage.
    with_plan = apply(over, Subscribe(at(4, 1), "basic")).wallet
    deduction = apply(with_plan, Consume(at(4, 2), cu(7))).deduction
    assert deduction is not None and deduction.shortfall == cu(7)


# -- time, determinism and bad input --------------------------------------------------------


def test_events_must_come_in_time_order() -> None:
    wallet = basic_from_1_mar()
    with pytest.raises(WalletConflict, match="apply events in time order"):
        apply(wallet, Consume(at(2, 28), dcu(1)))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        apply(basic_from_1_mar(), Consume(datetime(2025, 3, 2), dcu(1)))
    assert "must be a timezone-aware datetime" in err.value.fields["at"]
    with pytest.raises(ValidationFailed, match="at: must be a timezone-aware"):
        Wallet.open(at=datetime(2025, 3, 2))


def test_consuming_negative_or_currency_amounts_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        apply(basic_from_1_mar(), Consume(at(3, 2), dcu(-1)))
    assert err.value.fields == {"amount": "must not be negative (got -1 DCU)"}
    with pytest.raises(UnitMismatch, match="amount: must be in compute units"):
        apply(basic_from_1_mar(), Consume(at(3, 2), cny(1)))


def test_the_input_wallet_is_never_changed() -> None:
    wallet = basic_from_1_mar()
    before = dataclasses.replace(wallet)
    apply(wallet, Consume(at(3, 2), dcu(10)))
    assert wallet == before


def test_replay_is_deterministic_and_every_transition_follows_its_rule() -> None:
    events: list[WalletEvent] = [
        Subscribe(at(4, 1), "trial"),
        Consume(at(4, 12), dcu(10)),
        BuyExtension(at(4, 13), "extension-10"),
        Subscribe(at(5, 15), "basic"),
        Subscribe(at(5, 20), "advanced"),
        Subscribe(at(5, 21), "basic"),
        GrantTrial(at(5, 22), "notebook-trial"),
        Advance(at(9, 1)),
    ]
    first, results = replay(events, opened_at=at(4, 1), catalog=CATALOG)
    second, _ = replay(events, opened_at=at(4, 1), catalog=CATALOG)
    assert first == second
    transitions = [t for r in results for t in r.transitions]
    assert all(t.from_state in t.rule.from_states for t in transitions)
    assert all(t.to_state is t.rule.to_state for t in transitions)
    assert first.buckets == () and first.period is None  # everything has run out by September
    expired = {t.rule.name for t in transitions if t.to_state is BucketState.EXPIRED}
    assert {"forfeit_carry_over", "expire_activated_carry_over", "expire_trial_tranche"} <= expired


def test_a_replaced_catalog_changes_the_period_length() -> None:
    weekly = dataclasses.replace(CATALOG, plan_period_days=7, carry_over_days=7)
    wallet = apply_event(
        Wallet.open(at=at(3, 1)), Subscribe(at(3, 1), "basic"), catalog=weekly
    ).wallet
    assert wallet.period is not None and wallet.period.end == at(3, 1) + timedelta(days=7)
    later = apply_event(wallet, Advance(at(3, 15)), catalog=weekly).wallet
    assert later.buckets == ()
    assert Decimal(0) == bal(later).inactive.value


def test_spending_after_the_period_never_draws_on_the_expired_bucket() -> None:
    """Units left in a plan bucket when its period ends are not spendable afterwards: a
    consumption then is a shortfall (arrears), and the expired bucket is left as it was."""
    wallet = basic_from_1_mar(Consume(at(3, 5), dcu("40.6")))  # 16 DCU left in the plan
    after = apply(wallet, Advance(at(4, 1))).wallet  # the period (and carry-over rule) moved on
    expired_before = [b for b in after.buckets if not b.active]
    applied = apply(after, Consume(at(4, 2), dcu(3)))
    assert applied.deduction is not None
    assert applied.deduction.covered == dcu(0) and applied.deduction.shortfall == dcu(3)
    assert [b for b in applied.wallet.buckets if not b.active] == expired_before
    assert bal(applied.wallet).arrears == dcu(3)
