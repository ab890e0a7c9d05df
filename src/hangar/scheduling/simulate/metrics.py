"""Figures of one replay (issue 6 §3), as a table row and as JSON.

- GPU allocation rate: allocated / capacity (a slice counts its VRAM share), time-weighted
  over the replay, its peak, and at the end (the saturation replay's figure). The series (one
  point per instant) is in the JSON.
- Fragmentation: the share of unallocated GPU capacity that sits on cards already holding
  slices (usable only by slices that fit), time-weighted.
- Queueing delay: admission − submission, over admitted jobs (mean, p50, p95, p99).
- Job completion time: completion − submission, over jobs that completed.
- Fairness: each team's share of the GPU-hours used against its nominal share.
- Never scheduled: rejected (larger than any node, with the source line) and still waiting.
- Decisions per second: scheduling decisions / seconds spent in ``schedule()`` (wall clock).
- Peak memory: the process's peak resident set.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hangar.scheduling.simulate.engine import Outcome


@dataclass(frozen=True)
class Summary:
    policy: str
    placement: str
    jobs: int
    admitted: int
    rejected: int
    never_scheduled: int
    allocation_mean: float
    allocation_peak: float
    allocation_final: float
    fragmentation_mean: float
    delay_mean: float
    delay_p50: float
    delay_p95: float
    delay_p99: float
    jct_mean: float
    fairness: dict[str, tuple[float, float]]  # team → (used share, nominal share)
    cycles: int
    decisions: int
    decisions_per_second: float
    replay_seconds: float
    peak_rss_mib: float


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(out: Outcome) -> Summary:
    scenario = out.scenario
    capacity = 1000 * scenario.gpus
    alloc_area = frag_area = 0.0
    span = 0
    peak = 0.0
    for (t, allocated, fragmented), nxt in zip(
        out.samples, [s[0] for s in out.samples[1:]] + [out.end], strict=True
    ):
        width = max(0, nxt - t)
        free = capacity - allocated
        alloc_area += width * allocated / capacity if capacity else 0.0
        frag_area += width * (fragmented / free if free > 0 else 0.0)
        span += width
        if capacity:
            peak = max(peak, allocated / capacity)
    delays = [float(s.start - s.job.submit) for s in out.started.values()]
    jct = [float(s.end - s.job.submit) for s in out.started.values() if s.end is not None]
    used: dict[str, float] = {t.name: 0.0 for t in scenario.teams}
    for s in out.started.values():
        end = out.end if s.end is None else min(s.end, out.end)
        used[s.job.team] = used.get(s.job.team, 0.0) + s.gpu_milli * max(0, end - s.start)
    total_used = sum(used.values()) or 1.0
    fairness = {
        t.name: (round(used.get(t.name, 0.0) / total_used, 4), t.share) for t in scenario.teams
    }
    return Summary(
        policy=out.policy.name,
        placement=out.policy.placement,
        jobs=len(scenario.jobs),
        admitted=len(out.started),
        rejected=len(out.rejected),
        never_scheduled=len(out.rejected) + len(out.waiting),
        allocation_mean=alloc_area / span if span else 0.0,
        allocation_peak=peak,
        allocation_final=out.samples[-1][1] / capacity if out.samples and capacity else 0.0,
        fragmentation_mean=frag_area / span if span else 0.0,
        delay_mean=sum(delays) / len(delays) if delays else 0.0,
        delay_p50=percentile(delays, 50),
        delay_p95=percentile(delays, 95),
        delay_p99=percentile(delays, 99),
        jct_mean=sum(jct) / len(jct) if jct else 0.0,
        fairness=fairness,
        cycles=out.cycles,
        decisions=out.decision_count,
        decisions_per_second=out.decision_count / out.schedule_seconds
        if out.schedule_seconds
        else 0.0,
        replay_seconds=out.wall_seconds,
        peak_rss_mib=out.peak_rss_mib,
    )


def to_json(summary: Summary, out: Outcome, *, series: bool = True) -> dict[str, Any]:
    """The summary, the problems and refusals with their source lines, and the series."""
    data: dict[str, Any] = {"summary": asdict(summary)}
    data["problems"] = [str(p) for p in out.scenario.problems]
    data["rejected"] = [
        {"job": out.scenario_job(job_id).name, "source": out.scenario_job(job_id).source,
         "reason": reason}
        for job_id, reason in sorted(out.rejected.items())
    ]  # fmt: skip
    data["waiting"] = [out.scenario_job(job_id).source for job_id in out.waiting]
    if series:
        capacity = 1000 * out.scenario.gpus or 1
        data["allocation_series"] = [
            [t, round(allocated / capacity, 4)] for t, allocated, _ in out.samples
        ]
    return data


HEADER = (
    "policy", "placement", "alloc mean", "alloc peak", "alloc end", "frag", "delay mean",
    "p50", "p95", "p99", "JCT mean", "never", "cycles", "decisions/s", "replay s", "RSS MiB",
)  # fmt: skip


def row(s: Summary) -> tuple[str, ...]:
    return (
        s.policy, s.placement, f"{s.allocation_mean:.1%}", f"{s.allocation_peak:.1%}",
        f"{s.allocation_final:.1%}", f"{s.fragmentation_mean:.1%}", _duration(s.delay_mean),
        _duration(s.delay_p50),
        _duration(s.delay_p95), _duration(s.delay_p99), _duration(s.jct_mean),
        str(s.never_scheduled), str(s.cycles), f"{s.decisions_per_second:,.0f}",
        f"{s.replay_seconds:.1f}", f"{s.peak_rss_mib:.0f}",
    )  # fmt: skip


def markdown(summaries: list[Summary]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row(s)) + " |" for s in summaries]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
