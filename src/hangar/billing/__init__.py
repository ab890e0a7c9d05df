"""Billing: the pure domain of Hangar's metering, plans and wallets (spec 10, decisions J1-J5, I1).

Nothing in this package reads the clock, a database or the network: every time is a parameter,
every amount is a ``decimal.Decimal`` inside a unit-tagged :class:`~hangar.billing.money.Amount`,
and the same inputs always give the same outputs. See ``README.md`` next to this file for the
contract, the invariants and the decisions taken where the spec is silent.

Modules:
    money          Amount, units (CNY / DCU / CU), parsing and rounding rules
    catalog        plans, extension packs, cards and trial-grant terms (replaceable data)
    buckets        unit buckets and the deduction order (B-E14)
    rules          named lifecycle rules and the transition records they leave
    subscriptions  the wallet state machine: subscribe, upgrade, queue, carry-over, trials
    storage        daily storage overage fees (B-E2..B-E5, J2)
    arrears        the arrears policy (B-E6)
    parallelism    the plan parallelism cap (spec 10 §2.3)
    rating         price books with effective times; per-second rating of usage (J4, I1)
    allocation     allocated and used GPU-hours (spec 09 §3.3)
    times          aware-time checks and real elapsed time
    errors         UnitMismatch, ParallelismExceeded, WalletConflict (on hangar.errors)
"""
