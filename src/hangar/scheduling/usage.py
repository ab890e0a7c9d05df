"""Per-pool usage for display (RQ12: used / borrowed / total) and the borrowable amount (B4)."""

from __future__ import annotations

from dataclasses import dataclass

from hangar.scheduling.model import Queue, Quota, Snapshot
from hangar.scheduling.resources import ZERO, Resources


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """``used``: what the pool's own workloads draw from it. ``lent``: what other quotas'
    workloads borrowed from it. ``borrowed``: what its workloads borrowed from others.
    ``idle`` = total − used − lent, never negative; ``None`` for an unbounded queue."""

    pool_id: str
    total: Resources | None
    used: Resources
    lent: Resources
    borrowed: Resources
    idle: Resources | None


def pool_usage(snapshot: Snapshot) -> dict[str, PoolUsage]:
    """Usage of every quota and queue of the snapshot, from its running workloads."""
    used: dict[str, Resources] = {}
    lent: dict[str, Resources] = {}
    borrowed: dict[str, Resources] = {}
    for run in snapshot.running:
        used[run.pool_id] = used.get(run.pool_id, ZERO) + run.own
        for loan in run.loans:
            lent[loan.lender_id] = lent.get(loan.lender_id, ZERO) + loan.amount
            borrowed[run.pool_id] = borrowed.get(run.pool_id, ZERO) + loan.amount
    out: dict[str, PoolUsage] = {}
    pools: list[Quota | Queue] = [*snapshot.quotas, *snapshot.queues]
    for pool in pools:
        u, le = used.get(pool.id, ZERO), lent.get(pool.id, ZERO)
        idle = None if pool.total is None else (pool.total - u - le).clamp()
        out[pool.id] = PoolUsage(pool.id, pool.total, u, le, borrowed.get(pool.id, ZERO), idle)
    return out


def max_borrowable(snapshot: Snapshot, quota_id: str) -> Resources:
    """B4 (correcting RQ8): Σ over the *other* started, non-exclusive quotas of the same
    cluster of (total − in use − lent)."""
    usage = pool_usage(snapshot)
    me = next(q for q in snapshot.quotas if q.id == quota_id)
    total = ZERO
    for q in snapshot.quotas:
        if q.id != quota_id and q.cluster_id == me.cluster_id and q.started and not q.exclusive:
            idle = usage[q.id].idle
            if idle is not None and me.total.model_compatible(idle):
                total = total + idle
    return total
