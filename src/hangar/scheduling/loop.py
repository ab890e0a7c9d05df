"""The scheduler cycle: read the database into a :class:`Snapshot`, let the pure
:func:`schedule` decide, and write the decisions back. The only I/O in ``scheduling/``.

One cycle runs in one transaction, so a crash mid-cycle leaves nothing half-admitted: the
next cycle after a restart simply decides again.

- SUBMITTED workloads are queued (rule ``queue``).
- ADMIT: rule ``admit`` (QUEUED → PREPARING), a new run with what it borrowed per lender, and
  one run-node row per rank with its placement. The run reconciler launches it.
- WAIT: the reason goes to ``state_reason``, and to a ``scheduling`` event when it changes.
- REJECT: rule ``reject`` (→ FAILED) with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.billing.caps import plan_caps
from hangar.resources.orm import Device, Node
from hangar.resources.scheduler_view import scheduler_queues, scheduler_quotas
from hangar.scheduling import model
from hangar.scheduling.admission import schedule
from hangar.scheduling.decisions import Decision, Verdict
from hangar.scheduling.placement import BEST_FIT
from hangar.scheduling.placement import Device as PlacementDevice
from hangar.scheduling.placement import Node as PlacementNode
from hangar.scheduling.resources import ZERO, Resources
from hangar.tenancy.limits import user_limits
from hangar.tenancy.orm import Tenant, User
from hangar.workloads.lifecycle import LIVE, State
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.requests import node_resources, request_of
from hangar.workloads.service import current_run, do_note, do_start_run, do_transition


@dataclass(frozen=True)
class CycleReport:
    queued: int
    admitted: int
    waiting: int
    rejected: int


def run_cycle(
    session: Session, *, now: datetime, backend: str = "local", placement: str = BEST_FIT
) -> CycleReport:
    """One scheduler cycle; ``placement`` is the strategy (``settings.scheduler_placement``)."""
    queued = 0
    # Rows are locked for the cycle (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
    # writers), so a stop or restart committed meanwhile cannot be overwritten by an admit.
    for workload in session.scalars(
        select(Workload).where(Workload.state == State.SUBMITTED.value).with_for_update()
    ):
        do_transition(session, workload, "queue", now=now)
        queued += 1
    session.flush()
    pending = list(
        session.scalars(
            select(Workload)
            .where(Workload.state == State.QUEUED.value)
            .order_by(Workload.submitted_at, Workload.id)
            .with_for_update()
        )
    )
    if not pending:
        return CycleReport(queued, 0, 0, 0)
    live = list(
        session.scalars(select(Workload).where(Workload.state.in_([s.value for s in LIVE])))
    )
    runs = {w.id: current_run(session, w) for w in live}
    snapshot = model.Snapshot(
        quotas=tuple(scheduler_quotas(session)),
        queues=tuple(scheduler_queues(session)),
        running=tuple(_running(w, runs[w.id]) for w in live),
        pending=tuple(_pending(w) for w in pending),
        users=_users(session, pending, live),
        caps=plan_caps(session, {w.tenant_id for w in pending}, now=now),
    )
    nodes = _nodes(session, [r for r in runs.values() if r])
    decisions = schedule(snapshot, nodes, placement=placement)
    by_id = {w.id: w for w in pending}
    counts = {Verdict.ADMIT: 0, Verdict.WAIT: 0, Verdict.REJECT: 0}
    for decision in decisions:
        workload = by_id[decision.workload_id]
        counts[decision.verdict] += 1
        if decision.verdict is Verdict.ADMIT:
            _admit(session, workload, decision, now=now, backend=backend)
        elif decision.verdict is Verdict.REJECT:
            do_transition(session, workload, "reject", message=decision.message, now=now)
        elif workload.state_reason != decision.message:
            workload.state_reason = decision.message
            do_note(session, workload, "scheduling", decision.message, now=now)
    return CycleReport(queued, counts[Verdict.ADMIT], counts[Verdict.WAIT], counts[Verdict.REJECT])


def _pool(workload: Workload) -> str:
    return workload.quota_id or workload.queue_id or ""


def _pending(workload: Workload) -> model.PendingWorkload:
    return model.PendingWorkload(
        id=workload.id,
        pool_id=_pool(workload),
        workload_type=model.WorkloadType(workload.kind),
        user_id=workload.created_by or "",
        request=request_of(workload.spec),
        submitted_at=workload.submitted_at,
        priority=workload.priority,
        workspace_id=workload.workspace_id,
        cap_group=workload.tenant_id,
    )


def _amount(data: dict[str, Any]) -> Resources:
    return Resources(
        cpu_millicores=int(data.get("cpu_millicores", 0)),
        mem_bytes=int(data.get("mem_bytes", 0)),
        gpus=int(data.get("gpus", 0)),
        gpu_milli=int(data.get("gpu_milli", 0)),
    )


def _running(workload: Workload, run: Run | None) -> model.RunningWorkload:
    total = request_of(workload.spec).total
    loans = tuple(
        model.Loan(lender_id=lender, amount=_amount(amount))
        for lender, amount in ((run.borrowed if run else {}) or {}).items()
    )
    own = total
    for loan in loans:
        own = own - loan.amount
    return model.RunningWorkload(
        id=workload.id, pool_id=_pool(workload), user_id=workload.created_by or "",
        own=own, loans=loans, cap_group=workload.tenant_id,
    )  # fmt: skip


def _users(
    session: Session, pending: list[Workload], live: list[Workload]
) -> dict[str, model.UserState]:
    used: dict[str, Resources] = defaultdict(lambda: ZERO)
    for workload in live:
        used[workload.created_by or ""] = (
            used[workload.created_by or ""] + request_of(workload.spec).total
        )
    states: dict[str, model.UserState] = {}
    for user_id in {w.created_by for w in pending if w.created_by}:
        user = session.get(User, user_id)
        tenant = session.get(Tenant, user.tenant_id) if user else None
        if user is None or tenant is None:
            continue
        limits = user_limits(tenant, user).effective
        states[user_id] = model.UserState(
            limits=model.UserLimits(max_gpus=limits.max_gpus, max_cpu_cores=limits.max_cpus),
            used=used[user_id],
        )
    return states


def _nodes(session: Session, runs: list[Run]) -> list[PlacementNode]:
    """Inventory nodes with what live runs hold on them (CPU, memory, whole cards, and the
    VRAM and compute share of sliced cards)."""
    cpu: dict[str, int] = defaultdict(int)
    mem: dict[str, int] = defaultdict(int)
    held: set[str] = set()
    vram: dict[str, int] = defaultdict(int)
    compute: dict[str, int] = defaultdict(int)
    if runs:
        for node in session.scalars(
            select(RunNode).where(RunNode.run_id.in_([r.id for r in runs]))
        ):
            cpu[node.node_name] += int(node.resources.get("cpu_millicores", 0))
            mem[node.node_name] += int(node.resources.get("mem_bytes", 0))
            held.update(node.resources.get("devices", []))
            for piece in node.resources.get("slices") or ():
                vram[piece["uuid"]] += int(piece["vram_gib"])
                compute[piece["uuid"]] += int(piece.get("compute_percent") or 0)
    devices: dict[str, list[Device]] = defaultdict(list)
    for device in session.scalars(select(Device).order_by(Device.index)):
        devices[device.node_id].append(device)
    return [
        PlacementNode(
            name=n.name,
            cluster_id=n.cluster_id,
            cpu_millicores=n.cpu_millicores,
            mem_bytes=n.mem_bytes,
            cpu_used_millicores=cpu[n.name],
            mem_used_bytes=mem[n.name],
            healthy=n.healthy,
            cordoned=n.cordoned,
            devices=tuple(
                PlacementDevice(
                    uuid=d.uuid,
                    model=d.model,
                    vram_gib=d.memory_bytes // 2**30,
                    allocated=d.uuid in held,
                    used_vram_gib=vram[d.uuid],
                    used_compute_percent=compute[d.uuid],
                    faulty=not d.healthy,
                )
                for d in devices[n.id]
            ),
        )
        for n in session.scalars(select(Node).order_by(Node.name))
    ]


def _admit(
    session: Session, workload: Workload, decision: Decision, *, now: datetime, backend: str
) -> None:
    do_transition(session, workload, "admit", message=decision.message, now=now)
    run = do_start_run(session, workload, backend=backend)
    run.borrowed = {
        loan.lender_id: {
            "gpus": loan.amount.gpus,
            "gpu_milli": loan.amount.gpu_milli,
            "cpu_millicores": loan.amount.cpu_millicores,
            "mem_bytes": loan.amount.mem_bytes,
        }
        for loan in decision.loans
    }
    assert decision.placement is not None, "schedule() places every admitted workload"
    for rank in decision.placement.ranks:
        session.add(
            RunNode(
                run_id=run.id, rank=rank.rank, node_name=rank.node,
                resources=node_resources(workload.spec, rank),
            )
        )  # fmt: skip
