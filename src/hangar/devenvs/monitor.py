"""Monitoring samples of running environments (spec 03 §1.8): CPU, memory, GPU.

The loop takes one sample per pass from the environment's process tree (psutil) and its
GPUs (NVML), stores it, and prunes samples older than a day. CPU percent is the CPU time
used since the previous sample over the wall time, relative to the cores requested.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psutil
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hangar.db.base import utcnow
from hangar.devenvs.orm import ResourceSample
from hangar.devenvs.probes import gpu_stats, processes
from hangar.devenvs.schemas import MonitorSeries

KEEP = timedelta(days=1)


def measure(
    pid: int | None,
    gpu_uuids: tuple[str, ...],
    *,
    cores: float,
    mem_limit: int,
    previous: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    cpu_seconds = 0.0
    rss = 0
    for proc in processes(pid):
        try:
            times = proc.cpu_times()
            cpu_seconds += times.user + times.system
            rss += proc.memory_info().rss
        except psutil.Error:
            continue
    used_cores = 0.0
    if previous is not None:
        wall = (now - datetime.fromisoformat(previous["at"])).total_seconds()
        if wall > 0:
            used_cores = max(0.0, cpu_seconds - float(previous["cpu_seconds"])) / wall
    util, gpu_mem = gpu_stats(gpu_uuids)
    return {
        "at": now.isoformat(), "cpu_seconds": cpu_seconds, "cpu_cores": round(used_cores, 3),
        "cpu_percent": round(100 * used_cores / cores, 1) if cores else 0.0,
        "mem_bytes": rss, "mem_percent": round(100 * rss / mem_limit, 1) if mem_limit else 0.0,
        "gpu_util_percent": util, "gpu_mem_bytes": gpu_mem,
    }  # fmt: skip


def last_sample(session: Session, workload_id: str) -> dict[str, Any] | None:
    row = session.scalar(
        select(ResourceSample)
        .where(ResourceSample.workload_id == workload_id)
        .order_by(ResourceSample.id.desc())
        .limit(1)
    )
    return dict(row.values) if row else None


def do_store(session: Session, workload_id: str, values: dict[str, Any], now: datetime) -> None:
    session.add(ResourceSample(workload_id=workload_id, at=now, values=values))
    session.execute(delete(ResourceSample).where(ResourceSample.at < now - KEEP))


def series(session: Session, workload_id: str, *, minutes: int) -> MonitorSeries:
    since = utcnow() - timedelta(minutes=minutes)
    rows = list(
        session.scalars(
            select(ResourceSample)
            .where(ResourceSample.workload_id == workload_id, ResourceSample.at >= since)
            .order_by(ResourceSample.at)
        )
    )
    v = [r.values for r in rows]
    return MonitorSeries(
        at=[r.at for r in rows], cpu_percent=[x["cpu_percent"] for x in v],
        cpu_cores=[x["cpu_cores"] for x in v], mem_bytes=[x["mem_bytes"] for x in v],
        mem_percent=[x["mem_percent"] for x in v],
        gpu_util_percent=[x.get("gpu_util_percent") for x in v],
        gpu_mem_bytes=[x.get("gpu_mem_bytes") for x in v],
    )  # fmt: skip
