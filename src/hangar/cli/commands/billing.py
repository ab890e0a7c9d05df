"""``hangar billing``: balance, statements, the price book and wallet events (docs/billing.md).

Amounts are printed exactly as the API returns them (decimal strings), never through floats.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from operator import itemgetter
from typing import Annotated

import typer

from hangar.billing.costing_schemas import CostItemRead, CostsRead
from hangar.billing.money import Unit
from hangar.billing.schemas import (
    BalanceRead,
    LineRead,
    PriceRead,
    StatementRead,
    WalletEventKind,
    WalletEventRead,
)
from hangar.cli.commands.audit import TIME_HELP, parse_time
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import Column, emit, record, say, table
from hangar.client import UNSET

app = HangarTyper(help="Billing: balance, statements, prices, credits and plans.")

TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant", help="Tenant id (platform admin; default: yours).", show_default=False
    ),
]
IdempotencyOpt = Annotated[
    str | None,
    typer.Option(help="A key that makes a retry of this event harmless.", show_default=False),
]
UnitOpt = Annotated[Unit, typer.Option("--unit", help="DCU, CU or CNY.", show_default=False)]


def window(start: datetime, end: datetime) -> str:
    """``2026-01-02 10:10:00 – 10:40:01`` in UTC; the end's date only when it differs."""
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    until = f"{hi:%H:%M:%S}" if lo.date() == hi.date() else f"{hi:%Y-%m-%d %H:%M:%S}"
    return f"{lo:%Y-%m-%d %H:%M:%S} – {until}"


LINE_COLUMNS: list[Column[LineRead]] = [
    ("WINDOW (UTC)", lambda x: window(x.period_start, x.period_end)),
    ("WORKLOAD", lambda x: x.workload_id),
    ("KIND", lambda x: x.kind),
    ("METER", lambda x: x.meter),
    ("QUANTITY", lambda x: x.quantity),
    ("AMOUNT", lambda x: x.amount),
    ("UNIT", lambda x: x.unit),
]

PRICE_COLUMNS: list[Column[PriceRead]] = [
    ("METER", lambda p: p.meter),
    ("RATE/HOUR", lambda p: p.rate_per_hour),
    ("UNIT", lambda p: p.unit),
    ("EFFECTIVE FROM", lambda p: p.effective_from),
    ("TENANT", lambda p: p.tenant_id or "platform"),
    ("ID", lambda p: p.id),
]

# One row per unit: (unit, charged, credited, active, inactive, scheduled, arrears).
UnitRow = tuple[str, str | None, str | None, str | None, str | None, str | None, str | None]
UNIT_COLUMNS: list[Column[UnitRow]] = [
    (header, itemgetter(i))
    for i, header in enumerate(
        ("UNIT", "CHARGED", "CREDITED", "ACTIVE", "INACTIVE", "SCHEDULED", "ARREARS")
    )
]


def show_balance(balance: BalanceRead) -> None:
    record(
        [
            ("Tenant", balance.tenant_id), ("As of", balance.as_of),
            ("Prepaid", balance.prepaid), ("Plan", balance.plan),
        ]
    )  # fmt: skip
    ledger = {t.unit: t for t in balance.ledger}
    wallet = {w.unit: w for w in balance.wallet}
    rows: list[UnitRow] = []
    for unit in sorted(set(ledger) | set(wallet)):
        t, w = ledger.get(unit), wallet.get(unit)
        charged = (t.charged, t.credited) if t else (None, None)
        held = (w.active, w.inactive, w.scheduled, w.arrears) if w else (None,) * 4
        rows.append((unit, *charged, *held))
    table(rows, UNIT_COLUMNS, empty="nothing charged or credited yet")
    for t in balance.unsettled:
        say(f"Accrued since the last hourly settlement: {t.charged} {t.unit} (charged next)")


def show_statement(statement: StatementRead) -> None:
    say(f"Statement {window(statement.start, statement.end)} UTC, tenant {statement.tenant_id}")
    table(statement.lines, LINE_COLUMNS, empty="no line items")
    if not statement.totals:
        say("Total: 0 (exact 0)")
    for t in statement.totals:
        say(f"Total {t.unit}: {t.total} (exact {t.exact})")


def show_event(event: WalletEventRead) -> None:
    record(
        [
            ("Event", event.kind), ("Seq", event.seq), ("Tenant", event.tenant_id),
            ("At", event.at), ("Details", event.payload), ("Key", event.key),
        ]
    )  # fmt: skip


@app.command()
def balance(tenant: TenantOpt = None, output: OutputOpt = None) -> None:
    """Charged and credited totals per unit, the wallet's units and the current plan."""
    with connect() as client:
        found = client.billing.balance(tenant_id=tenant)
    emit(output_format(output), found, lambda: show_balance(found))


@app.command()
def statement(
    period: Annotated[
        str | None,
        typer.Option(help="One UTC hour, YYYY-MM-DDTHH (e.g. 2026-11-23T14).", show_default=False),
    ] = None,
    since: Annotated[str | None, typer.Option(help=f"From this time. {TIME_HELP}")] = None,
    until: Annotated[str | None, typer.Option(help=f"Up to this time. {TIME_HELP}")] = None,
    tenant: TenantOpt = None,
    output: OutputOpt = None,
) -> None:
    """Line items of an hour (--period) or a range (--since and --until), then the exact
    total and the total rounded once to 0.01."""
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if period is not None and (start or end):
        raise typer.BadParameter(
            "give --period or --since/--until, not both", param_hint="--period"
        )
    if period is None and (start is None or end is None):
        raise typer.BadParameter(
            "give --period YYYY-MM-DDTHH, or both --since and --until", param_hint="--period"
        )
    with connect() as client:
        found = client.billing.statements(period=period, start=start, end=end, tenant_id=tenant)
    emit(output_format(output), found, lambda: show_statement(found))


@app.command()
def prices(tenant: TenantOpt = None, output: OutputOpt = None) -> None:
    """The price book: every version, platform-wide and your tenant's own."""
    with connect() as client:
        found = client.billing.prices(tenant_id=tenant)
    emit(output_format(output), found, lambda: table(found, PRICE_COLUMNS, empty="no prices"))


@app.command("price-add")
def price_add(
    meter: Annotated[
        str, typer.Argument(help="Card model key, 'cpu' or 'memory'.", show_default=False)
    ],
    rate: Annotated[
        str, typer.Option("--rate", help="Rate per hour, a decimal: 1.28.", show_default=False)
    ],
    unit: UnitOpt,
    effective_from: Annotated[
        str | None,
        typer.Option(help=f"From this time (default now; never before now). {TIME_HELP}"),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help="Tenant id (default: the platform-wide price).", show_default=False
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Add a price version (platform admin); prices are never edited, only superseded."""
    when: datetime | None = parse_time(effective_from, "--effective-from")
    with connect() as client:
        added = client.billing.add_price(
            meter, rate_per_hour=rate, unit=unit,
            effective_from=UNSET if when is None else when,
            tenant_id=UNSET if tenant is None else tenant,
        )  # fmt: skip
    emit(
        output_format(output),
        added,
        lambda: say(
            f"Priced '{added.meter}' at {added.rate_per_hour} {added.unit}/hour from "
            f"{added.effective_from.isoformat()}."
        ),
    )


def _event(
    kind: WalletEventKind,
    *,
    key: str | None = None,
    amount: str | None = None,
    unit: Unit | None = None,
    tenant: str | None,
    idempotency_key: str | None,
    output: OutputOpt,
) -> None:
    with connect() as client:
        event = client.billing.wallet_event(
            kind,
            key=UNSET if key is None else key,
            amount=UNSET if amount is None else amount,
            unit=UNSET if unit is None else unit,
            tenant_id=UNSET if tenant is None else tenant,
            idempotency_key=UNSET if idempotency_key is None else idempotency_key,
        )
    emit(output_format(output), event, lambda: show_event(event))


AmountArg = Annotated[str, typer.Argument(help="A decimal amount: 2.5.", show_default=False)]


@app.command()
def credit(
    amount: AmountArg,
    unit: UnitOpt,
    tenant: TenantOpt = None,
    idempotency_key: IdempotencyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Credit compute units, a voucher (platform admin)."""
    _event(
        "credit", amount=amount, unit=unit, tenant=tenant, idempotency_key=idempotency_key,
        output=output,
    )  # fmt: skip


@app.command()
def subscribe(
    plan: Annotated[str, typer.Argument(help="Plan key: trial, basic, advanced.")],
    tenant: TenantOpt = None,
    idempotency_key: IdempotencyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Subscribe to a plan (tenant admins)."""
    _event("subscribe", key=plan, tenant=tenant, idempotency_key=idempotency_key, output=output)


@app.command()
def extension(
    pack: Annotated[str, typer.Argument(help="Extension pack key: extension-10.")],
    tenant: TenantOpt = None,
    idempotency_key: IdempotencyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Buy an extension pack on top of the plan (tenant admins)."""
    _event("buy_extension", key=pack, tenant=tenant, idempotency_key=idempotency_key, output=output)


@app.command()
def trial(
    grant: Annotated[str, typer.Argument(help="Trial grant key: notebook-trial.")],
    tenant: TenantOpt = None,
    idempotency_key: IdempotencyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Grant a free-trial deduction package (platform admin)."""
    _event("grant_trial", key=grant, tenant=tenant, idempotency_key=idempotency_key, output=output)


@app.command("pay-arrears")
def pay_arrears(
    amount: AmountArg,
    unit: UnitOpt,
    tenant: TenantOpt = None,
    idempotency_key: IdempotencyOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record arrears settled outside the wallet (platform admin)."""
    _event(
        "pay_arrears", amount=amount, unit=unit, tenant=tenant, idempotency_key=idempotency_key,
        output=output,
    )  # fmt: skip


# -- what is costing now ---------------------------------------------------------------------


class CostScopeChoice(StrEnum):
    ME = "me"
    WORKSPACE = "workspace"
    TENANT = "tenant"


def _per_unit(item: CostItemRead, field: str) -> str:
    """``2.56 DCU`` summed per unit over the item's priced meters; ``-`` when none."""
    sums: dict[str, Decimal] = {}
    for m in item.meters:
        value = getattr(m, field)
        if value is not None and m.unit is not None:
            sums[m.unit] = sums.get(m.unit, Decimal(0)) + Decimal(value)
    return ", ".join(f"{v.normalize():f} {u}" for u, v in sorted(sums.items())) or "-"


def _meters(item: CostItemRead) -> str:
    return ", ".join(
        f"{m.quantity} {m.meter}" + (f" @ {m.rate_per_hour}/h" if m.rate_per_hour else "")
        for m in item.meters
    )


COST_COLUMNS: list[Column[CostItemRead]] = [
    ("KIND", lambda i: i.kind + (" (kept alive)" if i.kept_alive else "")),
    ("NAME", lambda i: i.name),
    ("WORKSPACE", lambda i: i.workspace_name),
    ("USER", lambda i: i.username),
    ("STATE", lambda i: i.state),
    ("SINCE", lambda i: i.since),
    ("METERS", _meters),
    ("RATE/H", lambda i: _per_unit(i, "per_hour")),
    ("THIS HOUR", lambda i: _per_unit(i, "accrued_hour")),
    ("SO FAR", lambda i: _per_unit(i, "accrued_total")),
    ("TO STOP", lambda i: i.hint),
]


def show_costs(costs: CostsRead) -> None:
    table(costs.items, COST_COLUMNS, empty="nothing is costing anything now")
    for t in costs.totals:
        say(
            f"Total {t.unit}: {t.per_hour}/h (this hour so far {t.accrued_hour}, "
            f"accrued {t.accrued_total})"
        )


@app.command("now")
def costs_now(
    scope: Annotated[
        CostScopeChoice,
        typer.Option(help="me: yours; workspace: all of one (its admins); tenant: all."),
    ] = CostScopeChoice.ME,
    workspace: Annotated[
        str | None, typer.Option(help="Workspace id or name (needed for --scope workspace).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """What is costing now: running jobs and dev environments, kept caches and storage over
    the free quota, each with its rate per hour and the command that stops it."""
    if scope is CostScopeChoice.WORKSPACE and not workspace:
        raise typer.BadParameter("--scope workspace needs --workspace", param_hint="--workspace")
    with connect() as client:
        found = client.billing.costs(scope=scope.value, workspace=workspace)
    emit(output_format(output), found, lambda: show_costs(found))
