"""Amounts, units, parsing and rounding.

Every billing number is a :class:`Amount`: a ``Decimal`` tagged with its :class:`Unit`.
Adding, subtracting or comparing amounts of different units raises :class:`UnitMismatch`;
there is no implicit conversion between currency (CNY) and compute units (DCU, CU).

Arithmetic runs in :data:`ARITHMETIC`, a fixed decimal context, so results never depend on the
thread's ``decimal.getcontext()``.

Rounding rules (spec 10 §5.7, decision J4), all with :data:`ROUNDING` = ``ROUND_HALF_UP``
(commercial rounding, 四舍五入: what a customer checks an invoice with):

- compute-unit amounts (DCU, CU) are kept to :data:`UNIT_QUANTUM` = 0.000001, enough for the
  storage rate 0.0015 DCU/GB/day and for one second of a 1.28 DCU/h card (0.000356);
- an hourly invoice total is the exact sum of its lines, rounded once to
  :data:`INVOICE_QUANTUM` = 0.01 (lines are not rounded to 0.01 first);
- currency amounts are kept to :data:`CURRENCY_QUANTUM` = 0.01.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from enum import StrEnum

from hangar.billing.errors import UnitMismatch, invalid

ARITHMETIC = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""The one decimal context for billing arithmetic (34 digits, like IEEE decimal128)."""

ROUNDING = ROUND_HALF_UP
UNIT_QUANTUM = Decimal("0.000001")
CURRENCY_QUANTUM = Decimal("0.01")
INVOICE_QUANTUM = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)


class Unit(StrEnum):
    """What an amount counts. CNY is money; DCU and CU are compute units (spec 10 §2.1, §3)."""

    CNY = "CNY"
    DCU = "DCU"
    CU = "CU"

    @property
    def is_currency(self) -> bool:
        return self is Unit.CNY

    @property
    def quantum(self) -> Decimal:
        """The smallest amount kept for this unit."""
        return CURRENCY_QUANTUM if self.is_currency else UNIT_QUANTUM


def parse_decimal(raw: object, *, field: str) -> Decimal:
    """A finite ``Decimal`` from a string, an int or a Decimal.

    Floats are refused: ``0.1 + 0.2`` is not ``0.3`` in binary, and money must be exact.
    """
    if isinstance(raw, bool):
        raise invalid(field, f"must be a decimal number, not a boolean ({raw!r})")
    if isinstance(raw, float):
        raise invalid(
            field,
            f"must be given as a string or an integer, not a float ({raw!r}): floats are "
            f"inexact; write '{raw!r}' as a string",
        )
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise invalid(
                field, f"must be a decimal number such as '0.0015' (got {raw!r})"
            ) from None
    else:
        raise invalid(field, f"must be a decimal number (got {type(raw).__name__})")
    if not value.is_finite():
        raise invalid(field, f"must be a finite number (got {raw!r})")
    return value


def parse_amount(raw: object, unit: Unit, *, field: str, allow_negative: bool = False) -> Amount:
    """An :class:`Amount` of ``unit`` from user or config input; negative only if allowed."""
    amount = Amount(parse_decimal(raw, field=field), unit)
    if not allow_negative:
        require_non_negative(amount, field=field)
    return amount


def require_non_negative(amount: Amount, *, field: str) -> Amount:
    if amount.value < 0:
        raise invalid(field, f"must not be negative (got {amount})")
    return amount


def require_positive(amount: Amount, *, field: str) -> Amount:
    if amount.value <= 0:
        raise invalid(field, f"must be greater than zero (got {amount})")
    return amount


def require_unit(amount: Amount, unit: Unit, *, field: str) -> Amount:
    if amount.unit is not unit:
        raise UnitMismatch(
            f"{field}: must be in {unit} (got {amount}); units are never converted implicitly",
            fields={field: f"must be in {unit}"},
        )
    return amount


def require_compute_unit(amount: Amount, *, field: str) -> Amount:
    if amount.unit.is_currency:
        raise UnitMismatch(
            f"{field}: must be in compute units (DCU or CU), not currency (got {amount})",
            fields={field: "must be in compute units"},
        )
    return amount


def require_currency(amount: Amount, *, field: str) -> Amount:
    if not amount.unit.is_currency:
        raise UnitMismatch(
            f"{field}: must be a currency amount (CNY), not compute units (got {amount})",
            fields={field: "must be a currency amount"},
        )
    return amount


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` in the fixed context (34 significant digits)."""
    return ARITHMETIC.divide(numerator, denominator)


def quantize(value: Decimal, quantum: Decimal, rounding: str = ROUNDING) -> Decimal:
    return value.quantize(quantum, rounding=rounding, context=ARITHMETIC)


def format_decimal(value: Decimal) -> str:
    """Plain notation without trailing zeros: 66.6, 0.0015, 500 (never 5E+2)."""
    text = format(value.normalize(ARITHMETIC), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Amount:
    """A decimal quantity of one unit. Arithmetic and ordering only within one unit."""

    value: Decimal
    unit: Unit

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            raise TypeError(f"Amount.value must be a Decimal, got {type(self.value).__name__}")
        if not self.value.is_finite():
            raise invalid("amount", f"must be a finite number (got {self.value})")
        if not isinstance(self.unit, Unit):
            raise TypeError(f"Amount.unit must be a Unit, got {self.unit!r}")

    @classmethod
    def of(cls, value: str | int | Decimal, unit: Unit) -> Amount:
        return cls(parse_decimal(value, field="amount"), unit)

    @classmethod
    def zero(cls, unit: Unit) -> Amount:
        return cls(Decimal(0), unit)

    def _check(self, other: object, op: str) -> Amount:
        if not isinstance(other, Amount):
            raise TypeError(f"cannot {op} Amount and {type(other).__name__}")
        if other.unit is not self.unit:
            raise UnitMismatch(
                f"cannot {op} {self} and {other}: the units differ ({self.unit} vs "
                f"{other.unit}); convert one explicitly first"
            )
        return other

    def __add__(self, other: Amount) -> Amount:
        return Amount(ARITHMETIC.add(self.value, self._check(other, "add").value), self.unit)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(
            ARITHMETIC.subtract(self.value, self._check(other, "subtract").value), self.unit
        )

    def __neg__(self) -> Amount:
        return Amount(ARITHMETIC.minus(self.value), self.unit)

    def __mul__(self, factor: Decimal | int) -> Amount:
        if isinstance(factor, Amount | float | bool):
            raise TypeError(f"an Amount can only be multiplied by a Decimal or int, not {factor!r}")
        return Amount(ARITHMETIC.multiply(self.value, Decimal(factor)), self.unit)

    __rmul__ = __mul__

    def __lt__(self, other: Amount) -> bool:
        return self.value < self._check(other, "compare").value

    def __le__(self, other: Amount) -> bool:
        return self.value <= self._check(other, "compare").value

    def __gt__(self, other: Amount) -> bool:
        return self.value > self._check(other, "compare").value

    def __ge__(self, other: Amount) -> bool:
        return self.value >= self._check(other, "compare").value

    def divided_by(self, other: Amount) -> Decimal:
        """How many ``other`` fit in this amount (same unit), as an unrounded Decimal."""
        divisor = self._check(other, "divide").value
        if divisor == 0:
            raise invalid("divisor", f"must not be zero (dividing {self} by {other})")
        return ratio(self.value, divisor)

    @property
    def is_zero(self) -> bool:
        return self.value == 0

    @property
    def is_negative(self) -> bool:
        return self.value < 0

    @property
    def is_positive(self) -> bool:
        return self.value > 0

    def quantized(self) -> Amount:
        """Rounded to the unit's quantum (0.000001 for compute units, 0.01 for currency)."""
        return Amount(quantize(self.value, self.unit.quantum), self.unit)

    def __str__(self) -> str:
        return f"{format_decimal(self.value)} {self.unit}"


def min_amount(a: Amount, b: Amount) -> Amount:
    return a if a <= b else b


def max_amount(a: Amount, b: Amount) -> Amount:
    return a if a >= b else b


def total(amounts: Iterable[Amount], *, unit: Unit) -> Amount:
    """The exact sum of ``amounts``, all of which must be in ``unit`` (an empty sum is 0)."""
    result = Amount.zero(unit)
    for amount in amounts:
        result = result + amount
    return result


def round_invoice_total(amount: Amount) -> Amount:
    """An invoice total rounded to 0.01 of its unit, half up (spec 10 §5.7)."""
    return Amount(quantize(amount.value, INVOICE_QUANTUM), amount.unit)


def invoice_total(lines: Iterable[Amount], *, unit: Unit) -> Amount:
    """Sum the lines exactly, then round the total once to 0.01 (spec 10 §5.7, J4)."""
    return round_invoice_total(total(lines, unit=unit))
