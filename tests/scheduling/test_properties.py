"""Property checks over many seeded random snapshots (no timing, no extra dependencies).

Whatever the inputs: admitted work never exceeds any quota, lender, user limit, node or card;
loans come only from lenders the rules allow; a blocked head blocks its queue; every pending
workload gets exactly one decision; the result does not depend on input order.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from hangar.scheduling import (
    Code,
    Decision,
    Node,
    PendingWorkload,
    Quota,
    RunningWorkload,
    Snapshot,
    UserLimits,
    UserState,
    Verdict,
    WorkloadType,
    admit,
    schedule,
)
from hangar.scheduling.resources import ZERO, Resources
from tests.scheduling.factories import job, node, queue, quota, vjob

SEEDS = range(150)
BLOCKING = {Code.POOL_FULL, Code.BORROW_SHORT, Code.NO_NODE, Code.BEHIND_HEAD}


def random_world(rng: random.Random) -> tuple[Snapshot, list[Node]]:
    quotas: list[Quota] = []
    nodes: list[Node] = []
    clusters = [f"c{i}" for i in range(rng.randint(1, 3))]
    for c in clusters:
        for j, weight in enumerate(rng.sample(range(1, 101), rng.randint(1, 6))):
            quotas.append(
                quota(
                    f"{c}-q{j}",
                    rng.randint(0, 8),
                    cpu=rng.randint(8, 64),
                    mem=rng.randint(32, 256),
                    cluster=c,
                    weight=weight,
                    borrowing=rng.random() < 0.6,
                    exclusive=rng.random() < 0.3,
                    started=rng.random() < 0.9,
                    types=frozenset({WorkloadType.TRAINING, WorkloadType.IDE}),
                )
            )
        for n in range(rng.randint(0, 5)):
            nodes.append(
                node(
                    f"{c}-n{n}",
                    rng.choice([0, 2, 4, 8]),
                    cpu=rng.choice([16, 32, 64]),
                    mem=rng.choice([64, 256]),
                    model="L40s",
                    vram=44,
                    cluster=c,
                    cordoned=rng.random() < 0.1,
                    allocated=rng.randint(0, 2),
                    faulty=(1,) if rng.random() < 0.1 else (),
                )
            )
    queues = [queue("qq", rng.choice([None, 4]), cluster=clusters[0])]
    pools = [q.id for q in quotas] + ["qq"]
    pending: list[PendingWorkload] = []
    for i in range(rng.randint(0, 40)):
        pool = rng.choice(pools)
        if rng.random() < 0.15:
            w = vjob(
                f"w{i}",
                pool,
                count=rng.randint(1, 3),
                vram=rng.choice([5, 10, 22]),
                phys=44,
                user=f"u{rng.randint(0, 3)}",
            )
        else:
            w = job(
                f"w{i}",
                pool,
                rng.randint(0, 4),
                t=rng.randint(0, 20),
                cpu=rng.randint(1, 16),
                mem=rng.randint(1, 64),
                user=f"u{rng.randint(0, 3)}",
                kind=rng.choice([WorkloadType.TRAINING, WorkloadType.IDE, WorkloadType.SERVICE]),
                priority=rng.choice([0, 0, 0, 1]),
                nodes=rng.choice([1, 1, 1, 2, 3]),
            )
        pending.append(w)
    users = {
        f"u{i}": UserState(UserLimits(rng.randint(1, 12), rng.randint(8, 64))) for i in range(4)
    }
    snap = Snapshot(quotas=tuple(quotas), queues=tuple(queues), pending=tuple(pending), users=users)
    return snap, nodes


def then_running(
    snap: Snapshot, decisions: list[Decision], rng: random.Random, cycle: int
) -> Snapshot:
    """The next cycle: admitted work runs (with its loans), and more work arrives."""
    pending = {w.id: w for w in snap.pending}
    running = [
        RunningWorkload(
            d.workload_id, d.pool_id or "", pending[d.workload_id].user_id, d.own, d.loans
        )
        for d in decisions
        if d.verdict is Verdict.ADMIT
    ]
    fresh, _ = random_world(rng)
    more = tuple(
        PendingWorkload(
            f"c{cycle}-{w.id}", w.pool_id, w.workload_type, w.user_id, w.request, w.submitted_at
        )
        for w in fresh.pending
        if w.pool_id in {q.id for q in snap.quotas} | {"qq"}
    )
    users = dict(snap.users)
    for r in running:
        loans = sum((loan.amount for loan in r.loans), ZERO)
        users[r.user_id] = UserState(users[r.user_id].limits, users[r.user_id].used + r.own + loans)
    waiting = tuple(
        w
        for w in snap.pending
        if w.id not in {d.workload_id for d in decisions if d.verdict is not Verdict.WAIT}
    )
    return Snapshot(
        quotas=snap.quotas,
        queues=snap.queues,
        running=tuple(running),
        pending=waiting + more,
        users=users,
    )


def check_quotas(snap: Snapshot, decisions: list[Decision]) -> None:
    by_id = {q.id: q for q in snap.quotas}
    pending = {w.id: w for w in snap.pending}
    charged: dict[str, Resources] = defaultdict(lambda: ZERO)
    for r in snap.running:
        charged[r.pool_id] += r.own
        for loan in r.loans:
            charged[loan.lender_id] += loan.amount
    for d in decisions:
        if d.verdict is not Verdict.ADMIT:
            continue
        w = pending[d.workload_id]
        assert d.own + d.borrowed == w.request.total, "own + loans = the request"
        charged[w.pool_id] += d.own
        borrower = by_id.get(w.pool_id)
        for loan in d.loans:
            lender = by_id[loan.lender_id]
            assert borrower is not None and borrower.borrowing, "only borrowing quotas borrow"
            assert lender.id != borrower.id and lender.cluster_id == borrower.cluster_id
            assert lender.started and not lender.exclusive, "RQ9, B10"
            charged[loan.lender_id] += loan.amount
    for q in snap.quotas:
        assert charged[q.id].fits(q.total), f"quota {q.id} over its total"
    for qu in snap.queues:
        if qu.total is not None:
            assert charged[qu.id].fits(qu.total)


def check_users(snap: Snapshot, decisions: list[Decision]) -> None:
    pending = {w.id: w for w in snap.pending}
    used = {u: [s.used.gpu_total_milli, s.used.cpu_millicores] for u, s in snap.users.items()}
    start = {u: list(v) for u, v in used.items()}
    for d in decisions:
        if d.verdict is Verdict.ADMIT:
            w = pending[d.workload_id]
            used[w.user_id][0] += w.request.total.gpu_total_milli
            used[w.user_id][1] += w.request.total.cpu_millicores
    for u, (g, c) in used.items():
        lim = snap.users[u].limits
        if (g, c) != tuple(start[u]):
            assert g <= lim.max_gpus * 1000 and c <= lim.max_cpu_cores * 1000, u


def check_head_of_line(snap: Snapshot, decisions: list[Decision]) -> None:
    verdict = {d.workload_id: d for d in decisions}
    queues: dict[str, list[PendingWorkload]] = defaultdict(list)
    for w in snap.pending:
        queues[w.pool_id].append(w)
    for ws in queues.values():
        ws.sort(key=lambda w: (-w.priority, w.submitted_at, w.id))
        blocked = False
        for w in ws:
            d = verdict[w.id]
            if d.verdict is Verdict.ADMIT:
                assert not blocked, f"{w.id} admitted behind a blocked head"
            if d.code in BLOCKING:
                blocked = True


def check_nodes(nodes: list[Node], decisions: list[Decision]) -> None:
    by_name = {n.name: n for n in nodes}
    cpu: Counter[str] = Counter()
    mem: Counter[str] = Counter()
    whole: Counter[str] = Counter()
    vram: Counter[str] = Counter()
    for d in decisions:
        if d.verdict is Verdict.ADMIT:
            assert d.placement is not None
            for r in d.placement.ranks:
                cpu[r.node] += r.cpu_millicores
                mem[r.node] += r.mem_bytes
                whole.update(r.gpu_uuids)
                for s in r.slices:
                    vram[s.device_uuid] += s.vram_gib
    for name in cpu:
        n = by_name[name]
        assert n.healthy and not n.cordoned
        assert cpu[name] <= n.cpu_millicores and mem[name] <= n.mem_bytes
    devices = {d.uuid: d for n in nodes for d in n.devices}
    for uuid, count in whole.items():
        dev = devices[uuid]
        assert count == 1 and not dev.allocated and not dev.faulty and vram[uuid] == 0
    for uuid, gib in vram.items():
        dev = devices[uuid]
        assert not dev.allocated and not dev.faulty and gib <= dev.vram_gib - dev.used_vram_gib


@pytest.mark.parametrize("seed", SEEDS)
def test_admitted_totals_never_exceed_capacity(seed: int) -> None:
    rng = random.Random(seed)
    snap, _ = random_world(rng)
    for cycle in range(3):
        out = admit(snap)
        assert sorted(d.workload_id for d in out) == sorted(w.id for w in snap.pending)
        check_quotas(snap, out)
        check_users(snap, out)
        check_head_of_line(snap, out)
        snap = then_running(snap, out, rng, cycle)


@pytest.mark.parametrize("seed", SEEDS)
def test_placements_never_overcommit_nodes_or_cards(seed: int) -> None:
    rng = random.Random(10_000 + seed)
    snap, nodes = random_world(rng)
    out = schedule(snap, nodes)
    assert sorted(d.workload_id for d in out) == sorted(w.id for w in snap.pending)
    check_quotas(snap, out)
    check_users(snap, out)
    check_head_of_line(snap, out)
    check_nodes(nodes, out)
    shuffled = list(snap.pending)
    rng.shuffle(shuffled)
    nodes_shuffled = list(nodes)
    rng.shuffle(nodes_shuffled)
    again = schedule(
        Snapshot(snap.quotas, snap.queues, snap.running, tuple(shuffled), snap.users),
        nodes_shuffled,
    )
    assert sorted(again, key=lambda d: d.workload_id) == sorted(out, key=lambda d: d.workload_id)
