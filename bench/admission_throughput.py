"""Admission + placement throughput of the scheduler core (hangar.scheduling).

Builds one snapshot from the public Alibaba GPU trace (/work/shared/traces/alibaba-gpu-v2023):
1,000 nodes sampled evenly from its 1,523 (GPU and CPU-only, by model), 200 resource quotas
and 10,000 pending workloads (its 8,152 "default" pods plus the first 1,848 of "multigpu20").
Fractional-GPU pods become vGPU slices, whole-GPU pods whole cards, the rest CPU-only.

Two measurements, timing only ``schedule()`` (the pure function), in this process:

- cold cycle: one cycle over all 10,000 pending workloads on an idle cluster (median of runs);
- steady state: repeated cycles on a simulated clock, as the live loop would run them:
  admitted pods run for their trace duration, then free their nodes and quota (borrowed
  capacity returns to the lender) and the next cycle runs. Reports the cycle latency with
  thousands still queued. Snapshot building between cycles (the integrator's work) is not
  timed.

Decisions = admit + wait + reject verdicts; admissions = admitted and placed workloads.

    .venv/bin/python bench/admission_throughput.py [--runs 5] [--cycles 300]
"""

from __future__ import annotations

import argparse
import csv
import heapq
import math
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hangar.scheduling import (
    Decision,
    Device,
    Node,
    PendingWorkload,
    Quota,
    Request,
    Resources,
    RunningWorkload,
    Snapshot,
    UserLimits,
    UserState,
    Verdict,
    VgpuDemand,
    WorkloadType,
    schedule,
)
from hangar.scheduling.specs import vgpu_share_milli

TRACE = Path("/work/shared/traces/alibaba-gpu-v2023")
NODES, QUOTAS, PENDING = 1000, 200, 10_000
TARGET = 2000.0  # decisions/s on the 2-core development machine (issue 3)
KUEUE, SLURM = 43.0, 500.0  # published figures, not measured here
# VRAM per card model (GiB). The trace anonymises G2/G3; 32 and 80 GiB are assumptions.
VRAM = {"P100": 16, "T4": 16, "V100M16": 16, "V100M32": 32, "A10": 24, "G2": 32, "G3": 80}
MIB = 1024**2
T0 = datetime(2023, 1, 1, tzinfo=UTC)
TYPES = (WorkloadType.TRAINING, WorkloadType.IDE, WorkloadType.SERVICE, WorkloadType.FINETUNE)


@dataclass
class Pod:
    id: str
    cpu: int
    mem: int
    gpus: int
    gpu_milli: int
    submit: int
    runtime: int


@dataclass
class World:
    nodes: list[Node]
    quotas: tuple[Quota, ...]
    pending: list[PendingWorkload]
    users: dict[str, UserState]
    runtime: dict[str, int] = field(default_factory=dict)


def _rows(name: str) -> list[dict[str, str]]:
    with (TRACE / name).open() as f:
        return list(csv.DictReader(f))


def load_nodes() -> list[Node]:
    rows = _rows("openb_node_list_all_node.csv")
    picked = [rows[i * len(rows) // NODES] for i in range(NODES)]
    nodes = []
    for row in picked:
        model = row["model"] or None
        cluster = f"c-{model or 'cpu'}"
        devs = tuple(
            Device(f"{row['sn']}-gpu{i}", model, VRAM[model])
            for i in range(int(row["gpu"]))
            if model
        )
        nodes.append(
            Node(row["sn"], cluster, int(row["cpu_milli"]), int(row["memory_mib"]) * MIB, devs)
        )
    return nodes


def load_pods() -> list[Pod]:
    pods = []
    rows = _rows("openb_pod_list_default.csv")
    rows += _rows("openb_pod_list_multigpu20.csv")[: PENDING - len(rows)]
    for i, row in enumerate(rows):
        start = int(row.get("scheduled_time") or row.get("creation_time") or 0)
        end = int(row.get("deletion_time") or 0)
        pods.append(
            Pod(
                id=f"p{i:05d}",
                cpu=int(row["cpu_milli"]),
                mem=int(row["memory_mib"]) * MIB,
                gpus=int(row["num_gpu"]),
                gpu_milli=int(row["gpu_milli"]),
                submit=int(row.get("creation_time") or i),
                runtime=max(60, end - start) if end > start else 3600,
            )
        )
    return pods


def build_quotas(nodes: list[Node], rng: random.Random) -> tuple[Quota, ...]:
    """200 quotas over the clusters in proportion to their capacity; 90 % of each cluster is
    allocated. Half borrow, 40 % are exclusive, 3 % are stopped; weights unique per cluster."""
    cap: dict[str, Resources] = {}
    models: dict[str, str | None] = {}
    for n in nodes:
        model = n.devices[0].model if n.devices else None
        models[n.cluster_id] = model
        add = Resources(n.cpu_millicores, n.mem_bytes, len(n.devices), model)
        cap[n.cluster_id] = cap.get(n.cluster_id, Resources(gpu_model=model)) + add
    total_cpu = sum(c.cpu_millicores for c in cap.values())
    share = {c: max(1, round(QUOTAS * r.cpu_millicores / total_cpu)) for c, r in cap.items()}
    biggest = max(share, key=lambda c: share[c])
    share[biggest] += QUOTAS - sum(share.values())
    quotas = []
    for cluster, count in sorted(share.items()):
        r = cap[cluster]
        parts = [rng.uniform(0.5, 1.5) for _ in range(count)]
        scale = 0.9 / sum(parts)
        weights = rng.sample(range(1, 101), count)
        for j, (part, weight) in enumerate(zip(parts, weights, strict=True)):
            f = part * scale
            types = frozenset(rng.sample(TYPES, rng.randint(1, 3))) | {WorkloadType.TRAINING}
            quotas.append(
                Quota(
                    id=f"{cluster}-q{j}",
                    name=f"{cluster}-q{j}",
                    cluster_id=cluster,
                    total=Resources(
                        int(r.cpu_millicores * f),
                        int(r.mem_bytes * f),
                        0,
                        models[cluster],
                        int(r.gpus * 1000 * f),
                    ),
                    workload_types=types,
                    weight=weight,
                    borrowing=rng.random() < 0.5,
                    exclusive=rng.random() < 0.4,
                    started=rng.random() >= 0.03,
                )
            )
    return tuple(quotas)


def build_world(seed: int = 7) -> World:
    rng = random.Random(seed)
    nodes = load_nodes()
    quotas = build_quotas(nodes, rng)
    by_cluster: dict[str, list[Quota]] = {}
    for q in quotas:
        by_cluster.setdefault(q.cluster_id, []).append(q)
    gpu_clusters = sorted(c for c in by_cluster if c != "c-cpu")
    gpu_weights = [sum(q.total.gpus for q in by_cluster[c]) for c in gpu_clusters]
    users = {f"u{i}": UserState() for i in range(400)}
    for i in range(0, 400, 20):  # 5 % of users have a tight per-user limit
        users[f"u{i}"] = UserState(UserLimits(max_gpus=8, max_cpu_cores=64))
    pending, runtime = [], {}
    for pod in load_pods():
        cluster = "c-cpu" if pod.gpus == 0 else rng.choices(gpu_clusters, gpu_weights)[0]
        quota = rng.choice(by_cluster[cluster])
        model = quota.total.gpu_model
        if pod.gpus and model and pod.gpu_milli < 1000:
            vram = max(1, math.ceil(pod.gpu_milli / 1000 * VRAM[model]))
            demand = VgpuDemand(model, pod.gpus, vram, max(1, pod.gpu_milli // 10))
            per = Resources(
                pod.cpu, pod.mem, 0, model, vgpu_share_milli(pod.gpus, vram, VRAM[model])
            )
            request = Request(per, 1, demand)
        else:
            request = Request(Resources(pod.cpu, pod.mem, pod.gpus, model if pod.gpus else None))
        kind = rng.choice(sorted(quota.workload_types))
        if rng.random() < 0.01:
            kind = WorkloadType.COMPRESSION if kind != WorkloadType.COMPRESSION else kind
        pending.append(
            PendingWorkload(
                id=pod.id,
                pool_id=quota.id,
                workload_type=kind,
                user_id=f"u{rng.randrange(400)}",
                request=request,
                submitted_at=T0 + timedelta(seconds=pod.submit),
                priority=rng.randint(1, 5) if rng.random() < 0.01 else 0,
            )
        )
        runtime[pod.id] = pod.runtime
    return World(nodes, quotas, pending, users, runtime)


def timed(snapshot: Snapshot, nodes: list[Node]) -> tuple[float, list[Decision]]:
    start = time.perf_counter()
    decisions = schedule(snapshot, nodes)
    return time.perf_counter() - start, decisions


class Cluster:
    """The bench's stand-in for the integrator: applies placements to node state, frees them
    when runs end, and rebuilds the inputs (not timed)."""

    def __init__(self, nodes: list[Node]) -> None:
        self.base = {n.name: n for n in nodes}
        self.cpu = Counter[str]()
        self.mem = Counter[str]()
        self.whole: set[str] = set()
        self.vram = Counter[str]()
        self.compute = Counter[str]()

    def apply(self, d: Decision, sign: int) -> None:
        assert d.placement is not None
        for r in d.placement.ranks:
            self.cpu[r.node] += sign * r.cpu_millicores
            self.mem[r.node] += sign * r.mem_bytes
            for uuid in r.gpu_uuids:
                (self.whole.add if sign > 0 else self.whole.discard)(uuid)
            for s in r.slices:
                self.vram[s.device_uuid] += sign * s.vram_gib
                self.compute[s.device_uuid] += sign * (s.compute_percent or 0)

    def nodes(self) -> list[Node]:
        out = []
        for n in self.base.values():
            devs = tuple(
                replace(
                    d,
                    allocated=d.uuid in self.whole,
                    used_vram_gib=self.vram[d.uuid],
                    used_compute_percent=self.compute[d.uuid],
                )
                for d in n.devices
            )
            out.append(
                replace(
                    n,
                    devices=devs,
                    cpu_used_millicores=self.cpu[n.name],
                    mem_used_bytes=self.mem[n.name],
                )
            )
        return out


def steady(world: World, max_cycles: int) -> dict[str, list[float]]:
    """``max_cycles`` cycles on a simulated clock; each runs after the next completion(s)."""
    cluster = Cluster(world.nodes)
    pending = {w.id: w for w in world.pending}
    running: dict[str, tuple[RunningWorkload, Decision]] = {}
    ends: list[tuple[int, str]] = []
    clock = 0
    stats: dict[str, list[float]] = {"ms": [], "pending": [], "admitted": []}
    while pending and len(stats["ms"]) < max_cycles:
        users = dict(world.users)
        for run, _ in running.values():
            held = users[run.user_id]
            users[run.user_id] = replace(held, used=held.used + run.own + _loans(run))
        snapshot = Snapshot(
            quotas=world.quotas,
            running=tuple(r for r, _ in running.values()),
            pending=tuple(pending.values()),
            users=users,
        )
        nodes = cluster.nodes()
        spent, out = timed(snapshot, nodes)
        if clock:  # the first cycle is the cold one, measured above
            stats["ms"].append(spent * 1000)
            stats["pending"].append(len(out))
            stats["admitted"].append(sum(d.verdict is Verdict.ADMIT for d in out))
        for d in out:
            if d.verdict is Verdict.REJECT:
                del pending[d.workload_id]
            elif d.verdict is Verdict.ADMIT:
                w = pending.pop(d.workload_id)
                cluster.apply(d, +1)
                run = RunningWorkload(w.id, w.pool_id, w.user_id, d.own, d.loans)
                running[w.id] = (run, d)
                heapq.heappush(ends, (clock + world.runtime[w.id], w.id))
        if not ends:
            break
        clock = ends[0][0]  # next completion: the lender gets its capacity back (RQ7)
        while ends and ends[0][0] <= clock:
            _, wid = heapq.heappop(ends)
            _, d = running.pop(wid)
            cluster.apply(d, -1)
    return stats


def _loans(run: RunningWorkload) -> Resources:
    total = Resources()
    for loan in run.loans:
        total = total + loan.amount
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=300, help="steady-state cycles; 0: skip")
    args = parser.parse_args()
    world = build_world()
    snapshot = Snapshot(quotas=world.quotas, pending=tuple(world.pending), users=world.users)
    gpus = sum(len(n.devices) for n in world.nodes)
    print(
        f"snapshot: {len(world.pending)} pending, {len(world.quotas)} quotas, "
        f"{len(world.nodes)} nodes ({gpus} GPUs, {len({n.cluster_id for n in world.nodes})} "
        "clusters)"
    )
    timed(snapshot, world.nodes)  # warm-up
    times: list[float] = []
    out: list[Decision] = []
    for _ in range(args.runs):
        spent, out = timed(snapshot, world.nodes)
        times.append(spent)
    median = statistics.median(times)
    verdicts = Counter(d.verdict.value for d in out)
    codes = Counter(d.code.value for d in out)
    rate = len(out) / median
    admits = verdicts["admit"] / median
    print(f"\ncold cycle: median {median * 1000:.1f} ms over {args.runs} runs")
    print(f"  verdicts: {dict(verdicts)}")
    print(f"  codes:    {dict(codes.most_common())}")
    print(f"  decisions/s:  {rate:,.0f}  ({rate / TARGET:.1f}× the 2,000/s target)")
    print(f"  admissions/s: {admits:,.0f}  ({admits / TARGET:.1f}× the target)")
    if args.cycles:
        st = steady(world, args.cycles)
        ms = sorted(st["ms"])
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        decided = sum(st["pending"])
        print(
            f"\nsteady state: {len(ms)} cycles, {statistics.mean(st['pending']):,.0f} workloads "
            f"decided per cycle on average, {sum(st['admitted']):,.0f} admitted in all (after "
            "the cold cycle)"
        )
        print(
            f"  cycle latency: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms; "
            f"decisions/s {decided / (sum(ms) / 1000):,.0f} "
            f"({decided / (sum(ms) / 1000) / TARGET:.1f}× the target)"
        )
    print(
        f"\nreference (published, not measured here): Kueue scheduler tests ≈ {KUEUE:.0f} "
        f"admissions/s, Slurm documents ≈ {SLURM:.0f} jobs/s; cold-cycle admissions/s here are "
        f"{admits / KUEUE:,.0f}× Kueue's and {admits / SLURM:,.1f}× Slurm's figure"
    )


if __name__ == "__main__":
    main()
