"""Amounts, units, parsing and rounding (spec 10 §5.7, J4)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from hangar.billing.errors import UnitMismatch
from hangar.billing.money import (
    Amount,
    Unit,
    format_decimal,
    invoice_total,
    parse_amount,
    parse_decimal,
    ratio,
    require_compute_unit,
    round_invoice_total,
)
from hangar.errors import ValidationFailed
from tests.billing.factories import cny, cu, dcu


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.0015", "0.0015"), (" 56.6 ", "56.6"), (20, "20"), (Decimal("1.28"), "1.28")],
)
def test_parse_decimal_accepts_strings_ints_and_decimals(raw: object, expected: str) -> None:
    assert parse_decimal(raw, field="rate") == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (0.1, "not a float"),
        (True, "not a boolean"),
        ("abc", "must be a decimal number such as '0.0015'"),
        ("NaN", "must be a finite number"),
        ("-Infinity", "must be a finite number"),
        (None, "must be a decimal number (got NoneType)"),
    ],
)
def test_parse_decimal_refuses_bad_input_naming_the_field(raw: object, rule: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_decimal(raw, field="rate")
    assert err.value.message.startswith("rate: ")
    assert rule in err.value.fields["rate"]


def test_parse_amount_refuses_negative_amounts() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_amount("-5", Unit.DCU, field="amount")
    assert err.value.fields == {"amount": "must not be negative (got -5 DCU)"}
    assert parse_amount("-5", Unit.DCU, field="adjustment", allow_negative=True) == dcu(-5)


def test_currency_and_compute_units_never_mix() -> None:
    with pytest.raises(UnitMismatch, match=r"cannot add 1 DCU and 1 CNY: the units differ"):
        dcu(1) + cny(1)
    with pytest.raises(UnitMismatch, match="DCU vs CU"):
        dcu(1) - cu(1)
    with pytest.raises(UnitMismatch, match="cannot compare"):
        assert dcu(1) < cny(2)
    with pytest.raises(UnitMismatch, match="compute units"):
        require_compute_unit(cny(1), field="amount")
    assert dcu(1) != cny(1)


def test_amounts_multiply_only_by_exact_numbers() -> None:
    assert dcu("1.28") * 3 == dcu("3.84")
    assert Decimal("0.5") * dcu(3) == dcu("1.5")
    with pytest.raises(TypeError):
        dcu(1) * 0.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        dcu(1) * dcu(2)  # type: ignore[operator]


def test_amount_value_must_be_decimal() -> None:
    with pytest.raises(TypeError, match="must be a Decimal"):
        Amount(1.5, Unit.DCU)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="finite"):
        Amount(Decimal("Infinity"), Unit.DCU)


@pytest.mark.parametrize(
    ("value", "text"),
    [("66.60", "66.6"), ("500", "500"), ("5E+2", "500"), ("0.0015", "0.0015"), ("0.000", "0")],
)
def test_format_decimal_is_plain(value: str, text: str) -> None:
    assert format_decimal(Decimal(value)) == text


def test_str_of_an_amount() -> None:
    assert str(dcu("56.60")) == "56.6 DCU"
    assert str(cny("3100")) == "3100 CNY"


def test_invoice_total_sums_exactly_then_rounds_once() -> None:
    lines = [cny("0.004")] * 3  # 0.012: rounding each line first would give 0.00
    assert invoice_total(lines, unit=Unit.CNY) == cny("0.01")
    assert invoice_total([], unit=Unit.DCU) == dcu(0)


def test_invoice_rounding_is_half_up() -> None:
    assert round_invoice_total(cny("0.025")) == cny("0.03")  # half-even would give 0.02
    assert round_invoice_total(cny("0.0249")) == cny("0.02")
    assert round_invoice_total(dcu("1.2849")) == dcu("1.28")


def test_quantized_keeps_six_places_for_compute_units() -> None:
    assert dcu("0.00035555555").quantized() == dcu("0.000356")
    assert cny("1.005").quantized() == cny("1.01")


def test_arithmetic_ignores_the_thread_decimal_context() -> None:
    expected = ratio(Decimal("1.28"), Decimal(3600))
    with localcontext() as ctx:
        ctx.prec = 3
        assert ratio(Decimal("1.28"), Decimal(3600)) == expected
        assert dcu("56.6") + dcu("10.0001") == dcu("66.6001")
