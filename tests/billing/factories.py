"""Small builders shared by the billing tests: times in one fixed zone, amounts, wallets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hangar.billing.catalog import DEFAULT_CATALOG
from hangar.billing.money import Amount, Unit
from hangar.billing.subscriptions import Applied, Balance, Wallet, WalletEvent, apply_event, balance

CST = timezone(timedelta(hours=8), "CST")


def at(
    month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *, year: int = 2025
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CST)


def dcu(value: str | int) -> Amount:
    return Amount(Decimal(value), Unit.DCU)


def cu(value: str | int) -> Amount:
    return Amount(Decimal(value), Unit.CU)


def cny(value: str | int) -> Amount:
    return Amount(Decimal(value), Unit.CNY)


def apply(wallet: Wallet, event: WalletEvent) -> Applied:
    return apply_event(wallet, event, catalog=DEFAULT_CATALOG)


def run(wallet: Wallet, events: Iterable[WalletEvent]) -> Wallet:
    for event in events:
        wallet = apply(wallet, event).wallet
    return wallet


def bal(wallet: Wallet, unit: Unit = Unit.DCU) -> Balance:
    return balance(wallet, unit=unit, catalog=DEFAULT_CATALOG)
