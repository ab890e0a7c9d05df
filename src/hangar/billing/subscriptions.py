"""The wallet state machine: plans, carry-over, extension packs and trial grants (spec 10 §2.5,
§2.6, §3, §5.4-§5.5; decisions J3, J5).

A :class:`Wallet` is an immutable value. :func:`apply_event` returns a new wallet plus the
:class:`Transition` records that explain every change, so any balance can be traced to the
events and rules that produced it. Time only moves forward: every event first advances the
wallet to its own time, crossing period ends, carry-over ends and tranche releases in order.

Lifecycle of a plan's compute (each arrow is a :class:`Rule`):

    paid ─credit_plan→ ACTIVE ─(period ends, amount left)─carry_over→ INACTIVE
    INACTIVE ─(re-subscription within 30 days)─activate_carry_over→ ACTIVE
    INACTIVE ─(no re-subscription)─forfeit_carry_over→ EXPIRED
    ACTIVE carry-over ─(its new period ends)─expire_activated_carry_over→ EXPIRED (never again)

Invariants:
- a plan period is alive ⇔ ``wallet.period`` is set; every alive plan bucket and activated
  carry-over ends exactly when that period ends;
- while a period is alive there is no inactive carry-over (subscribing activates it);
- queued plans (renewal, downgrade) have no bucket until they start, so their compute cannot
  be used during the current period (B-E13);
- buckets never go negative; an uncovered deduction becomes ``wallet.arrears``, repaid from
  paid compute (plan, carry-over, extension) as soon as some is usable, never from a trial.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hangar.billing.buckets import (
    Bucket,
    BucketSource,
    Deduction,
    deduct,
)
from hangar.billing.catalog import Catalog, Plan
from hangar.billing.errors import WalletConflict, invalid
from hangar.billing.money import (
    Amount,
    Unit,
    min_amount,
    require_compute_unit,
    require_positive,
    total,
)
from hangar.billing.rules import (
    ACTIVATE_CARRY_OVER,
    ARREARS_PAID,
    CARRY_OVER,
    CLOSE_EMPTY,
    CREDIT_EXTENSION,
    CREDIT_PLAN,
    EXPIRE_ACTIVATED_CARRY_OVER,
    EXPIRE_EXTENSION,
    EXPIRE_TRIAL_TRANCHE,
    FORFEIT_CARRY_OVER,
    HOLD_EXTENSION,
    REFRESH_ON_UPGRADE,
    RELEASE_TRIAL_TRANCHE,
    REPAY_ARREARS,
    RESUME_EXTENSION,
    SCHEDULE_TRIAL_TRANCHE,
    START_QUEUED_PLAN,
    UPGRADE_PLAN,
    VOUCHER_REPAYS_ARREARS,
    BucketState,
    Rule,
    Transition,
)
from hangar.billing.times import require_aware


@dataclass(frozen=True, slots=True)
class Period:
    """The current 30-day plan period, ``[start, end)``."""

    plan_key: str
    tier: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class QueuedPlan:
    """A renewal or downgrade paid for now and starting at ``starts_at`` (B-E13)."""

    plan_key: str
    paid_at: datetime
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class Wallet:
    """An account's compute-unit state as of ``as_of``. Build with :meth:`open`."""

    as_of: datetime
    buckets: tuple[Bucket, ...] = ()
    period: Period | None = None
    queued: tuple[QueuedPlan, ...] = ()
    arrears: tuple[Amount, ...] = ()
    next_bucket_id: int = 1

    @classmethod
    def open(cls, *, at: datetime) -> Wallet:
        return cls(as_of=require_aware(at, field="at"))

    def arrears_in(self, unit: Unit) -> Amount:
        return total((a for a in self.arrears if a.unit is unit), unit=unit)

    def bucket(self, bucket_id: int) -> Bucket:
        for bucket in self.buckets:
            if bucket.id == bucket_id:
                return bucket
        raise invalid("bucket_id", f"no bucket {bucket_id} in this wallet")


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe:
    """A plan was paid for at ``at``: starts now, upgrades now, or queues (B-E12, B-E13)."""

    at: datetime
    plan_key: str


@dataclass(frozen=True, slots=True)
class BuyExtension:
    """An extension pack was paid for (J3: needs a plan period or a carry-over alive)."""

    at: datetime
    pack_key: str


@dataclass(frozen=True, slots=True)
class GrantVoucher:
    """A compensation voucher (B-E6): pays arrears first, the rest becomes an extension pack."""

    at: datetime
    amount: Amount


@dataclass(frozen=True, slots=True)
class GrantTrial:
    """A free-trial grant, released in monthly tranches (B-T2)."""

    at: datetime
    grant_key: str


@dataclass(frozen=True, slots=True)
class Consume:
    """Usage to deduct (rated elsewhere). What no bucket covers becomes arrears."""

    at: datetime
    amount: Amount


@dataclass(frozen=True, slots=True)
class PayArrears:
    """Arrears settled outside the wallet (e.g. billed pay-as-you-go in currency)."""

    at: datetime
    amount: Amount


@dataclass(frozen=True, slots=True)
class Advance:
    """Only let time pass (crossing period ends, carry-over ends, tranche releases)."""

    at: datetime


WalletEvent = Subscribe | BuyExtension | GrantVoucher | GrantTrial | Consume | PayArrears | Advance


@dataclass(frozen=True, slots=True)
class Applied:
    """The result of one event: the new wallet, what changed, and any deduction made."""

    wallet: Wallet
    transitions: tuple[Transition, ...]
    deduction: Deduction | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """Compute units of one unit as of ``at``: usable now, held inactive, and not yet
    released (later trial tranches, queued plans), and the arrears owed."""

    at: datetime
    unit: Unit
    active: Amount
    inactive: Amount
    scheduled: Amount
    arrears: Amount


# -- public functions ------------------------------------------------------------------------


def apply_event(wallet: Wallet, event: WalletEvent, *, catalog: Catalog) -> Applied:
    """Advance ``wallet`` to ``event.at`` and apply ``event``. Pure: ``wallet`` is unchanged."""
    work = _Work(wallet, catalog)
    work.advance_to(require_aware(event.at, field="at"))
    deduction: Deduction | None = None
    match event:
        case Subscribe(at=at, plan_key=key):
            work.subscribe(catalog.plan(key), at)
        case BuyExtension(at=at, pack_key=key):
            pack = catalog.extension_pack(key)
            work.credit_extension(pack.compute, origin=pack.key, at=at)
        case GrantVoucher(at=at, amount=amount):
            work.grant_voucher(amount, at)
        case GrantTrial(at=at, grant_key=key):
            work.grant_trial(key, at)
        case Consume(at=at, amount=amount):
            deduction = work.consume(amount, at)
        case PayArrears(at=at, amount=amount):
            work.pay_arrears(amount, at)
        case Advance():
            pass  # only time passes: advance_to above did the work
    work.repay_arrears(event.at)
    return Applied(work.freeze(), tuple(work.transitions), deduction)


def advance(wallet: Wallet, *, to: datetime, catalog: Catalog) -> Applied:
    """Let time pass up to ``to`` (inclusive of boundaries at exactly ``to``)."""
    return apply_event(wallet, Advance(to), catalog=catalog)


def replay(
    events: Iterable[WalletEvent], *, opened_at: datetime, catalog: Catalog
) -> tuple[Wallet, tuple[Applied, ...]]:
    """Apply ``events`` in order to a wallet opened at ``opened_at``."""
    wallet = Wallet.open(at=opened_at)
    results: list[Applied] = []
    for event in events:
        applied = apply_event(wallet, event, catalog=catalog)
        results.append(applied)
        wallet = applied.wallet
    return wallet, tuple(results)


def balance(wallet: Wallet, *, unit: Unit, catalog: Catalog) -> Balance:
    """The balance in ``unit`` as of ``wallet.as_of`` (advance the wallet first for later)."""
    at = wallet.as_of
    zero = Amount.zero(unit)
    active = inactive = scheduled = zero
    for bucket in wallet.buckets:
        if bucket.unit is not unit:
            continue
        if bucket.valid_from > at:
            scheduled = scheduled + bucket.amount
        elif bucket.active:
            active = active + bucket.amount
        else:
            inactive = inactive + bucket.amount
    if unit is catalog.plan_unit:
        for queued in wallet.queued:
            compute = catalog.plan(queued.plan_key).compute
            if compute is not None:
                scheduled = scheduled + compute
    return Balance(at, unit, active, inactive, scheduled, wallet.arrears_in(unit))


def current_plan(wallet: Wallet, *, catalog: Catalog) -> Plan:
    """The plan whose period is alive, else the free plan. Its parallelism and free storage
    apply (J5: after an upgrade, the higher plan's, immediately)."""
    if wallet.period is None:
        return catalog.free_plan
    return catalog.plan(wallet.period.plan_key)


# -- the machine -----------------------------------------------------------------------------


class _Work:
    """Mutable scratch state for one :func:`apply_event` call, frozen back into a Wallet."""

    def __init__(self, wallet: Wallet, catalog: Catalog) -> None:
        self.catalog = catalog
        self.as_of = wallet.as_of
        self.buckets: list[Bucket] = list(wallet.buckets)
        self.period = wallet.period
        self.queued: list[QueuedPlan] = list(wallet.queued)
        self.arrears: dict[Unit, Amount] = {a.unit: a for a in wallet.arrears}
        self.next_id = wallet.next_bucket_id
        self.transitions: list[Transition] = []
        self.period_length = timedelta(days=catalog.plan_period_days)
        self.carry_length = timedelta(days=catalog.carry_over_days)

    def freeze(self) -> Wallet:
        owed = [self.arrears.get(unit) for unit in Unit]
        arrears = tuple(a for a in owed if a is not None and a.is_positive)
        return Wallet(
            as_of=self.as_of,
            buckets=tuple(self.buckets),
            period=self.period,
            queued=tuple(self.queued),
            arrears=arrears,
            next_bucket_id=self.next_id,
        )

    # -- bookkeeping

    def record(
        self,
        rule: Rule,
        at: datetime,
        bucket: Bucket | None,
        amount: Amount,
        *,
        from_state: BucketState | None = None,
    ) -> None:
        source = from_state if from_state is not None else rule.from_states[0]
        if source not in rule.from_states:
            raise AssertionError(f"rule {rule.name} cannot start from {source}")
        bucket_id = bucket.id if bucket is not None else None
        self.transitions.append(Transition(at, rule, bucket_id, amount, source, rule.to_state))

    def add_bucket(
        self,
        rule: Rule,
        at: datetime,
        *,
        source: BucketSource,
        origin: str,
        tier: int | None,
        amount: Amount,
        active: bool,
        valid_from: datetime,
        valid_to: datetime | None,
    ) -> Bucket:
        bucket = Bucket(
            id=self.next_id,
            source=source,
            origin=origin,
            tier=tier,
            amount=amount,
            granted=amount,
            active=active,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        self.next_id += 1
        self.buckets.append(bucket)
        self.record(rule, at, bucket, bucket.amount)
        return bucket

    def put(self, bucket: Bucket) -> None:
        self.buckets = [bucket if b.id == bucket.id else b for b in self.buckets]

    def drop(self, bucket: Bucket) -> None:
        self.buckets = [b for b in self.buckets if b.id != bucket.id]

    def carry_over_alive(self) -> bool:
        return any(b.source is BucketSource.CARRY_OVER for b in self.buckets)

    # -- time

    def advance_to(self, to: datetime) -> None:
        if to < self.as_of:
            raise WalletConflict(
                f"event at {to.isoformat()} is before the wallet's time {self.as_of.isoformat()};"
                " apply events in time order",
                fields={"at": "must not be before the wallet's last event"},
            )
        while (boundary := self.next_boundary()) is not None and boundary <= to:
            self.cross(boundary)
        self.as_of = to

    def next_boundary(self) -> datetime | None:
        candidates = [b.valid_to for b in self.buckets if b.valid_to is not None]
        candidates += [b.valid_from for b in self.buckets if b.valid_from > self.as_of]
        if self.period is not None:
            candidates.append(self.period.end)
        later = [c for c in candidates if c > self.as_of]
        return min(later) if later else None

    def cross(self, t: datetime) -> None:
        """Everything that happens at instant ``t``, in a fixed order: buckets end, the period
        ends, a queued plan starts (activating the fresh carry-over), tranches are released,
        extension packs follow, arrears are repaid."""
        for bucket in [b for b in self.buckets if b.valid_to is not None and b.valid_to <= t]:
            self.end_bucket(bucket, t)
        if self.period is not None and self.period.end <= t:
            self.period = None
        if self.period is None and self.queued and self.queued[0].starts_at <= t:
            queued = self.queued.pop(0)
            self.start_period(self.catalog.plan(queued.plan_key), t, START_QUEUED_PLAN)
        for bucket in list(self.buckets):
            released = bucket.source is BucketSource.TRIAL_GRANT and bucket.within(t)
            if released and not bucket.active:
                self.put(replace(bucket, active=True))
                self.record(
                    RELEASE_TRIAL_TRANCHE,
                    t,
                    bucket,
                    bucket.amount,
                    from_state=BucketState.SCHEDULED,
                )
        self.sync_extensions(t)
        self.as_of = t
        self.repay_arrears(t)

    def end_bucket(self, bucket: Bucket, t: datetime) -> None:
        state = BucketState.ACTIVE if bucket.active else BucketState.INACTIVE
        if bucket.amount.is_zero:
            self.drop(bucket)
            self.record(CLOSE_EMPTY, t, bucket, bucket.amount, from_state=state)
            return
        if bucket.source is BucketSource.PLAN:
            carried = replace(
                bucket,
                source=BucketSource.CARRY_OVER,
                active=False,
                valid_from=t,
                valid_to=t + self.carry_length,
                carried_once=True,
            )
            self.put(carried)
            self.record(CARRY_OVER, t, carried, carried.amount)
            return
        self.drop(bucket)
        if bucket.source is BucketSource.CARRY_OVER:
            rule = EXPIRE_ACTIVATED_CARRY_OVER if bucket.active else FORFEIT_CARRY_OVER
            self.record(rule, t, bucket, bucket.amount)
        else:
            self.record(EXPIRE_TRIAL_TRANCHE, t, bucket, bucket.amount)

    def sync_extensions(self, t: datetime) -> None:
        plan_alive = self.period is not None
        carry_alive = self.carry_over_alive()
        for bucket in [b for b in self.buckets if b.source is BucketSource.EXTENSION]:
            state = BucketState.ACTIVE if bucket.active else BucketState.INACTIVE
            if not plan_alive and not carry_alive:
                self.drop(bucket)
                self.record(EXPIRE_EXTENSION, t, bucket, bucket.amount, from_state=state)
            elif plan_alive and not bucket.active:
                self.put(replace(bucket, active=True))
                self.record(RESUME_EXTENSION, t, bucket, bucket.amount)
            elif not plan_alive and bucket.active:
                self.put(replace(bucket, active=False))
                self.record(HOLD_EXTENSION, t, bucket, bucket.amount, from_state=BucketState.ACTIVE)

    # -- plans

    def subscribe(self, plan: Plan, at: datetime) -> None:
        if not plan.subscribable:
            raise invalid("plan", f"plan '{plan.name}' is free and cannot be subscribed to")
        if self.period is None:
            self.start_period(plan, at, CREDIT_PLAN)
        elif plan.tier > self.period.tier:
            self.upgrade(plan, at)
        else:
            starts = self.queued[-1].starts_at + self.period_length if self.queued else None
            self.queued.append(QueuedPlan(plan.key, at, starts or self.period.end))

    def start_period(self, plan: Plan, at: datetime, rule: Rule) -> None:
        assert plan.compute is not None
        end = at + self.period_length
        self.period = Period(plan.key, plan.tier, at, end)
        self.add_bucket(
            rule,
            at,
            source=BucketSource.PLAN,
            origin=plan.key,
            tier=plan.tier,
            amount=plan.compute,
            active=True,
            valid_from=at,
            valid_to=end,
        )
        for bucket in list(self.buckets):
            if bucket.source is BucketSource.CARRY_OVER and not bucket.active:
                activated = replace(bucket, active=True, valid_to=end)
                self.put(activated)
                self.record(ACTIVATE_CARRY_OVER, at, activated, activated.amount)
        self.sync_extensions(at)

    def upgrade(self, plan: Plan, at: datetime) -> None:
        """B-E12: the new period starts now; the old plan's compute (and any activated
        carry-over) now ends with it; queued plans move to start after it."""
        assert plan.compute is not None
        end = at + self.period_length
        for bucket in list(self.buckets):
            if bucket.source in (BucketSource.PLAN, BucketSource.CARRY_OVER) and bucket.active:
                refreshed = replace(bucket, valid_to=end)
                self.put(refreshed)
                self.record(REFRESH_ON_UPGRADE, at, refreshed, refreshed.amount)
        self.period = Period(plan.key, plan.tier, at, end)
        self.add_bucket(
            UPGRADE_PLAN,
            at,
            source=BucketSource.PLAN,
            origin=plan.key,
            tier=plan.tier,
            amount=plan.compute,
            active=True,
            valid_from=at,
            valid_to=end,
        )
        starts = end
        for index, queued in enumerate(self.queued):
            self.queued[index] = replace(queued, starts_at=starts)
            starts = starts + self.period_length

    # -- extension packs, vouchers, trials

    def credit_extension(self, compute: Amount, *, origin: str, at: datetime) -> None:
        if self.period is None and not self.carry_over_alive():
            raise WalletConflict(
                "an extension pack needs a plan period or a carry-over alive (J3); "
                "subscribe to a plan first",
                fields={"extension_pack": "no plan period or carry-over is alive"},
            )
        active = self.period is not None
        self.add_bucket(
            CREDIT_EXTENSION if active else HOLD_EXTENSION,
            at,
            source=BucketSource.EXTENSION,
            origin=origin,
            tier=None,
            amount=compute,
            active=active,
            valid_from=at,
            valid_to=None,
        )

    def grant_voucher(self, amount: Amount, at: datetime) -> None:
        require_compute_unit(amount, field="amount")
        require_positive(amount, field="amount")
        owed = self.arrears.get(amount.unit, Amount.zero(amount.unit))
        paid = min_amount(owed, amount)
        if paid.is_positive:
            self.arrears[amount.unit] = owed - paid
            self.record(VOUCHER_REPAYS_ARREARS, at, None, paid)
        rest = amount - paid
        if rest.is_positive:
            self.credit_extension(rest, origin="voucher", at=at)

    def grant_trial(self, key: str, at: datetime) -> None:
        terms = self.catalog.trial_grant(key)
        window = timedelta(days=terms.tranche_days)
        for index in range(terms.tranches):
            start = at + window * index
            self.add_bucket(
                RELEASE_TRIAL_TRANCHE if index == 0 else SCHEDULE_TRIAL_TRANCHE,
                at,
                source=BucketSource.TRIAL_GRANT,
                origin=terms.key,
                tier=None,
                amount=terms.tranche,
                active=index == 0,
                valid_from=start,
                valid_to=start + window,
            )

    # -- deductions and arrears

    def consume(self, amount: Amount, at: datetime) -> Deduction:
        buckets, deduction = deduct(self.buckets, amount, at=at)
        self.buckets = list(buckets)
        if deduction.shortfall.is_positive:
            unit = amount.unit
            self.arrears[unit] = self.arrears.get(unit, Amount.zero(unit)) + deduction.shortfall
        return deduction

    def repay_arrears(self, at: datetime) -> None:
        paid_sources = (BucketSource.CARRY_OVER, BucketSource.EXTENSION, BucketSource.PLAN)
        for unit, owed in list(self.arrears.items()):
            if not owed.is_positive:
                continue
            buckets, deduction = deduct(self.buckets, owed, at=at, sources=paid_sources)
            self.buckets = list(buckets)
            self.arrears[unit] = deduction.shortfall
            for take in deduction.takes:
                self.record(REPAY_ARREARS, at, self.find(take.bucket_id), take.amount)

    def pay_arrears(self, amount: Amount, at: datetime) -> None:
        require_compute_unit(amount, field="amount")
        require_positive(amount, field="amount")
        owed = self.arrears.get(amount.unit, Amount.zero(amount.unit))
        if amount > owed:
            raise invalid("amount", f"{amount} is more than the {owed} of arrears owed")
        self.arrears[amount.unit] = owed - amount
        self.record(ARREARS_PAID, at, None, amount)

    def find(self, bucket_id: int) -> Bucket:
        return next(b for b in self.buckets if b.id == bucket_id)
