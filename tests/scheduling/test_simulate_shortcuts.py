"""The replay's two shortcuts (one placement inventory kept across cycles, running work summed
per quota) decide exactly as the plain way would: rebuild every node from what running jobs
hold and pass every running job, each cycle. Random scenarios with whole cards, vGPU slices,
CPU-only jobs, departures and contention, under every policy."""

from __future__ import annotations

import heapq
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from hangar.scheduling.admission import schedule
from hangar.scheduling.decisions import Verdict
from hangar.scheduling.model import Loan, PendingWorkload, RunningWorkload, Snapshot, WorkloadType
from hangar.scheduling.placement import Device, Node, Placement
from hangar.scheduling.simulate import POLICIES, Policy, Scenario, json_scenario, replay
from hangar.scheduling.simulate.engine import T0


def plain_replay(world: Scenario, policy: Policy) -> dict[str, int]:
    """Job → start time, with a fresh snapshot of nodes and every running job each cycle."""
    quotas = world.quotas(borrowing=policy.borrowing, policy=policy.admission)
    whole: set[str] = set()
    vram: dict[str, int] = {}
    pct: dict[str, int] = {}
    cpu = {n.name: 0 for n in world.nodes}
    mem = {n.name: 0 for n in world.nodes}

    def apply(placement: Placement, sign: int) -> None:
        for rank in placement.ranks:
            cpu[rank.node] += sign * rank.cpu_millicores
            mem[rank.node] += sign * rank.mem_bytes
            for uuid in rank.gpu_uuids:
                (whole.add if sign > 0 else whole.discard)(uuid)
            for s in rank.slices:
                vram[s.device_uuid] = vram.get(s.device_uuid, 0) + sign * s.vram_gib
                pct[s.device_uuid] = pct.get(s.device_uuid, 0) + sign * (s.compute_percent or 0)

    def nodes() -> list[Node]:
        return [
            replace(n, cpu_used_millicores=cpu[n.name], mem_used_bytes=mem[n.name],
                    devices=tuple(Device(d.uuid, d.model, d.vram_gib, d.uuid in whole,
                                         vram.get(d.uuid, 0), pct.get(d.uuid, 0))
                                  for d in n.devices))
            for n in world.nodes
        ]  # fmt: skip

    arrivals = sorted(world.jobs, key=lambda j: (j.submit, j.id))
    ends: list[tuple[int, str]] = []
    pending: dict[str, PendingWorkload] = {}
    running: dict[str, tuple[RunningWorkload, Placement]] = {}
    started: dict[str, int] = {}
    i = 0
    while i < len(arrivals) or ends:
        t = min(arrivals[i].submit if i < len(arrivals) else world.end + 1,
                ends[0][0] if ends else world.end + 1)  # fmt: skip
        if t > world.end:
            break
        while ends and ends[0][0] <= t:
            apply(running.pop(heapq.heappop(ends)[1])[1], -1)
        while i < len(arrivals) and arrivals[i].submit <= t:
            job = arrivals[i]
            pending[job.id] = PendingWorkload(job.id, job.team, WorkloadType.TRAINING, job.team,
                                              job.request, T0.__class__.fromtimestamp(
                                                  T0.timestamp() + job.submit, T0.tzinfo))  # fmt: skip
            i += 1
        if not pending:
            continue
        snapshot = Snapshot(quotas=quotas, running=tuple(r for r, _ in running.values()),
                            pending=tuple(pending.values()))  # fmt: skip
        for d in schedule(snapshot, nodes(), placement=policy.placement):
            if d.verdict is Verdict.REJECT:
                del pending[d.workload_id]
            elif d.verdict is Verdict.ADMIT:
                assert d.placement is not None
                job = world.job(d.workload_id)
                del pending[job.id]
                apply(d.placement, +1)
                running[job.id] = (RunningWorkload(job.id, job.team, job.team, d.own,
                                                   tuple(Loan(x.lender_id, x.amount)
                                                         for x in d.loans)), d.placement)  # fmt: skip
                started[job.id] = t
                if job.runtime is not None:
                    heapq.heappush(ends, (t + job.runtime, job.id))
    return started


def random_world(seed: int, tmp_path: Path) -> Scenario:
    rng = random.Random(seed)
    nodes = [{"name": f"n{k}", "cpu_milli": 32000, "memory_mib": 131072, "gpus": rng.choice([4, 8]),
              "model": rng.choice(["G2", "T4"])} for k in range(4)]  # fmt: skip
    teams = [{"name": "a", "share": 0.5, "weight": 2}, {"name": "b", "share": 0.3, "weight": 1}]
    jobs = []
    for k in range(60):
        kind = rng.random()
        job = {"name": f"j{k}", "team": rng.choice("ab"), "submit": rng.randrange(0, 2000),
               "runtime": rng.randrange(50, 900), "cpu_milli": rng.choice([1000, 4000, 8000]),
               "memory_mib": 4096}  # fmt: skip
        if kind < 0.5:
            job["gpus"] = rng.choice([1, 2, 4, 8])
        elif kind < 0.8:
            job.update(gpus=1, gpu_milli=rng.choice([250, 500]), gpu_spec=["G2"])
        jobs.append(job)
    path = tmp_path / f"world-{seed}.json"
    path.write_text(json.dumps({"nodes": nodes, "teams": teams, "jobs": jobs}))
    return json_scenario(path)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_shortcuts_decide_as_the_plain_replay(seed: int, name: str, tmp_path: Path) -> None:
    world = random_world(seed, tmp_path)
    fast = replay(world, POLICIES[name])
    assert {j: s.start for j, s in fast.started.items()} == plain_replay(world, POLICIES[name])
    assert any(s.start > s.job.submit for s in fast.started.values())  # there was contention
