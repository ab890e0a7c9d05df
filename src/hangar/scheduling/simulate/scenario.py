"""A replay scenario: nodes, resource quotas (one per team) and jobs, in Hangar's own model.

From the trace: one dedicated cluster holding every node (pods name no cluster, and most name
no GPU model, so a job may land on any card, as in the traced cluster). Whole-GPU pods ask for
``num_gpu`` cards of any model (of their ``gpu_spec`` when set); a fractional pod
(``gpu_milli`` < 1000) becomes one vGPU slice with that share of the card's VRAM and compute,
on the model its ``gpu_spec`` names or else the model with the most cards (Hangar's slices are
per model); CPU-only pods ask for CPU and memory only. Runtime is ``deletion − scheduled``;
a pod the traced cluster never scheduled (no ``scheduled_time``/``deletion_time``) runs until
the end of the trace once admitted, and is counted as such.

Teams (the trace has no team column), reproducible from the inputs alone:

- ``qos``: one team per QoS class (LS, BE, Burstable, Guaranteed), its nominal share the
  class's share of the trace's requested GPU-seconds;
- ``hash:N``: team ``crc32(pod name) mod N``, equal shares unless ``shares`` are given.

Each team gets one quota: ``share`` of the cluster's cards, CPU and memory, weight ``N − i``
(unique, RQ6) unless ``weights`` are given.
"""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hangar.scheduling.model import Quota, Request, VgpuDemand
from hangar.scheduling.placement import Device, Node
from hangar.scheduling.resources import Resources
from hangar.scheduling.simulate.trace import (
    VRAM_GIB,
    Problem,
    TracePod,
    read_nodes,
    read_pods,
)
from hangar.scheduling.specs import vgpu_share_milli

MIB = 1024**2
CLUSTER = "trace"


@dataclass(frozen=True, slots=True)
class Job:
    """One workload to replay: submitted at ``submit`` seconds, runs ``runtime`` seconds once
    admitted (None: until the end of the replay)."""

    id: str
    name: str
    source: str  # "file:line" of its row
    team: str
    request: Request
    submit: int
    runtime: int | None


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    share: float
    weight: int


@dataclass(frozen=True)
class Scenario:
    nodes: tuple[Node, ...]
    teams: tuple[Team, ...]
    jobs: tuple[Job, ...]
    problems: tuple[Problem, ...]
    end: int  # the trace's last instant (seconds)

    @property
    def gpus(self) -> int:
        return sum(len(n.devices) for n in self.nodes)

    def job(self, job_id: str) -> Job:
        """The job with ``job_id`` (ids are ``j`` and the job's position)."""
        return self.jobs[int(job_id.removeprefix("j"))]

    def quotas(
        self, *, borrowing: bool, policy: str, exclusive: Sequence[str] = ()
    ) -> tuple[Quota, ...]:
        """One quota per team over the whole cluster, ``share`` of every resource."""
        cpu = sum(n.cpu_millicores for n in self.nodes)
        mem = sum(n.mem_bytes for n in self.nodes)
        quotas = []
        for team in self.teams:
            total = Resources(
                int(cpu * team.share), int(mem * team.share), 0, None,
                int(self.gpus * 1000 * team.share),
            )  # fmt: skip
            quotas.append(
                Quota(
                    id=team.name, name=team.name, cluster_id=CLUSTER, total=total,
                    weight=team.weight, borrowing=borrowing, exclusive=team.name in exclusive,
                    policy=policy,
                )
            )  # fmt: skip
        return tuple(quotas)


def trace_scenario(
    nodes_csv: Path,
    pods_csv: Path,
    *,
    teams: str = "hash:4",
    shares: Sequence[float] | None = None,
    weights: Sequence[int] | None = None,
    departures: bool = True,
    speedup: int = 1,
) -> Scenario:
    """``departures`` False: every admitted pod runs to the end (pods arrive in trace order
    until the cluster is full, the saturation replay of the ATC'23 FGD paper). ``speedup``
    K: pods arrive K times faster (submit times divided by K, runtimes kept): K times the
    load."""
    if speedup < 1:
        raise ValueError(f"speedup must be a whole number ≥ 1 (got {speedup})")
    loaded_nodes = read_nodes(nodes_csv)
    problems = list(loaded_nodes.problems)
    nodes = tuple(
        Node(
            name=n.name,
            cluster_id=CLUSTER,
            cpu_millicores=n.cpu_milli,
            mem_bytes=n.memory_mib * MIB,
            devices=_devices(n.name, n.model, n.gpus),
        )
        for n in loaded_nodes.items
    )
    cards = Counter(d.model for n in nodes for d in n.devices)
    loaded_pods = read_pods(pods_csv, models=set(cards))
    problems += loaded_pods.problems
    pods = loaded_pods.items
    end = max(
        [p.deletion or 0 for p in pods] + [p.creation for p in pods] + [0]
    )  # the last instant the trace knows (runtimes are kept, so it stays the end)
    team_of, team_list = _teams(pods, teams, shares, weights)
    largest = cards.most_common(1)[0][0] if cards else None
    jobs: list[Job] = []
    for pod in pods:
        request = _request(pod, largest)
        if request is None:
            problems.append(Problem(pod.file, pod.line, "a fractional GPU but no GPU nodes"))
            continue
        runtime = (
            max(1, pod.deletion - pod.scheduled)
            if departures and pod.scheduled is not None and pod.deletion is not None
            and pod.deletion > pod.scheduled
            else None
        )  # fmt: skip
        jobs.append(
            Job(
                id=f"j{len(jobs):05d}", name=pod.name, source=f"{pod.file}:{pod.line}",
                team=team_of(pod), request=request, submit=pod.creation // speedup,
                runtime=runtime,
            )
        )  # fmt: skip
    return Scenario(nodes, team_list, tuple(jobs), tuple(problems), end)


def _devices(node: str, model: str | None, count: int, vram: int = 0) -> tuple[Device, ...]:
    if model is None:
        return ()
    return tuple(Device(f"{node}-gpu{i}", model, vram or VRAM_GIB[model]) for i in range(count))


def _request(pod: TracePod, largest: str | None) -> Request | None:
    cpu, mem = pod.cpu_milli, pod.memory_mib * MIB
    if pod.num_gpu == 0:
        return Request(Resources(cpu, mem))
    model = pod.gpu_spec[0] if len(pod.gpu_spec) == 1 else None
    if pod.gpu_milli < 1000:
        model = model or (pod.gpu_spec[0] if pod.gpu_spec else largest)
        if model is None:
            return None
        vram = max(1, math.ceil(pod.gpu_milli / 1000 * VRAM_GIB[model]))
        demand = VgpuDemand(model, pod.num_gpu, vram, max(1, pod.gpu_milli // 10))
        share = vgpu_share_milli(pod.num_gpu, vram, VRAM_GIB[model])
        return Request(Resources(cpu, mem, 0, model, share), 1, demand)
    return Request(Resources(cpu, mem, pod.num_gpu, model))


def _teams(
    pods: list[TracePod],
    how: str,
    shares: Sequence[float] | None,
    weights: Sequence[int] | None,
) -> tuple[Callable[[TracePod], str], tuple[Team, ...]]:
    if how == "qos":
        demand: Counter[str] = Counter()
        for pod in pods:
            seconds = (pod.deletion or pod.creation) - (pod.scheduled or pod.creation)
            demand[pod.qos] += max(1, seconds) * max(1, pod.num_gpu * pod.gpu_milli)
        names = sorted(demand)
        total = sum(demand.values()) or 1
        given = list(shares) if shares else [demand[n] / total for n in names]
        team_list = _team_list(names, given, weights)
        return (lambda pod: pod.qos), team_list
    if how.startswith("hash:"):
        count = int(how.removeprefix("hash:"))
        if count < 1:
            raise ValueError(f"teams {how!r}: the number of teams must be ≥ 1")
        names = [f"team-{i}" for i in range(count)]
        given = list(shares) if shares else [1 / count] * count
        team_list = _team_list(names, given, weights)
        return (lambda pod: names[zlib.crc32(pod.name.encode()) % count]), team_list
    raise ValueError(f"teams {how!r}: use 'qos' or 'hash:N'")


def _team_list(
    names: list[str], shares: list[float], weights: Sequence[int] | None
) -> tuple[Team, ...]:
    if len(shares) != len(names):
        raise ValueError(f"{len(shares)} shares for {len(names)} teams ({', '.join(names)})")
    if any(s < 0 for s in shares) or sum(shares) > 1.0 + 1e-9:
        raise ValueError(f"shares must be ≥ 0 and sum to at most 1 (got {shares})")
    given = list(weights) if weights else [len(names) - i for i in range(len(names))]
    if len(given) != len(names) or len(set(given)) != len(given):
        raise ValueError(f"weights must be one per team and unique per cluster (RQ6): {given}")
    return tuple(Team(n, s, w) for n, s, w in zip(names, shares, given, strict=True))


def json_scenario(path: Path) -> Scenario:
    """Hangar's own format, for synthetic scenarios::

    {"nodes": [{"name": "n1", "cpu_milli": 64000, "memory_mib": 262144,
                "gpus": 8, "model": "G2"}],
     "teams": [{"name": "a", "share": 0.5, "weight": 2}, ...],
     "jobs": [{"name": "j1", "team": "a", "submit": 0, "runtime": 600,
               "gpus": 2, "gpu_milli": 1000, "cpu_milli": 4000, "memory_mib": 8192}]}
    """
    return scenario_from_dict(json.loads(path.read_text()), source=path.name)


def scenario_from_dict(data: dict[str, Any], *, source: str = "scenario") -> Scenario:
    """:func:`json_scenario` for data already parsed (the API's request body)."""
    problems: list[Problem] = []
    nodes = []
    for i, n in enumerate(data.get("nodes", []), start=1):
        model = n.get("model")
        if model is not None and model not in VRAM_GIB and "vram_gib" not in n:
            problems.append(Problem(source, i, f"node {i}: unknown GPU model {model!r}"))
            continue
        vram = int(n.get("vram_gib") or (VRAM_GIB[model] if model else 0))
        nodes.append(
            Node(
                name=str(n["name"]), cluster_id=CLUSTER, cpu_millicores=int(n["cpu_milli"]),
                mem_bytes=int(n["memory_mib"]) * MIB,
                devices=_devices(str(n["name"]), model, int(n["gpus"]), vram),
            )
        )  # fmt: skip
    teams = tuple(
        Team(str(t["name"]), float(t["share"]), int(t.get("weight", len(data["teams"]) - i)))
        for i, t in enumerate(data.get("teams", []))
    )
    names = {t.name for t in teams}
    jobs: list[Job] = []
    for i, j in enumerate(data.get("jobs", []), start=1):
        if j.get("team") not in names:
            problems.append(Problem(source, i, f"job {i}: unknown team {j.get('team')!r}"))
            continue
        pod = TracePod(
            name=str(j["name"]), cpu_milli=int(j.get("cpu_milli", 0)),
            memory_mib=int(j.get("memory_mib", 0)), num_gpu=int(j.get("gpus", 0)),
            gpu_milli=int(j.get("gpu_milli", 1000)), gpu_spec=tuple(j.get("gpu_spec", ())),
            qos="none", creation=int(j["submit"]), scheduled=None, deletion=None,
            file=source, line=i,
        )  # fmt: skip
        largest = next((d.model for n in nodes for d in n.devices), None)
        request = _request(pod, largest)
        if request is None:
            problems.append(Problem(source, i, f"job {i}: a GPU request but no GPU nodes"))
            continue
        runtime = j.get("runtime")
        jobs.append(
            Job(
                id=f"j{len(jobs):05d}", name=pod.name, source=f"{source}:job {i}",
                team=str(j["team"]), request=request, submit=pod.creation,
                runtime=None if runtime is None else int(runtime),
            )
        )  # fmt: skip
    end = max([j.submit + (j.runtime or 0) for j in jobs] + [0])
    return Scenario(tuple(nodes), teams, tuple(jobs), tuple(problems), end)
