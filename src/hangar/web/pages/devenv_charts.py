"""The dev-environment monitoring card (spec 03 §1.8): the last hour of CPU, memory, GPU
utilisation and GPU memory as SVG sparklines, with the latest and peak values as text."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hangar.db.base import utcnow
from hangar.devenvs.monitor import series
from hangar.devenvs.schemas import MonitorSeries
from hangar.workloads.orm import Workload

MONITOR_MINUTES = 60

WIDTH, HEIGHT = 240, 48


@dataclasses.dataclass(frozen=True)
class Chart:
    """One metric of the last hour: a sparkline (SVG polylines) and its numbers as text."""

    title: str
    latest: str
    peak: str
    lines: list[str]  # "x,y x,y ..." per unbroken stretch of samples


def monitor_context(session: Session, workload: Workload, *, minutes: int) -> dict[str, Any]:
    """The monitoring card's context: the environment's last ``minutes`` as charts."""
    data = series(session, workload.id, minutes=minutes)
    res = workload.spec.get("resources") or {}
    return {
        "env_id": workload.id, "samples": len(data.at), "minutes": minutes,
        "charts": charts(data, cores=int(res.get("cpu_millicores") or 0) / 1000,
                         mem_limit=int(res.get("mem_bytes") or 0), now=utcnow()),
    }  # fmt: skip


def charts(data: MonitorSeries, *, cores: float, mem_limit: int, now: datetime) -> list[Chart]:
    """CPU %, memory used, GPU utilisation and GPU memory of the last hour."""
    cpu = [float(v) for v in data.cpu_percent]
    mem = [float(v) for v in data.mem_bytes]
    gpu = [None if v is None else float(v) for v in data.gpu_util_percent]
    vram = [None if v is None else float(v) for v in data.gpu_mem_bytes]
    cores_text = f" ({data.cpu_cores[-1]:g} of {cores:g} cores)" if data.cpu_cores else ""
    mem_text = f" ({data.mem_percent[-1]:g}% of {_bytes(mem_limit)})" if data.mem_percent else ""
    at = data.at
    return [
        _chart("CPU utilisation", at, cpu, top=100.0, fmt=_percent, note=cores_text, now=now),
        _chart("Memory used", at, mem, top=float(mem_limit), fmt=_bytes, note=mem_text, now=now),
        _chart("GPU utilisation", at, gpu, top=100.0, fmt=_percent, note="", now=now),
        _chart("GPU memory used", at, vram, top=0.0, fmt=_bytes, note="", now=now),
    ]


def _chart(
    title: str,
    at: Sequence[datetime],
    values: Sequence[float | None],
    *,
    top: float,
    fmt: Callable[[float], str],
    note: str,
    now: datetime,
) -> Chart:
    known = [v for v in values if v is not None]
    if not known:
        return Chart(title=title, latest="—", peak="—", lines=[])
    scale = max(top, *known) or 1.0
    start = now - timedelta(minutes=MONITOR_MINUTES)
    window = MONITOR_MINUTES * 60.0
    lines: list[list[tuple[float, float]]] = [[]]
    for when, value in zip(at, values, strict=True):
        if value is None:
            if lines[-1]:
                lines.append([])
            continue
        x = min(max((when - start).total_seconds() / window, 0.0), 1.0) * WIDTH
        y = HEIGHT - 1 - (value / scale) * (HEIGHT - 2)
        lines[-1].append((x, y))
    stretches = [" ".join(f"{x:.1f},{y:.1f}" for x, y in _visible(pts)) for pts in lines if pts]
    latest = values[-1]
    return Chart(
        title=title,
        latest="—" if latest is None else fmt(latest) + note,
        peak=fmt(max(known)),
        lines=stretches,
    )


def _visible(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A lone sample is drawn as a short dash, so that it shows."""
    if len(points) > 1:
        return points
    x, y = points[0]
    return [(max(x - 3, 0.0), y), (max(x - 3, 0.0) + 3, y)]


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _bytes(value: float) -> str:
    if value >= 2**30:
        return f"{value / 2**30:.1f} GiB"
    return f"{value / 2**20:.0f} MiB"
