"""The dev-environment loop: scheduled stops, idle shutdown, monitoring, cache retention,
and deletions waiting for their environment to stop.

Same pattern as the run reconciler: read a snapshot in a short transaction, probe OUTSIDE
any transaction (HTTP to the IDE, /proc, NVML, the filesystem), then apply in a second
transaction that re-checks the state, so a stop a user made meanwhile is never undone and
a server killed between the phases redoes the pass on restart. Every automatic stop is
audited with its reason (spec 03 §2, decision C7).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hangar.audit.service import do_record
from hangar.backends.base import Backend
from hangar.backends.state import RunHandle
from hangar.config import Settings
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.devenvs import cleanup, idle, launch, monitor, probes
from hangar.devenvs.orm import DevEnvironment
from hangar.devenvs.service import KIND, do_stop, effective_idle, env_dir, finish_delete, policy_of
from hangar.errors import HangarError
from hangar.workloads.lifecycle import TERMINAL, State
from hangar.workloads.orm import RunNode, Workload
from hangar.workloads.requests import granted_uuids
from hangar.workloads.service import current_run, do_note

log = logging.getLogger("hangar.devenvs")
CACHE_CHECK = timedelta(minutes=5)
PURGE_NOTICE = timedelta(days=1)  # decision C2: notify a day before the purge


@dataclass(frozen=True)
class Snapshot:
    workload_id: str
    name: str
    state: State
    ide: str
    secret: str
    ide_port: int | None
    idle_minutes: int | None
    gpu_busy_percent: int
    stop_at: datetime | None
    recorded: tuple[datetime | None, str]
    warned_at: datetime | None
    stopped_at: datetime | None
    purge_notified: bool
    purged: bool
    deleting: bool
    handle: RunHandle | None
    devices: tuple[str, ...]
    cores: float
    mem_bytes: int
    run_finished_at: datetime | None


class DevEnvLoop:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        backend: Backend,
        settings: Settings,
        *,
        proxy_activity: Callable[[str], datetime | None] = lambda _id: None,
    ) -> None:
        self.sessions, self.backend, self.settings = sessions, backend, settings
        self.proxy_activity = proxy_activity
        self._cache_checked: dict[str, float] = {}

    def step(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        snaps = self._snapshots()
        for snap in snaps:
            try:
                self._visit(snap, now)
            except Exception:
                log.exception("dev environment %s: loop pass failed; retrying", snap.workload_id)
        return len(snaps)

    # --- phase 1 -----------------------------------------------------------------------
    def _snapshots(self) -> list[Snapshot]:
        out: list[Snapshot] = []
        with self.sessions() as session:
            rows = session.execute(
                select(Workload, DevEnvironment)
                .join(DevEnvironment, DevEnvironment.workload_id == Workload.id)
                .where(Workload.kind == KIND)
            ).all()
            for workload, env in rows:
                out.append(self._snapshot(session, workload, env))
        return out

    def _snapshot(self, session: Session, workload: Workload, env: DevEnvironment) -> Snapshot:
        policy = policy_of(session, workload.workspace_id)
        run = current_run(session, workload)
        node = None
        if run is not None:
            node = session.scalar(
                select(RunNode).where(RunNode.run_id == run.id).order_by(RunNode.rank).limit(1)
            )
        handle = RunHandle.from_dict(node.handle) if node and node.handle.get("run_id") else None
        res = workload.spec.get("resources") or {}
        return Snapshot(
            workload_id=workload.id, name=workload.name, state=State(workload.state),
            ide=env.ide, secret=env.secret, ide_port=env.ide_port,
            idle_minutes=effective_idle(env, policy),
            gpu_busy_percent=(
                policy.gpu_busy_percent if policy else self.settings.devenv_gpu_busy_percent
            ),
            stop_at=env.stop_at, recorded=(env.last_activity_at, env.last_activity_source),
            warned_at=env.idle_warned_at, stopped_at=env.stopped_at,
            purge_notified=env.cache_purge_notified_at is not None,
            purged=env.cache_purged_at is not None,
            deleting=env.delete_requested_at is not None, handle=handle,
            devices=granted_uuids(node.resources) if node else (),
            cores=int(res.get("cpu_millicores") or 0) / 1000,
            mem_bytes=int(res.get("mem_bytes") or 0),
            run_finished_at=run.finished_at if run else None,
        )  # fmt: skip

    # --- phases 2 and 3 ----------------------------------------------------------------
    def _visit(self, snap: Snapshot, now: datetime) -> None:
        if snap.state in TERMINAL:
            if snap.deleting:
                self._finish_delete(snap)
            else:
                self._retention(snap, now)
            return
        if snap.state is not State.RUNNING:
            return
        if snap.stop_at is not None and now >= snap.stop_at:
            reason = f"scheduled stop at {snap.stop_at.isoformat(timespec='minutes')}"
            self._auto_stop(snap, rule="scheduled", reason=reason)
            return
        pid = self._pid(snap)
        self._sample(snap, pid, now)
        self._check_cache(snap)
        if snap.idle_minutes:
            self._idle(snap, pid, now)

    def _pid(self, snap: Snapshot) -> int | None:
        if snap.handle is None:
            return None
        try:
            observed = self.backend.poll(snap.handle)
        except HangarError:
            return None
        return observed.nodes[0].pid if observed.nodes else None

    def _sample(self, snap: Snapshot, pid: int | None, now: datetime) -> None:
        with self.sessions() as session:
            previous = monitor.last_sample(session, snap.workload_id)
        values = monitor.measure(
            pid, snap.devices, cores=snap.cores, mem_limit=snap.mem_bytes,
            previous=previous, now=now,
        )  # fmt: skip
        with transaction(self.sessions) as session:
            monitor.do_store(session, snap.workload_id, values, now)

    def _idle(self, snap: Snapshot, pid: int | None, now: datetime) -> None:
        target = probes.Target(
            ide=snap.ide, base_url=f"http://127.0.0.1:{snap.ide_port}",
            prefix=launch.public_prefix(snap.workload_id), secret=snap.secret, pid=pid,
            gpu_uuids=snap.devices,
        )  # fmt: skip
        signals = probes.gather(
            target, recorded=snap.recorded, proxy=self.proxy_activity(snap.workload_id)
        )
        last, source = idle.newest_activity(
            signals, now=now, gpu_busy_percent=snap.gpu_busy_percent
        )
        warned = snap.warned_at is not None and (last is None or last <= snap.warned_at)
        verdict = idle.decide(
            idle_minutes=snap.idle_minutes,
            warning_minutes=self.settings.devenv_idle_warning_minutes,
            last_activity=last, warned=warned, now=now,
        )  # fmt: skip
        with transaction(self.sessions) as session:
            workload = session.get(Workload, snap.workload_id)
            env = session.get(DevEnvironment, snap.workload_id)
            if workload is None or env is None or workload.state != State.RUNNING.value:
                return
            if last is not None and (env.last_activity_at is None or last > env.last_activity_at):
                env.last_activity_at, env.last_activity_source = last, source
                if not warned:
                    env.idle_warned_at = None
            if verdict.action is idle.Action.WARN:
                env.idle_warned_at = now
                left = (verdict.stops_at or now) - now
                minutes = max(1, round(left.total_seconds() / 60))
                do_note(
                    session, workload, "alert",
                    f"idle for {int(verdict.idle_for.total_seconds() // 60)} min: stopping in "
                    f"about {minutes} min unless it is used or kept alive",
                    now=now,
                )  # fmt: skip
        if verdict.action is idle.Action.STOP:
            when = last.isoformat(timespec="seconds") if last else "never"
            reason = (
                f"idle for {snap.idle_minutes} min (last activity {when}"
                f"{', ' + source if source else ''})"
            )
            self._auto_stop(snap, rule="idle", reason=reason)

    def _auto_stop(self, snap: Snapshot, *, rule: str, reason: str) -> None:
        with transaction(self.sessions) as session:
            workload = session.get(Workload, snap.workload_id, with_for_update=True)
            env = session.get(DevEnvironment, snap.workload_id)
            if workload is None or env is None or workload.state != State.RUNNING.value:
                return
            who = "system (scheduled stop)" if rule == "scheduled" else "system (idle shutdown)"
            do_stop(session, workload=workload, who=who, reason=reason)
            if rule == "scheduled":
                env.stop_at = None
            do_record(
                session, tenant_id=workload.tenant_id, user_id=None, username="system",
                workspace_id=workload.workspace_id, action=f"devenv.auto_stop.{rule}",
                method="SYSTEM", path=f"/api/v1/devenvs/{workload.id}/stop",
                target_type="devenv", target_id=workload.id, target_name=workload.name,
                result="success", status_code=200, level="warning",
                details={"rule": rule, "reason": reason},
            )  # fmt: skip
        log.info("dev environment %s stopped: %s", snap.workload_id, reason)

    def _check_cache(self, snap: Snapshot) -> None:
        last = self._cache_checked.get(snap.workload_id, 0.0)
        if time.monotonic() - last < CACHE_CHECK.total_seconds():
            return
        self._cache_checked[snap.workload_id] = time.monotonic()
        limit = self.settings.devenv_cache_limit_gib * 2**30
        used = dir_size(env_dir(self.settings.home, snap.workload_id) / "cache")
        if used > limit:
            with transaction(self.sessions) as session:
                workload = session.get(Workload, snap.workload_id)
                if workload is not None:
                    do_note(
                        session, workload, "alert",
                        f"/work/cache holds {used / 2**30:.1f} GiB, over its "
                        f"{self.settings.devenv_cache_limit_gib} GiB limit: move data to "
                        "/work/home or delete it",
                    )  # fmt: skip

    # --- stopped environments ----------------------------------------------------------
    def _retention(self, snap: Snapshot, now: datetime) -> None:
        # A start clears stopped_at but not the purge mark: a new stop opens a new period.
        if snap.stopped_at is None:
            if snap.run_finished_at is not None:  # stopped since the last pass
                with transaction(self.sessions) as session:
                    env = session.get(DevEnvironment, snap.workload_id)
                    if env is not None and env.stopped_at is None:
                        env.stopped_at = snap.run_finished_at
                        env.cache_purged_at = None
            return
        if snap.purged:
            return
        retention = timedelta(days=self.settings.devenv_cache_retention_days)
        purge_at = snap.stopped_at + retention
        cache = env_dir(self.settings.home, snap.workload_id) / "cache"
        if now >= purge_at:
            shutil.rmtree(cache, ignore_errors=True)
            with transaction(self.sessions) as session:
                workload = session.get(Workload, snap.workload_id)
                env = session.get(DevEnvironment, snap.workload_id)
                if workload is None or env is None or env.stopped_at != snap.stopped_at:
                    return  # started again meanwhile
                env.cache_purged_at = now
                do_note(
                    session, workload, "alert",
                    f"/work/cache purged: the environment was stopped on "
                    f"{snap.stopped_at.isoformat(timespec='minutes')}, more than "
                    f"{self.settings.devenv_cache_retention_days:g} days ago (decision C2)",
                    now=now,
                )  # fmt: skip
        elif now >= purge_at - PURGE_NOTICE and not snap.purge_notified:
            with transaction(self.sessions) as session:
                workload = session.get(Workload, snap.workload_id)
                env = session.get(DevEnvironment, snap.workload_id)
                if workload is None or env is None:
                    return
                env.cache_purge_notified_at = now
                do_note(
                    session, workload, "alert",
                    f"/work/cache will be purged at {purge_at.isoformat(timespec='minutes')} "
                    "unless the environment is started before then; /work/home is kept",
                    now=now,
                )  # fmt: skip

    def _finish_delete(self, snap: Snapshot) -> None:
        with transaction(self.sessions) as session:
            workload = session.get(Workload, snap.workload_id)
            if workload is None or State(workload.state) not in TERMINAL:
                return
            removal = finish_delete(session, workload, home=self.settings.home)
        cleanup.remove(self.backend, removal)


def dir_size(path: Path) -> int:
    total = 0
    if not path.is_dir():
        return 0
    for item in path.rglob("*"):
        try:
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
        except OSError:
            continue
    return total
