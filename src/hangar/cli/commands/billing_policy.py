"""``hangar billing policy|deposit|alerts|meter|compensate``: the minimum-balance gate, the
exhausted-wallet policy, money received, wallet alerts, generic meter records and arrears
compensation (docs/billing.md).

Registered on the ``hangar billing`` group by :func:`register`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.billing.money import Unit
from hangar.billing.schemas import AlertRead, PolicyRead
from hangar.cli.commands.audit import TIME_HELP, parse_time
from hangar.cli.context import OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, record, table
from hangar.client import UNSET

TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant", help="Tenant id (platform admin; default: yours).", show_default=False
    ),
]
ALERT_COLUMNS: list[Column[AlertRead]] = [
    ("AT", lambda a: a.at),
    ("KIND", lambda a: a.kind),
    ("MESSAGE", lambda a: a.message),
]


def show_policy(policy: PolicyRead) -> None:
    record(
        [
            ("Tenant", policy.tenant_id),
            ("Minimum balance", f"{policy.min_balance} {policy.min_balance_unit}"
             if policy.min_balance is not None else "none (no gate)"),
            ("Balance", f"{policy.balance} {policy.min_balance_unit}"),
            ("When the wallet is exhausted", policy.exhausted_action),
        ]
    )  # fmt: skip


def policy(
    min_balance: Annotated[
        str | None,
        typer.Option(help="Starting work needs a balance above this (a decimal: 100)."),
    ] = None,
    no_min_balance: Annotated[
        bool, typer.Option("--no-min-balance", help="Remove the minimum-balance gate.")
    ] = False,
    unit: Annotated[Unit, typer.Option(help="The currency of the minimum.")] = Unit.CNY,
    exhausted: Annotated[
        str | None,
        typer.Option(help="An exhausted prepaid wallet: 'stop' compute or allow 'arrears'."),
    ] = None,
    tenant: TenantOpt = None,
    output: OutputOpt = None,
) -> None:
    """Show the billing policy; with options, change it (platform admin)."""
    with connect() as client:
        found = client.billing.policy(tenant_id=tenant)
        if min_balance is not None or no_min_balance or exhausted is not None:
            found = client.billing.set_policy(
                min_balance=None if no_min_balance else (min_balance or found.min_balance),
                min_balance_unit=unit, exhausted_action=exhausted or found.exhausted_action,
                tenant_id=UNSET if tenant is None else tenant,
            )  # fmt: skip
    emit(output_format(output), found, lambda: show_policy(found))


def deposit(
    amount: Annotated[str, typer.Argument(help="A decimal amount: 500.", show_default=False)],
    unit: Annotated[Unit, typer.Option(help="The currency.")] = Unit.CNY,
    note: Annotated[str, typer.Option(help="What it is (an order number).")] = "",
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="A key that makes a retry of this deposit harmless.", show_default=False),
    ] = None,
    tenant: TenantOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record money received for a tenant (platform admin): a credit on the ledger."""
    with connect() as client:
        line = client.billing.deposit(
            amount, unit=unit, note=note, tenant_id=UNSET if tenant is None else tenant,
            idempotency_key=UNSET if idempotency_key is None else idempotency_key,
        )  # fmt: skip
    emit(output_format(output), line, lambda: record([("Deposit", f"{line.amount} {line.unit}"),
                                                      ("Line", line.key)]))  # fmt: skip


def alerts(tenant: TenantOpt = None, output: OutputOpt = None) -> None:
    """Wallet alerts: 80 % and 100 % used, work stopped by the exhausted policy."""
    with connect() as client:
        found = client.billing.alerts(tenant_id=tenant)
    emit(output_format(output), found, lambda: table(found, ALERT_COLUMNS, empty="no alerts"))


def meter(
    key: Annotated[str, typer.Argument(help="A key of yours: a retry records nothing twice.")],
    meter_name: Annotated[str, typer.Option("--meter", help="What is metered: public-ip.")],
    quantity: Annotated[str, typer.Option(help="How much (a decimal), per price unit.")],
    at: Annotated[str | None, typer.Option(help=f"When (default now). {TIME_HELP}")] = None,
    tenant: TenantOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record use of a generic meter (platform admin); billed once its hour ends."""
    when = parse_time(at, "--at")
    with connect() as client:
        found = client.billing.record_meter(
            key, meter=meter_name, quantity=quantity, at=UNSET if when is None else when,
            tenant_id=UNSET if tenant is None else tenant,
        )  # fmt: skip
    emit(output_format(output), found, lambda: record(
        [("Record", found.id), ("Meter", found.meter), ("Quantity", found.quantity),
         ("At", found.at)]))  # fmt: skip


def compensate(
    tenant: TenantOpt = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="A key that makes a retry harmless.", show_default=False),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Grant the voucher due for arrears above 10 DCU (platform admin; B-E6)."""
    with connect() as client:
        event = client.billing.compensate_arrears(
            tenant_id=UNSET if tenant is None else tenant,
            idempotency_key=UNSET if idempotency_key is None else idempotency_key,
        )
    emit(output_format(output), event, lambda: record(
        [("Voucher", f"{event.payload.get('amount')} {event.payload.get('unit')}"),
         ("Event", event.seq), ("Tenant", event.tenant_id)]))  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(policy)
    app.command()(deposit)
    app.command()(alerts)
    app.command()(meter)
    app.command()(compensate)
