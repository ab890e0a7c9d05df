"""Billing API models. Amounts travel as decimal strings ("1.28"), never as floats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from hangar.billing.money import Unit
from hangar.tenancy.schemas import Input, Output

DecimalText = Annotated[
    str, Field(min_length=1, max_length=40, description="A decimal number as a string: '1.28'.")
]


class PriceCreate(Input):
    """A new price version; prices are never edited, only superseded from a time on."""

    meter: Annotated[
        str,
        Field(min_length=1, max_length=64, description="Card model key, 'cpu' or 'memory'."),
    ]
    rate_per_hour: DecimalText
    unit: Unit
    effective_from: AwareDatetime | None = Field(
        default=None, description="Now when left out; never before now."
    )
    tenant_id: str | None = Field(default=None, description="None: the platform-wide price.")


class PriceRead(Output):
    id: str
    tenant_id: str | None
    meter: str
    rate_per_hour: str
    unit: str
    effective_from: datetime
    created_by: str | None
    created_at: datetime


WalletEventKind = Literal["credit", "subscribe", "buy_extension", "grant_trial", "pay_arrears"]


class WalletEventCreate(Input):
    """``credit`` (a voucher of compute units: ``amount`` + ``unit``), ``subscribe`` (``key``:
    plan), ``buy_extension`` (``key``: pack), ``grant_trial`` (``key``: grant terms),
    ``pay_arrears`` (arrears settled outside the wallet)."""

    kind: WalletEventKind
    key: Annotated[str, Field(max_length=64)] | None = None
    amount: DecimalText | None = None
    unit: Unit | None = None
    tenant_id: str | None = Field(default=None, description="Platform admin only.")
    idempotency_key: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class WalletEventRead(Output):
    seq: int
    key: str
    tenant_id: str
    kind: str
    at: datetime
    payload: dict[str, str]
    created_by: str | None


class LedgerTotalRead(Output):
    unit: str
    charged: str
    credited: str


class WalletBalanceRead(Output):
    unit: str
    active: str
    inactive: str
    scheduled: str
    arrears: str
    arrears_cleanup_allowed: bool = Field(
        default=False, description="Arrears above the threshold (10 DCU): data may be cleaned."
    )
    arrears_voucher_due: str = Field(
        default="0", description="The part of the arrears above the threshold (B-E6)."
    )
    active_now: str = Field(
        default="0",
        description="``active`` less what usage has accrued since the last hourly settlement.",
    )


class BalanceRead(Output):
    """Derived on every call from the ledger and the wallet's events; nothing is stored."""

    tenant_id: str
    as_of: datetime
    prepaid: bool
    ledger: list[LedgerTotalRead]
    wallet: list[WalletBalanceRead]
    plan: str | None
    unsettled: list[LedgerTotalRead] = Field(
        default_factory=list,
        description="Charges accrued since the last hourly settlement, per unit ('charged'); "
        "the next settlement writes them (real time between settlements).",
    )


class LineRead(Output):
    id: str
    key: str
    kind: str
    meter: str
    quantity: str
    seconds: int
    amount: str
    unit: str
    workspace_id: str | None
    user_id: str | None
    usage_interval_id: str | None
    workload_id: str | None
    price_version_id: str | None
    period_start: datetime
    period_end: datetime


class StatementTotal(Output):
    unit: str
    exact: str
    total: str


class StatementRead(Output):
    tenant_id: str
    start: datetime
    end: datetime
    lines: list[LineRead]
    totals: list[StatementTotal]


class PolicyRead(Output):
    """A tenant's billing policy (spec 10 B-M3, §6): defaults when never set."""

    tenant_id: str
    min_balance: str | None
    min_balance_unit: str
    exhausted_action: str
    balance: str = Field(description="The currency balance (credits − charges) now.")


class PolicyUpdate(Input):
    min_balance: DecimalText | None = Field(
        default=None, description="Starting work needs a balance above this; None: no gate."
    )
    min_balance_unit: Unit = Unit.CNY
    exhausted_action: Literal["stop", "arrears"] = Field(
        default="arrears",
        description="A prepaid wallet at 0: stop compute (data kept) or accrue arrears.",
    )
    tenant_id: str | None = Field(default=None, description="Default: yours.")


class DepositCreate(Input):
    """Money received for a tenant (a payment webhook or an admin): credits its balance."""

    amount: DecimalText
    unit: Unit = Unit.CNY
    note: Annotated[str, Field(max_length=200)] = ""
    tenant_id: str | None = Field(default=None, description="Default: yours.")
    idempotency_key: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class AlertRead(Output):
    key: str
    tenant_id: str
    kind: str
    message: str
    at: datetime


class MeterRecordCreate(Input):
    """Usage of a generic meter (public addresses, tokens...), priced per unit of quantity."""

    key: Annotated[str, Field(min_length=1, max_length=120, description="Idempotency key.")]
    meter: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: DecimalText
    at: AwareDatetime | None = Field(default=None, description="When it was used; default now.")
    tenant_id: str | None = Field(default=None, description="Default: yours.")
    workspace_id: str | None = None
    user_id: str | None = None
    note: Annotated[str, Field(max_length=200)] = ""


class MeterRecordRead(Output):
    id: str
    key: str
    tenant_id: str
    workspace_id: str | None
    user_id: str | None
    meter: str
    quantity: str
    at: datetime
    note: str


class CompensationCreate(Input):
    """Grant the compensation voucher due for arrears above the threshold (B-E6)."""

    tenant_id: str | None = Field(default=None, description="Default: yours.")
    idempotency_key: Annotated[str, Field(min_length=1, max_length=100)] | None = None
