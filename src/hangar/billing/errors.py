"""Billing errors. Each names the field or item at fault and the rule it broke."""

from __future__ import annotations

from hangar.errors import Conflict, LimitExceeded, ValidationFailed


def invalid(field: str, message: str) -> ValidationFailed:
    """A bad input value: ``field`` names where it came from, ``message`` the rule it broke."""
    return ValidationFailed.field(field, message)


class UnitMismatch(ValidationFailed):
    """Two amounts in different units met in one operation (currency vs compute units, or
    DCU vs CU). Never converted silently: the caller must convert explicitly."""

    code = "unit_mismatch"


class ParallelismExceeded(LimitExceeded):
    """The plan's GPU parallelism cap would be exceeded (spec 10 §2.3)."""

    code = "parallelism_exceeded"


class WalletConflict(Conflict):
    """The wallet's state does not allow the event (e.g. an extension pack with no plan)."""

    code = "wallet_conflict"
