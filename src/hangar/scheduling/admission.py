"""Admission: which pending workloads start now, which wait and why (spec 02 §4-§8).

``admit(snapshot)`` decides against quotas and queues only; ``schedule(snapshot, nodes)`` also
places every admitted workload on nodes and devices (placement.py), so a workload that fits
its quota but no node waits. Both are pure and deterministic.

The rules, each applied where the docstrings below say:

- RQ17/Q5, RQ1/Q3: a workload whose type the pool does not allow, or whose workspace is not
  associated with it, is rejected, not queued.
- B6/RQ10: each pool's queue is ordered by admin priority (higher first), then submission
  time, then id. Strict head-of-line blocking: when the head cannot be admitted, nothing
  behind it in that pool is ("waiting behind <id>"). That is the ``"fifo"`` policy (the
  default); a pool with policy ``"best_effort"`` lets its head wait with its usual reason and
  goes on down its queue in the same order, admitting what fits (and holds no one back by
  the per-user limit or the plan cap either).
- RQ15/Q10/B10: a stopped pool admits nothing (its queue waits) and lends nothing.
- RQ7/RQ9/B4: a quota with idle borrowing on takes what it lacks from the idle capacity
  (total − in use − lent) of the other started, non-exclusive quotas of its cluster, lowest
  weight first. Queues never borrow or lend (Q2).
- Spec 02 §7: a workload that would take its user over the per-user GPU or CPU limit waits
  with the requested, used and limit figures. It holds back the same user's later workloads
  in that pool but not other users' (see docs/scheduling.md for why).
- Spec 10 §2.3: a tenant on a prepaid plan has a parallelism cap (Σ cards × card-model
  weight over its live workloads). A workload that would exceed it waits at the head of its
  pool (head-of-line under "fifo", like a full pool); one larger than the cap on its own is
  rejected.
- Admissions consume capacity (quota, lenders, user, nodes, plan cap) at once, so later
  decisions in the same cycle see it.

A cycle runs in three passes so that no quota lends capacity its own queue could use:
1. all started pools admit from their own capacity, interleaved by (priority, submission
   time) across pools so older work is placed first; a quota with borrowing whose head needs
   more than it has is set aside;
2. the set-aside quotas, highest weight first, borrow for their head and continue;
3. whatever is left behind a blocked head waits behind it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Protocol

from hangar.scheduling.decisions import Code, Decision, Verdict
from hangar.scheduling.model import (
    FIFO,
    Loan,
    ParallelismCap,
    PendingWorkload,
    Queue,
    Quota,
    Request,
    Snapshot,
    UserLimits,
)
from hangar.scheduling.placement import BEST_FIT, Inventory, Node, Placement, Unplaceable
from hangar.scheduling.resources import MILLI, ZERO, Resources, fmt_cpu, fmt_gpus, fmt_mem
from hangar.scheduling.rules import refusal


class Placer(Protocol):
    """What admission needs from placement (``placement.Inventory`` implements it)."""

    def place(self, cluster_id: str, request: Request) -> Placement | Unplaceable: ...

    def never_fits(self, cluster_id: str, request: Request) -> str | None: ...


class _Step(Enum):
    NEXT = 1  # decided (admitted, held or rejected): go on with the next in this pool
    BLOCK = 2  # the head waits: under "fifo" nothing behind it in this pool is admitted (RQ10)
    LATER = 3  # pass 1 only: the head needs to borrow; retry it in pass 2


_Key = tuple[int, datetime, str]


class _Pool:
    """Per-cycle mutable state of one quota or queue."""

    __slots__ = (
        "borrowing",
        "cluster",
        "fifo",
        "id",
        "idle",
        "label",
        "pos",
        "queue",
        "quota",
        "source",
        "started",
        "weight",
    )

    def __init__(self, source: Quota | Queue, label: str) -> None:
        self.source = source
        self.id, self.label, self.cluster = source.id, label, source.cluster_id
        self.idle = source.total  # None: a queue bounded only by its cluster
        self.quota: Quota | None = None
        self.borrowing = False
        self.started = source.started
        self.fifo = source.policy == FIFO  # else best effort: a waiting head blocks nothing
        self.weight = 0
        self.queue: list[tuple[_Key, PendingWorkload]] = []
        self.pos = 0


def admit(snapshot: Snapshot) -> list[Decision]:
    """Admission against quotas and queues only (no placement)."""
    return _Cycle(snapshot, None).run()


def schedule(
    snapshot: Snapshot, nodes: Iterable[Node] | Inventory, *, placement: str = BEST_FIT
) -> list[Decision]:
    """Admission plus placement on ``nodes`` (all clusters'); admitted decisions carry their
    placement. Workloads larger than any node of their cluster are rejected. ``placement`` is
    one of ``placement.PLACEMENTS`` (``"best_fit"`` or ``"first_fit"``). An ``Inventory``
    kept across cycles (the simulator's) is used as it is, with its own strategy; its grants
    stay granted."""
    if isinstance(nodes, Inventory):
        if nodes.strategy != placement:
            raise ValueError(f"the inventory places by {nodes.strategy}, not {placement}")
        inventory = nodes
    else:
        inventory = Inventory(nodes, strategy=placement)
    return _Cycle(snapshot, inventory).run()


class _Cycle:
    def __init__(self, snapshot: Snapshot, placer: Placer | None) -> None:
        self.snapshot = snapshot
        self.placer = placer
        self.out: list[Decision] = []
        self.pools: dict[str, _Pool] = {}
        self.lenders: dict[str, list[_Pool]] = {}
        # user -> [gpu milli, cpu millicores] in use, updated as workloads are admitted
        self.user_used: dict[str, list[int]] = {}
        self.held: dict[tuple[str, str], str] = {}  # (pool, user) -> workload held by §7
        self.cap_used: dict[str, int] = {}  # cap group -> weighted cards held (10 §2.3)
        self._build_pools()
        self._charge_running()

    # -- setup ----------------------------------------------------------------------------

    def _build_pools(self) -> None:
        for q in self.snapshot.quotas:
            pool = _Pool(q, f"quota '{q.name}'")
            pool.quota, pool.borrowing, pool.weight = q, q.borrowing, q.weight
            self.pools[q.id] = pool
        for qu in self.snapshot.queues:
            self.pools[qu.id] = _Pool(qu, f"queue '{qu.name}'")
        # RQ9, B10, Q2: only started, non-exclusive quotas lend; lowest weight first (RQ7).
        for q in sorted(self.snapshot.quotas, key=lambda q: (q.weight, q.id)):
            if q.started and not q.exclusive:
                self.lenders.setdefault(q.cluster_id, []).append(self.pools[q.id])

    def _charge_running(self) -> None:
        """Take what running work holds (own shares and loans) off each pool's idle capacity:
        summed per pool in integers first, then one subtraction each (thousands run)."""
        held: dict[str, list[int]] = {}

        def charge(pool_id: str, amount: Resources) -> None:
            pool = self.pools.get(pool_id)
            if pool is None or pool.idle is None:
                return
            total = held.setdefault(pool_id, [0, 0, 0])
            total[0] += amount.cpu_millicores
            total[1] += amount.mem_bytes
            total[2] += amount.gpu_total_milli

        for run in self.snapshot.running:
            charge(run.pool_id, run.own)
            for loan in run.loans:
                charge(loan.lender_id, loan.amount)
        for pool_id, (cpu, mem, milli) in held.items():
            pool = self.pools[pool_id]
            assert pool.idle is not None
            pool.idle = pool.idle - Resources(cpu, mem, 0, None, milli)

    # -- the cycle ------------------------------------------------------------------------

    def run(self) -> list[Decision]:
        self._route()
        heap: list[tuple[_Key, int]] = []
        order = [p for p in self.pools.values() if p.queue]
        for i, pool in enumerate(order):
            if pool.started:
                heap.append((pool.queue[0][0], i))
            else:
                self._stopped(pool)
        heapq.heapify(heap)
        borrowers: list[_Pool] = []
        while heap:  # pass 1: own capacity, oldest (highest priority) work first
            _, i = heapq.heappop(heap)
            pool = order[i]
            step = self._try(pool, pool.queue[pool.pos][1], borrow=False)
            if step is _Step.BLOCK and not pool.fifo:
                step = _Step.NEXT  # best effort: the head waits, the rest go on
            if step is _Step.LATER:
                borrowers.append(pool)
                continue
            pool.pos += 1
            if step is _Step.NEXT and pool.pos < len(pool.queue):
                heapq.heappush(heap, (pool.queue[pool.pos][0], i))
        borrowers.sort(key=lambda p: (-p.weight, p.id))
        for pool in borrowers:  # pass 2: borrowing quotas, highest weight first
            while pool.pos < len(pool.queue):
                step = self._try(pool, pool.queue[pool.pos][1], borrow=True)
                pool.pos += 1
                if step is _Step.BLOCK and pool.fifo:
                    break
        for pool in order:  # pass 3: everything behind a blocked head
            if pool.started and pool.pos < len(pool.queue):
                head = pool.queue[pool.pos - 1][1].id
                message = f"waiting behind {head} (head of {pool.label})"
                for _, w in pool.queue[pool.pos :]:
                    self._decide(w, pool, Verdict.WAIT, Code.BEHIND_HEAD, "RQ10", message)
        return self.out

    def _route(self) -> None:
        """Reject what no pool may take; queue the rest in (priority, time, id) order (B6)."""
        for w in self.snapshot.pending:
            pool = self.pools.get(w.pool_id)
            if pool is None:
                self._reject(
                    w,
                    None,
                    Code.UNKNOWN_POOL,
                    "RQ17",
                    f"rejected: quota or queue '{w.pool_id}' does not exist",
                )
                continue
            problem = self._not_allowed(pool, w)
            if problem is not None:
                code, rule, message = problem
                self._reject(w, pool, code, rule, message)
                continue
            pool.queue.append(((-w.priority, w.submitted_at, w.id), w))
        for pool in self.pools.values():
            pool.queue.sort(key=_first)

    def _not_allowed(self, pool: _Pool, w: PendingWorkload) -> tuple[Code, str, str] | None:
        found = refusal(pool.source, w.workload_type, w.workspace_id)
        if found is not None:
            field, rule, message = found
            code = Code.TYPE_NOT_ALLOWED if field == "workload_type" else Code.WORKSPACE_NOT_ALLOWED
            return code, rule, f"rejected: {message}"
        want = w.request.per_node
        if pool.idle is not None and not want.model_compatible(pool.idle):
            return (
                Code.MODEL_MISMATCH,
                "RQ4",
                f"rejected: {pool.label} holds {pool.idle.gpu_model} cards; the request asks "
                f"for {want.gpu_model}",
            )
        return None

    def _stopped(self, pool: _Pool) -> None:
        kind = "quota" if pool.quota else "queue"
        message = (
            f"waiting: {pool.label} is stopped; queued workloads start after an admin starts "
            f"the {kind} again"
        )
        rule = "B10" if pool.quota else "Q10"
        for _, w in pool.queue:
            self._decide(w, pool, Verdict.WAIT, Code.POOL_STOPPED, rule, message)
        pool.pos = len(pool.queue)

    # -- one workload ---------------------------------------------------------------------

    def _try(self, pool: _Pool, w: PendingWorkload, *, borrow: bool) -> _Step:
        """Decide the pool's current head ``w``."""
        if self.placer is not None:
            never = self.placer.never_fits(pool.cluster, w.request)
            if never is not None:
                self._reject(w, pool, Code.NEVER_FITS, "spec 02 §8.1", f"rejected: {never}")
                return _Step.NEXT
        held_by = self.held.get((pool.id, w.user_id)) if pool.fifo else None
        if held_by is not None:
            self._decide(
                w, pool, Verdict.WAIT, Code.BEHIND_USER, "spec 02 §7",
                f"waiting behind {held_by} (an earlier workload of user '{w.user_id}' in "
                f"{pool.label}, held by the per-user limit)",
            )  # fmt: skip
            return _Step.NEXT
        over = self._user_limit(w)
        if over is not None:
            if pool.fifo:  # best effort: the user's later, smaller work may still fit
                self.held[(pool.id, w.user_id)] = w.id
            self._decide(w, pool, Verdict.WAIT, Code.USER_LIMIT, "spec 02 §7", over)
            return _Step.NEXT
        capped = self._plan_cap(w)
        if capped is not None:
            verdict, message = capped
            if verdict is Verdict.REJECT:
                self._reject(w, pool, Code.PLAN_PARALLELISM, "spec 10 §2.3", message)
                return _Step.NEXT
            self._decide(w, pool, Verdict.WAIT, Code.PLAN_PARALLELISM, "spec 10 §2.3", message)
            return _Step.BLOCK
        want = w.request.total
        loans: list[tuple[_Pool, Resources]] = []
        if pool.idle is None or want.fits(pool.idle):
            own = want
        elif not pool.borrowing:
            self._decide(
                w, pool, Verdict.WAIT, Code.POOL_FULL, "RQ10",
                f"waiting: head of {pool.label} needs {_needs(want, pool.idle)}, borrowing off",
            )  # fmt: skip
            return _Step.BLOCK
        elif not borrow:
            return _Step.LATER
        else:
            own = want.min(pool.idle)
            found = self._borrow(pool, want - own)
            if found is None:
                lendable = self._lendable(pool, want)
                self._decide(
                    w, pool, Verdict.WAIT, Code.BORROW_SHORT, "RQ7",
                    f"waiting: head of {pool.label} needs "
                    f"{_needs(want, pool.idle, lendable)}",
                )  # fmt: skip
                return _Step.BLOCK
            loans = found
        placement = None
        if self.placer is not None:
            placed = self.placer.place(pool.cluster, w.request)
            if isinstance(placed, Unplaceable):
                self._decide(
                    w, pool, Verdict.WAIT, Code.NO_NODE, "spec 02 §8.5",
                    f"waiting: {pool.label} has room but {placed.reason}",
                )  # fmt: skip
                return _Step.BLOCK
            placement = placed
        self._commit(pool, w, own, loans)
        self._admitted(pool, w, own, loans, placement)
        return _Step.NEXT

    def _borrow(self, pool: _Pool, need: Resources) -> list[tuple[_Pool, Resources]] | None:
        """RQ7/B4: take ``need`` from other lenders' idle capacity, lowest weight first."""
        loans: list[tuple[_Pool, Resources]] = []
        for lender in self.lenders.get(pool.cluster, ()):
            if lender is pool or lender.idle is None or not need.model_compatible(lender.idle):
                continue
            take = need.min(lender.idle)
            if take.is_zero():
                continue
            loans.append((lender, take))
            need = need - take
            if need.is_zero():
                return loans
        return loans if need.is_zero() else None

    def _lendable(self, pool: _Pool, want: Resources) -> Resources:
        total = ZERO
        for lender in self.lenders.get(pool.cluster, ()):
            if (
                lender is not pool
                and lender.idle is not None
                and want.model_compatible(lender.idle)
            ):
                total = total + lender.idle.clamp()
        return total

    def _commit(
        self, pool: _Pool, w: PendingWorkload, own: Resources, loans: list[tuple[_Pool, Resources]]
    ) -> None:
        if pool.idle is not None:
            pool.idle = pool.idle - own
        for lender, amount in loans:
            assert lender.idle is not None
            lender.idle = lender.idle - amount
        used = self._used(w.user_id)
        want = w.request.total
        used[0] += want.gpu_total_milli
        used[1] += want.cpu_millicores
        cap = self._cap(w.cap_group)
        if cap is not None and w.cap_group is not None:
            self.cap_used[w.cap_group] = self._cap_used(w.cap_group) + cap.units(want)

    # -- plan parallelism (spec 10 §2.3) --------------------------------------------------

    def _cap(self, group: str | None) -> ParallelismCap | None:
        return None if group is None else self.snapshot.caps.get(group)

    def _cap_used(self, group: str) -> int:
        used = self.cap_used.get(group)
        if used is None:
            cap = self.snapshot.caps[group]
            used = self.cap_used[group] = sum(
                cap.units(r.held) for r in self.snapshot.running if r.cap_group == group
            )
        return used

    def _plan_cap(self, w: PendingWorkload) -> tuple[Verdict, str] | None:
        cap = self._cap(w.cap_group)
        if cap is None or w.cap_group is None:
            return None
        asks = cap.units(w.request.total)
        if not asks:
            return None
        used = self._cap_used(w.cap_group)
        if used + asks <= cap.cap:
            return None
        figures = (
            f"it asks {asks} (cards × card-model weight), the tenant's running work holds "
            f"{used}, and plan '{cap.plan}' allows {cap.cap}"
        )
        if asks > cap.cap:
            return Verdict.REJECT, (
                f"rejected: {figures}: it can never run on this plan; ask for fewer cards or "
                "upgrade the plan"
            )
        return Verdict.WAIT, (
            f"waiting: {figures}; it starts when running work ends, or upgrade the plan"
        )

    # -- per-user limits (spec 02 §7) -----------------------------------------------------

    def _used(self, user: str) -> list[int]:
        used = self.user_used.get(user)
        if used is None:
            state = self.snapshot.users.get(user)
            held = state.used if state is not None else ZERO
            used = self.user_used[user] = [held.gpu_total_milli, held.cpu_millicores]
        return used

    def _limits(self, user: str) -> UserLimits:
        state = self.snapshot.users.get(user)
        return state.limits if state is not None else self.snapshot.default_limits

    def _user_limit(self, w: PendingWorkload) -> str | None:
        want = w.request.total
        gpu_used, cpu_used = self._used(w.user_id)
        limits = self._limits(w.user_id)
        if (
            gpu_used + want.gpu_total_milli <= limits.max_gpus * MILLI
            and cpu_used + want.cpu_millicores <= limits.max_cpu_cores * MILLI
        ):
            return None
        return (
            f"waiting: user '{w.user_id}' would exceed the per-user limit: "
            f"GPU cards requested {_n(want.gpu_total_milli)}, used {_n(gpu_used)}, "
            f"limit {limits.max_gpus}; CPU cores requested {_n(want.cpu_millicores)}, "
            f"used {_n(cpu_used)}, limit {limits.max_cpu_cores}"
        )

    # -- decisions ------------------------------------------------------------------------

    def _admitted(
        self,
        pool: _Pool,
        w: PendingWorkload,
        own: Resources,
        loans: list[tuple[_Pool, Resources]],
        placement: Placement | None,
    ) -> None:
        message = f"admitted to {pool.label}"
        if loans:
            parts = ", ".join(
                f"{amount.describe()} from {lender.label} (weight {lender.weight})"
                for lender, amount in loans
            )
            message += f", borrowing {parts}"
        if placement is not None:
            nodes = sorted(set(placement.nodes))
            message += f" on {', '.join(nodes)}"
        self.out.append(
            Decision(
                workload_id=w.id,
                verdict=Verdict.ADMIT,
                code=Code.ADMITTED_BORROWING if loans else Code.ADMITTED,
                rule="RQ7" if loans else "RQ10",
                message=message,
                pool_id=pool.id,
                own=own,
                loans=tuple(Loan(lender.id, amount) for lender, amount in loans),
                placement=placement,
            )
        )

    def _decide(
        self, w: PendingWorkload, pool: _Pool, verdict: Verdict, code: Code, rule: str, msg: str
    ) -> None:
        self.out.append(Decision(w.id, verdict, code, rule, msg, pool.id))

    def _reject(
        self, w: PendingWorkload, pool: _Pool | None, code: Code, rule: str, msg: str
    ) -> None:
        self.out.append(Decision(w.id, Verdict.REJECT, code, rule, msg, pool.id if pool else None))


def _first(item: tuple[_Key, PendingWorkload]) -> _Key:
    return item[0]


def _n(milli: int) -> str:
    return f"{milli / MILLI:.2f}".rstrip("0").rstrip(".")


def _needs(want: Resources, free: Resources, lendable: Resources | None = None) -> str:
    """``4 GPUs, 2 free`` for every component that does not fit (with what is borrowable)."""
    parts = []
    rows = (
        (
            want.gpu_total_milli,
            free.gpu_total_milli,
            lendable and lendable.gpu_total_milli,
            fmt_gpus,
            _n,
        ),
        (
            want.cpu_millicores,
            free.cpu_millicores,
            lendable and lendable.cpu_millicores,
            fmt_cpu,
            _n,
        ),
        (want.mem_bytes, free.mem_bytes, lendable and lendable.mem_bytes, fmt_mem, _gib),
    )
    for need, have, extra, label, num in rows:
        if need > have:
            text = f"{label(need)}, {num(max(0, have))} free"
            if lendable is not None:
                text += f", {num(extra or 0)} borrowable from other quotas"
            parts.append(text)
    return "; ".join(parts)


def _gib(n: int) -> str:
    return fmt_mem(n).removesuffix(" memory")
