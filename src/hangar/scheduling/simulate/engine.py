"""The replay: discrete events in virtual time through the server's own ``schedule()``.

Events are arrivals (a job's submit time) and completions (admission + runtime). At every
instant with events, completions free their nodes, cards and quota first, arrivals join the
queue, then one scheduling cycle runs — the same pure ``schedule(snapshot, nodes)`` the live
loop calls, on a snapshot built the way the live loop builds it: the quotas, what running work
holds from each quota and borrowed from which lender, the pending workloads in submission
order, and the nodes with what running work holds on them. Admitted jobs
start at that instant; rejected ones (larger than any node) are reported with their source
line. No clock is read for the replay and nothing sleeps; ``--cycle-seconds`` coalesces
instants into cycles every N virtual seconds, as a live loop interval would.

Two shortcuts keep a replay of thousands of cycles fast, both giving the decisions a fresh
snapshot would: the placement ``Inventory`` is kept across cycles (grants stay, completions
are released) instead of rebuilt from every node, and running work is passed as one
``RunningWorkload`` per quota holding the sum of its jobs' shares and loans — admission only
ever sums them per quota and lender (per-user limits come from ``Snapshot.users``, which the
replay leaves at the defaults).

Deterministic: the inputs fix every event, ties break by job id, and ``schedule()`` is
deterministic, so the same inputs give the same decisions (only wall-clock figures vary).
"""

from __future__ import annotations

import heapq
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hangar.scheduling.admission import schedule
from hangar.scheduling.decisions import Decision, Verdict
from hangar.scheduling.model import (
    Loan,
    PendingWorkload,
    RunningWorkload,
    Snapshot,
    WorkloadType,
)
from hangar.scheduling.placement import Inventory, Node, Placement
from hangar.scheduling.resources import Resources
from hangar.scheduling.simulate.scenario import CLUSTER, Job, Scenario

T0 = datetime(2023, 1, 1, tzinfo=UTC)  # virtual time zero (the trace's seconds count from it)


@dataclass(frozen=True, slots=True)
class Policy:
    """A named combination of the scheduler's knobs, applied to every quota."""

    name: str
    admission: str  # Quota.policy: "fifo" or "best_effort"
    borrowing: bool
    placement: str  # "best_fit" or "first_fit"


POLICIES = {
    "strict": Policy("strict", "fifo", False, "best_fit"),
    "borrowing": Policy("borrowing", "fifo", True, "best_fit"),
    "best_effort": Policy("best_effort", "best_effort", False, "best_fit"),
    "strict-first-fit": Policy("strict-first-fit", "fifo", False, "first_fit"),
    "borrowing-first-fit": Policy("borrowing-first-fit", "fifo", True, "first_fit"),
    "best_effort-first-fit": Policy("best_effort-first-fit", "best_effort", False, "first_fit"),
}


@dataclass(frozen=True, slots=True)
class Started:
    job: Job
    start: int
    end: int | None  # None: still running when the replay ends
    gpu_milli: int


@dataclass
class Outcome:
    """Everything the replay observed; :mod:`.metrics` turns it into figures."""

    scenario: Scenario
    policy: Policy
    started: dict[str, Started] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # job id → reason
    waiting: list[str] = field(default_factory=list)  # never admitted by the end
    # (t, GPU allocated, free on sliced cards), in thousandths of a card, after each instant
    samples: list[tuple[int, int, int]] = field(default_factory=list)
    cycles: int = 0
    decision_count: int = 0
    schedule_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    end: int = 0

    def scenario_job(self, job_id: str) -> Job:
        return self.scenario.job(job_id)


class _Allocation:
    """GPU capacity held, tracked from the placements granted and given back."""

    def __init__(self, nodes: tuple[Node, ...]) -> None:
        self.card_vram = {d.uuid: d.vram_gib for n in nodes for d in n.devices}
        self.vram: dict[str, int] = {}
        self.allocated = 0  # thousandths of a card held (whole cards, slices' VRAM share)
        self.fragmented = 0  # free thousandths on cards that hold slices

    def apply(self, placement: Placement, sign: int) -> None:
        for rank in placement.ranks:
            self.allocated += sign * 1000 * len(rank.gpu_uuids)
            for piece in rank.slices:
                uuid = piece.device_uuid
                before = self._share(uuid)
                self.vram[uuid] = self.vram.get(uuid, 0) + sign * piece.vram_gib
                after = self._share(uuid)
                self.allocated += after - before
                self.fragmented += (1000 - after if after else 0) - (1000 - before if before else 0)

    def _share(self, uuid: str) -> int:
        """The thousandths of a card its slices hold (their VRAM share)."""
        return min(1000, 1000 * self.vram.get(uuid, 0) // self.card_vram[uuid])


class _Held:
    """What running work holds per quota (its own share) and per (quota, lender) (loans)."""

    def __init__(self) -> None:
        self.own: dict[str, Resources] = {}
        self.loans: dict[tuple[str, str], Resources] = {}

    def add(self, workload: RunningWorkload, sign: int) -> None:
        pool = workload.pool_id
        self.own[pool] = _plus(self.own.get(pool), workload.own, sign)
        for loan in workload.loans:
            key = (pool, loan.lender_id)
            self.loans[key] = _plus(self.loans.get(key), loan.amount, sign)

    def workloads(self) -> tuple[RunningWorkload, ...]:
        return tuple(
            RunningWorkload(
                id=f"held-by-{pool}", pool_id=pool, user_id="", own=own,
                loans=tuple(
                    Loan(lender, amount)
                    for (borrower, lender), amount in sorted(self.loans.items())
                    if borrower == pool and not amount.is_zero()
                ),
            )
            for pool, own in sorted(self.own.items())
        )  # fmt: skip


def _plus(total: Resources | None, amount: Resources, sign: int) -> Resources:
    if total is None:
        total = Resources(gpu_model=amount.gpu_model)
    return total + amount if sign > 0 else total - amount


def replay(
    scenario: Scenario,
    policy: Policy,
    *,
    cycle_seconds: int = 0,
    on_cycle: Callable[[int, list[Decision]], None] | None = None,
) -> Outcome:
    """Replay ``scenario`` under ``policy``; ``on_cycle(t, decisions)`` sees every cycle."""
    wall = time.perf_counter()
    out = Outcome(scenario, policy, end=scenario.end)
    quotas = scenario.quotas(borrowing=policy.borrowing, policy=policy.admission)
    # One placement inventory for the whole replay: grants stay granted and completions give
    # theirs back, exactly the state a live cycle would rebuild from its nodes each time.
    inventory = Inventory(scenario.nodes, strategy=policy.placement)
    cluster = _Allocation(scenario.nodes)
    arrivals = sorted(scenario.jobs, key=lambda j: (j.submit, j.id))
    by_id = {j.id: j for j in scenario.jobs}
    completions: list[tuple[int, str]] = []
    pending: dict[str, PendingWorkload] = {}
    running: dict[str, tuple[RunningWorkload, Placement]] = {}
    held = _Held()
    nxt = 0
    while nxt < len(arrivals) or completions:
        t = min(
            arrivals[nxt].submit if nxt < len(arrivals) else scenario.end + 1,
            completions[0][0] if completions else scenario.end + 1,
        )
        if t > scenario.end:
            break
        if cycle_seconds:
            t = -(-t // cycle_seconds) * cycle_seconds  # the next cycle at or after it
        while completions and completions[0][0] <= t:
            _, job_id = heapq.heappop(completions)
            workload, placement = running.pop(job_id)
            held.add(workload, -1)
            inventory.release(CLUSTER, placement)
            cluster.apply(placement, -1)
        while nxt < len(arrivals) and arrivals[nxt].submit <= t:
            job = arrivals[nxt]
            pending[job.id] = PendingWorkload(
                id=job.id, pool_id=job.team, workload_type=WorkloadType.TRAINING,
                user_id=job.team, request=job.request,
                submitted_at=T0 + timedelta(seconds=job.submit),
            )  # fmt: skip
            nxt += 1
        if pending:
            snapshot = Snapshot(
                quotas=quotas,
                running=held.workloads(),
                pending=tuple(pending.values()),
            )
            started = time.perf_counter()
            decisions = schedule(snapshot, inventory, placement=policy.placement)
            out.schedule_seconds += time.perf_counter() - started
            out.cycles += 1
            out.decision_count += len(decisions)
            if on_cycle is not None:
                on_cycle(t, decisions)
            for decision in decisions:
                _apply(decision, t, by_id, pending, running, completions, cluster, out)
                if decision.verdict is Verdict.ADMIT:
                    held.add(running[decision.workload_id][0], +1)
        out.samples.append((t, cluster.allocated, cluster.fragmented))
    out.waiting = sorted(pending)
    out.wall_seconds = time.perf_counter() - wall
    out.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _apply(
    decision: Decision,
    t: int,
    by_id: dict[str, Job],
    pending: dict[str, PendingWorkload],
    running: dict[str, tuple[RunningWorkload, Placement]],
    completions: list[tuple[int, str]],
    cluster: _Allocation,
    out: Outcome,
) -> None:
    job_id = decision.workload_id
    if decision.verdict is Verdict.REJECT:
        out.rejected[job_id] = decision.message
        del pending[job_id]
        return
    if decision.verdict is not Verdict.ADMIT:
        return
    assert decision.placement is not None, "schedule() places every admitted workload"
    job = by_id[job_id]
    pending.pop(job_id)
    cluster.apply(decision.placement, +1)
    workload = RunningWorkload(
        id=job_id, pool_id=job.team, user_id=job.team, own=decision.own,
        loans=tuple(Loan(loan.lender_id, loan.amount) for loan in decision.loans),
    )  # fmt: skip
    running[job_id] = (workload, decision.placement)
    end = None if job.runtime is None else t + job.runtime
    if end is not None:
        heapq.heappush(completions, (end, job_id))
    out.started[job_id] = Started(job, t, end, job.request.total.gpu_total_milli)
