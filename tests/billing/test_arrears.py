"""Arrears policy input checks (B-E6); the worked examples are in test_golden.py."""

from __future__ import annotations

import pytest

from hangar.billing.arrears import assess_arrears
from hangar.billing.errors import UnitMismatch
from hangar.errors import ValidationFailed
from tests.billing.factories import cny, cu, dcu


def test_cleanup_is_allowed_only_strictly_above_the_threshold() -> None:
    assert not assess_arrears(owed=dcu(10), threshold=dcu(10)).cleanup_allowed
    above = assess_arrears(owed=dcu("10.000001"), threshold=dcu(10))
    assert above.cleanup_allowed and above.voucher == dcu("0.000001")


def test_nothing_owed() -> None:
    result = assess_arrears(owed=dcu(0), threshold=dcu(10))
    assert (result.user_bears, result.voucher, result.cleanup_allowed) == (dcu(0), dcu(0), False)


def test_bad_input() -> None:
    with pytest.raises(ValidationFailed) as err:
        assess_arrears(owed=dcu(-1), threshold=dcu(10))
    assert err.value.fields == {"owed": "must not be negative (got -1 DCU)"}
    with pytest.raises(UnitMismatch, match="owed: must be in compute units"):
        assess_arrears(owed=cny(5), threshold=dcu(10))
    with pytest.raises(UnitMismatch, match="threshold: must be in DCU"):
        assess_arrears(owed=dcu(5), threshold=cu(10))
