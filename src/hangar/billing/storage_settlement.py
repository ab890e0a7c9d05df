"""Daily storage settlement: each tenant's daily peak × its plan's terms → one ledger line
(spec 10 §2.4: B-E1..B-E5; decisions J1, J2).

For every completed UTC day not settled yet (``SettlementMark 'storage'``), each tenant with
a :class:`~hangar.billing.orm.StoragePeak` that day is charged
``ceil(max(0, peak − free)) GB × rate`` as one ``storage`` line keyed
``storage:tenant:{tenant_id}:{YYYY-MM-DD}`` whose period is that day. A GB is 1024³ bytes
(sizes are shown in G, and "2 TB" is read as 2048 G). A day is settled once it has ended and
:data:`GRACE` has passed ("deducted in the early morning of the next day", B-E3); the grace
lets a sample that began before midnight land before its day is closed (the meter drops
any sample for a settled day, so a settled bill never changes).

**The free quota is per tenant, applied to the tenant's total.** A plan is bought by a
tenant (its wallet) and B-E1 gives "the free quota per plan"; the worked example (Trial, 30 G
free, 50 GB used that day → 20 × 0.0015 = 0.03 DCU) has one account and one storage. Giving
every user and workspace its own 30 G would multiply the plan's quota by the number of
owners. So the billed peak is the peak of the tenant's total (the meter's ``tenant`` row,
sampled as one sum; if it is missing, the sum of the owners' peaks, an upper bound), and the
``user`` and ``workspace`` rows say who holds the storage. No line is written for a day
within the free quota.

Terms of a day (the state at the day's last instant):

- **Prepaid** tenants (wallet events before the day ended): free GB of
  :func:`~hangar.billing.subscriptions.current_plan` (the plan whose period is alive, else
  the free plan's 30 G), the catalog's rate (0.0015 DCU per GB-day), and a ``Consume`` of the
  amount from the wallet in the same transaction (key ``consume:{unit}:{line key}``, at the
  day's end or the wallet's last event if later), so any shortfall becomes arrears (B-E6).
- **Postpaid** tenants: billed only if the price book has a version of the meter
  ``storage`` in force when the day starts (its ``rate_per_hour`` column holds the rate per
  GB-day, in its unit), with ``postpaid_free_gb`` free (setting
  ``billing_storage_postpaid_free_gb``, default 0: B-M8's free shared storage is a separate
  product). Without such a price, postpaid storage is free, as an unpriced compute meter is.

Exactly once: a day is one transaction (its lines, the wallets' ``Consume`` events and the
mark). A line is inserted only if its key is absent, and the ``Consume`` commits with it. A
server killed at any instant either committed a day or did not; after a restart the day is
settled again and only missing keys are added.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.catalog import DEFAULT_CATALOG, Catalog
from hangar.billing.money import Amount, format_decimal, quantize, ratio
from hangar.billing.orm import (
    LedgerEntry,
    PriceVersionRow,
    SettlementMark,
    StoragePeak,
    WalletEventRow,
)
from hangar.billing.service import (
    do_append_event,
    event_from_row,
    tenant_prices,
    wallet_event_at,
    wallet_rows,
)
from hangar.billing.storage import StorageCharge, daily_storage_charge
from hangar.billing.storage_meter import MARK, MAX_ENTRIES, TENANT, StorageMeter
from hangar.billing.subscriptions import Consume, advance, current_plan, replay
from hangar.db.engine import transaction
from hangar.errors import HangarError

log = logging.getLogger("hangar.billing")

DAY = timedelta(days=1)
GB = Decimal(1024**3)
STORAGE_METER = "storage"
GRACE = timedelta(hours=1)
"""How long after midnight a day is settled: samples begun before midnight land first."""
_LAST_INSTANT = timedelta(microseconds=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def line_key(tenant_id: str, day: date) -> str:
    return f"storage:{TENANT}:{tenant_id}:{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class StorageTerms:
    """What a tenant's storage costs on one day."""

    free_gb: Decimal
    rate_per_gb_day: Amount
    prepaid: bool
    source: str
    """The plan key (prepaid) or the price version id (postpaid), for the line's note."""


def storage_terms(
    session: Session, *, tenant_id: str, day: date, catalog: Catalog, postpaid_free_gb: Decimal
) -> StorageTerms | None:
    """The terms in force at the end of ``day``; None when the tenant's storage is not billed."""
    end = day_start(day) + DAY
    rows = [row for row in wallet_rows(session, tenant_id=tenant_id) if row.at < end]
    if rows:
        wallet, _ = replay(
            (event_from_row(row) for row in rows), opened_at=rows[0].at, catalog=catalog
        )
        if wallet.as_of < end - _LAST_INSTANT:
            wallet = advance(wallet, to=end - _LAST_INSTANT, catalog=catalog).wallet
        plan = current_plan(wallet, catalog=catalog)
        return StorageTerms(plan.free_storage_gb, catalog.storage_rate_per_gb_day, True, plan.key)
    prices = tenant_prices(session, tenant_id=tenant_id)
    if not prices.priced(STORAGE_METER):
        return None
    for start, stop, version in prices.book.spans(STORAGE_METER):
        if start <= day_start(day) and (stop is None or day_start(day) < stop):
            version_id = prices.version_id(STORAGE_METER, version.effective_from)
            return StorageTerms(postpaid_free_gb, version.rate_per_hour, False, version_id)
    return None


def tenant_peaks(session: Session, *, day: date) -> dict[str, int]:
    """Each tenant's billed peak bytes on ``day``: its ``tenant`` row, else Σ owners' peaks."""
    totals: dict[str, int] = {}
    owners_sum: dict[str, int] = defaultdict(int)
    for row in session.scalars(select(StoragePeak).where(StoragePeak.day == day.isoformat())):
        if row.owner_kind == TENANT:
            totals[row.owner_id] = row.peak_bytes
        else:
            owners_sum[row.tenant_id] += row.peak_bytes
    return {tid: totals.get(tid, owners_sum.get(tid, 0)) for tid in set(totals) | set(owners_sum)}


def _note(charge: StorageCharge, terms: StorageTerms) -> str:
    where = f"plan '{terms.source}'" if terms.prepaid else f"price {terms.source}"
    return (
        f"peak {format_decimal(quantize(charge.peak_gb, Decimal('0.001')))} GB, "
        f"{format_decimal(charge.free_gb)} GB free ({where}): {charge.billable_gb} GB × "
        f"{format_decimal(charge.rate_per_gb_day.value)} {charge.rate_per_gb_day.unit.value}"
        "/GB-day"
    )


def settle_day(
    session: Session, *, day: date, catalog: Catalog, postpaid_free_gb: Decimal = Decimal(0)
) -> int:
    """Settle ``day`` inside the caller's transaction; returns the lines added."""
    start = day_start(day)
    done = set(
        session.scalars(
            select(LedgerEntry.key).where(
                LedgerEntry.kind == "storage",
                LedgerEntry.period_start >= start,
                LedgerEntry.period_start < start + DAY,
            )
        )
    )
    prepaid = set(
        session.scalars(
            select(WalletEventRow.tenant_id).where(WalletEventRow.at < start + DAY).distinct()
        )
    )
    priced = session.scalar(
        select(PriceVersionRow.id).where(PriceVersionRow.meter == STORAGE_METER).limit(1)
    )
    added = 0
    for tenant_id, peak_bytes in sorted(tenant_peaks(session, day=day).items()):
        key = line_key(tenant_id, day)
        if key in done or (tenant_id not in prepaid and priced is None):
            continue
        terms = storage_terms(
            session, tenant_id=tenant_id, day=day, catalog=catalog,
            postpaid_free_gb=postpaid_free_gb,
        )  # fmt: skip
        if terms is None:
            continue
        charge = daily_storage_charge(
            day=day, peak_gb=ratio(Decimal(peak_bytes), GB), free_gb=terms.free_gb,
            rate_per_gb_day=terms.rate_per_gb_day,
        )  # fmt: skip
        if charge.billable_gb == 0:
            continue
        session.add(
            LedgerEntry(
                key=key, tenant_id=tenant_id, kind="storage", meter=STORAGE_METER,
                quantity=str(charge.billable_gb), amount=format_decimal(charge.amount.value),
                unit=charge.amount.unit.value,
                price_version_id=None if terms.prepaid else terms.source,
                period_start=start, period_end=start + DAY, note=_note(charge, terms),
            )
        )  # fmt: skip
        added += 1
        if terms.prepaid and charge.amount.is_positive:
            at = wallet_event_at(session, tenant_id=tenant_id, now=start + DAY)
            do_append_event(
                session, tenant_id=tenant_id, event=Consume(at, charge.amount),
                key=f"consume:{charge.amount.unit.value}:{key}", catalog=catalog,
                created_by=None,
            )  # fmt: skip
    return added


def first_unsettled_day(session: Session) -> date | None:
    mark = session.get(SettlementMark, MARK)
    if mark is not None:
        return mark.settled_until.astimezone(UTC).date()
    first = session.scalar(select(func.min(StoragePeak.day)))
    return None if first is None else date.fromisoformat(first)


def settle_storage(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    catalog: Catalog = DEFAULT_CATALOG,
    postpaid_free_gb: Decimal = Decimal(0),
    grace: timedelta = GRACE,
) -> int:
    """Settle every UTC day that ended at least ``grace`` before ``now`` and is not settled
    yet, one transaction per day. Returns the number of storage lines added."""
    with sessions() as session:
        day = first_unsettled_day(session)
    if day is None:
        return 0
    added = 0
    while day_start(day) + DAY + grace <= now:
        with transaction(sessions) as session:
            added += settle_day(
                session, day=day, catalog=catalog, postpaid_free_gb=postpaid_free_gb
            )
            mark = session.get(SettlementMark, MARK)
            end = day_start(day) + DAY
            if mark is None:
                session.add(SettlementMark(name=MARK, settled_until=end))
            elif mark.settled_until < end:
                mark.settled_until = end
        day += DAY
    return added


class StorageSettler:
    """The settlement loop body: settle what is due, log (never raise) a pricing error."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog = DEFAULT_CATALOG,
        *,
        postpaid_free_gb: Decimal = Decimal(0),
        grace: timedelta = GRACE,
    ) -> None:
        self.sessions, self.catalog = sessions, catalog
        self.postpaid_free_gb, self.grace = postpaid_free_gb, grace

    def step(self, now: datetime | None = None) -> int:
        try:
            return settle_storage(
                self.sessions, now=now or datetime.now(UTC), catalog=self.catalog,
                postpaid_free_gb=self.postpaid_free_gb, grace=self.grace,
            )  # fmt: skip
        except HangarError as exc:
            log.error("storage settlement stopped: %s; retrying at the next interval", exc)
            return 0


class StorageBilling:
    """One loop for storage: sample every owner's usage, then settle the days that ended."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        home: Path,
        catalog: Catalog = DEFAULT_CATALOG,
        *,
        postpaid_free_gb: Decimal = Decimal(0),
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.meter = StorageMeter(sessions, home, max_entries=max_entries)
        self.settler = StorageSettler(sessions, catalog, postpaid_free_gb=postpaid_free_gb)

    def step(self, now: datetime | None = None) -> int:
        """Sample, then settle; returns the storage lines added."""
        self.meter.step(now)
        return self.settler.step(now)
