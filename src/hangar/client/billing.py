"""Billing (``/api/v1/billing``): balance, statements, the price book, wallet events.

Amounts travel as decimal strings ("1.28") and are returned as the API sent them.
"""

from __future__ import annotations

from datetime import datetime

from hangar.billing.costing_schemas import CostsRead
from hangar.billing.money import Unit
from hangar.billing.schemas import (
    AlertRead,
    BalanceRead,
    CompensationCreate,
    DepositCreate,
    LineRead,
    MeterRecordCreate,
    MeterRecordRead,
    PolicyRead,
    PolicyUpdate,
    PriceCreate,
    PriceRead,
    StatementRead,
    WalletEventCreate,
    WalletEventKind,
    WalletEventRead,
)
from hangar.client.transport import UNSET, Transport, Unset, payload

BILLING = "/api/v1/billing"
COSTS = "/api/v1/costs"


class BillingAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def balance(self, *, tenant_id: str | None = None) -> BalanceRead:
        """Ledger totals and the wallet per unit, derived now (``tenant_id``: platform admin)."""
        return self._t.get(BalanceRead, f"{BILLING}/balance", params={"tenant_id": tenant_id})

    def statements(
        self,
        *,
        period: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        tenant_id: str | None = None,
    ) -> StatementRead:
        """Line items of one UTC hour (``period`` = ``YYYY-MM-DDTHH``) or of ``start``–``end``
        (time-zone aware), with the exact and the rounded totals per unit."""
        params = {"period": period, "start": start, "end": end, "tenant_id": tenant_id}
        return self._t.get(StatementRead, f"{BILLING}/statements", params=params)

    def prices(self, *, tenant_id: str | None = None) -> list[PriceRead]:
        """Every price version, platform-wide and the tenant's own."""
        return self._t.get_list(PriceRead, f"{BILLING}/prices", params={"tenant_id": tenant_id})

    def add_price(
        self,
        meter: str,
        *,
        rate_per_hour: str,
        unit: Unit | str,
        effective_from: datetime | Unset = UNSET,
        tenant_id: str | Unset = UNSET,
    ) -> PriceRead:
        """Add a price version (platform admin), effective now or later; never backdated."""
        body = payload(
            PriceCreate,
            meter=meter,
            rate_per_hour=rate_per_hour,
            unit=unit,
            effective_from=effective_from,
            tenant_id=tenant_id,
        )
        return self._t.send(PriceRead, "POST", f"{BILLING}/prices", json=body)

    def wallet_event(
        self,
        kind: WalletEventKind,
        *,
        key: str | Unset = UNSET,
        amount: str | Unset = UNSET,
        unit: Unit | str | Unset = UNSET,
        tenant_id: str | Unset = UNSET,
        idempotency_key: str | Unset = UNSET,
    ) -> WalletEventRead:
        """Record ``subscribe``/``buy_extension`` (``key``), ``grant_trial`` (``key``), or
        ``credit``/``pay_arrears`` (``amount`` + ``unit``); effective now."""
        body = payload(
            WalletEventCreate,
            kind=kind,
            key=key,
            amount=amount,
            unit=unit,
            tenant_id=tenant_id,
            idempotency_key=idempotency_key,
        )
        return self._t.send(WalletEventRead, "POST", f"{BILLING}/wallet/events", json=body)

    def costs(self, *, scope: str = "me", workspace: str | None = None) -> CostsRead:
        """What is costing now: everything accruing charges in ``scope`` (``me``,
        ``workspace`` with ``workspace`` = id or name, or ``tenant``), each item's rate per
        hour and stop endpoint, and the totals per unit per hour."""
        return self._t.get(CostsRead, COSTS, params={"scope": scope, "workspace": workspace})

    def policy(self, *, tenant_id: str | None = None) -> PolicyRead:
        """The minimum balance starting work needs, and the exhausted-wallet policy."""
        return self._t.get(PolicyRead, f"{BILLING}/policy", params={"tenant_id": tenant_id})

    def set_policy(
        self,
        *,
        min_balance: str | None,
        min_balance_unit: Unit | str = Unit.CNY,
        exhausted_action: str = "arrears",
        tenant_id: str | Unset = UNSET,
    ) -> PolicyRead:
        """Replace the tenant's policy (platform admin); ``min_balance`` None: no gate."""
        body = payload(
            PolicyUpdate, min_balance=min_balance, min_balance_unit=min_balance_unit,
            exhausted_action=exhausted_action, tenant_id=tenant_id,
        )  # fmt: skip
        return self._t.send(PolicyRead, "PUT", f"{BILLING}/policy", json=body)

    def deposit(
        self,
        amount: str,
        *,
        unit: Unit | str = Unit.CNY,
        note: str = "",
        tenant_id: str | Unset = UNSET,
        idempotency_key: str | Unset = UNSET,
    ) -> LineRead:
        """Money received for a tenant (platform admin, or a payment webhook's token)."""
        body = payload(
            DepositCreate, amount=amount, unit=unit, note=note, tenant_id=tenant_id,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return self._t.send(LineRead, "POST", f"{BILLING}/deposits", json=body)

    def alerts(self, *, tenant_id: str | None = None) -> list[AlertRead]:
        """Wallet alerts (80 %, 100 %, stopped by the exhausted policy), newest first."""
        return self._t.get_list(AlertRead, f"{BILLING}/alerts", params={"tenant_id": tenant_id})

    def record_meter(
        self,
        key: str,
        *,
        meter: str,
        quantity: str,
        at: datetime | Unset = UNSET,
        tenant_id: str | Unset = UNSET,
        workspace_id: str | Unset = UNSET,
        user_id: str | Unset = UNSET,
        note: str = "",
    ) -> MeterRecordRead:
        """Record use of a generic meter (platform admin or a metering service)."""
        body = payload(
            MeterRecordCreate, key=key, meter=meter, quantity=quantity, at=at,
            tenant_id=tenant_id, workspace_id=workspace_id, user_id=user_id, note=note,
        )  # fmt: skip
        return self._t.send(MeterRecordRead, "POST", f"{BILLING}/meter-records", json=body)

    def compensate_arrears(
        self, *, tenant_id: str | Unset = UNSET, idempotency_key: str | Unset = UNSET
    ) -> WalletEventRead:
        """Grant the voucher due for arrears above 10 DCU (platform admin; B-E6)."""
        body = payload(CompensationCreate, tenant_id=tenant_id, idempotency_key=idempotency_key)
        return self._t.send(WalletEventRead, "POST", f"{BILLING}/arrears/compensation", json=body)
