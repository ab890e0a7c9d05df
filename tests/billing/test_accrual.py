"""The real-time figure between hourly settlements: what usage accrued that the ledger does
not hold yet, rated as settlement rates it, and the hourly pass reconciling it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hangar.billing.accrual import unsettled
from hangar.billing.money import Unit
from hangar.billing.settlement import settle
from tests.billing.test_settlement import T0, at, price, quiet, tenant_id, usage
from tests.support import Hangar

__all__ = ["quiet"]  # the fixture, shared


def accrued(h: Hangar, now_hours: float) -> Decimal:
    with h.state.sessions() as session:
        found = unsettled(session, tenant_id=tenant_id(h), now=T0 + timedelta(hours=now_hours))
    return found[Unit.DCU].value if Unit.DCU in found else Decimal(0)


def test_accrual_between_settlements_is_what_settlement_then_charges(quiet: Hangar) -> None:
    h = quiet
    price(h, "dc100-40g", "1.28", T0)
    usage(h, "open", at(0), None, gpus=2, gpu_model="dc100-40g")
    usage(h, "short", at(1, 0), at(1, 15), gpus=1, gpu_model="dc100-40g")
    assert accrued(h, 1.5) == Decimal("3.84") + Decimal("0.32")  # 1.5 h × 2.56 + 15 min × 1.28
    settle(h.state.sessions, now=at(1, 30))  # the hour 0 is settled: 2.56 on the ledger
    assert accrued(h, 1.5) == Decimal("1.28") + Decimal("0.32")
    settle(h.state.sessions, now=at(2, 1))
    assert accrued(h, 2 + 1 / 60) == Decimal("0.042667")  # one minute of the open interval


def test_no_price_no_accrual(quiet: Hangar) -> None:
    usage(quiet, "free", at(0), None, gpus=2, gpu_model="dc100-40g")
    assert accrued(quiet, 3) == 0


def test_the_balance_shows_the_unsettled_figure(quiet: Hangar) -> None:
    balance = quiet.admin.call("GET", "/api/v1/billing/balance")
    assert balance["unsettled"] == []
