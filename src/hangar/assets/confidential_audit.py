"""Cloud audit of confidential datasets (spec 07 §2.2, decision G2).

Every ``audit_minutes`` (1-1440) while a workload that mounts a confidential dataset runs,
the audit log gets one record naming the workload, the dataset and the commands running in
it: the command lines of the workload's processes, read from the host's ``/proc`` (a
sandboxed workload's PID namespace is visible from the host). Commands that copy or ship data
(``cp``, ``scp``, ``rsync``, ``tar``, ``curl`` …) are flagged and raise the record's level to
*critical*. The mount itself is recorded when the workload is submitted
(``assets.mounts``). The workload has no network (``RunSpec.network_isolated``), so the
flag is about copies inside the sandbox, into the output dataset.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hangar.audit.orm import AuditRecord
from hangar.audit.service import do_record
from hangar.backends.base import Backend
from hangar.backends.local import procfs
from hangar.backends.state import RunHandle
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import RunNode, Workload
from hangar.workloads.service import current_run

log = logging.getLogger(__name__)

ACTION = "dataset.confidential_access"
RISKY = frozenset(
    {"cp", "scp", "rsync", "tar", "zip", "gzip", "dd", "curl", "wget", "nc", "ncat", "sftp",
     "ftp", "base64", "split", "mv"}
)  # fmt: skip
COMMANDS_KEPT = 50


class ConfidentialAudit:
    def __init__(self, sessions: sessionmaker[Session], backend: Backend) -> None:
        self.sessions, self.backend = sessions, backend

    def step(self, now: datetime | None = None) -> int:
        """Record the workloads due for a report; returns how many were recorded."""
        now = now or utcnow()
        with transaction(self.sessions) as session:
            due = [(w, m) for w, m in _running(session) if _due(session, w, m, now)]
            done = 0
            for workload, mount in due:
                commands = self._commands(session, workload)
                _record(session, workload, mount, commands, now)
                done += 1
            return done

    def _commands(self, session: Session, workload: Workload) -> list[str]:
        run = current_run(session, workload)
        node = session.scalar(select(RunNode).where(RunNode.run_id == run.id)) if run else None
        if node is None or not node.handle.get("run_id"):
            return []
        try:
            seen = self.backend.poll(RunHandle.from_dict(node.handle))
        except Exception:  # the report goes on without the commands
            log.exception("cannot observe workload %s for the confidential audit", workload.id)
            return []
        pids: set[int] = set()
        for n in seen.nodes:
            if n.pid:
                pids.add(n.pid)
                pids.update(procfs.descendants(n.pid))
            if n.pgid:
                pids.update(procfs.group_members(n.pgid))
        return [c for c in (_cmdline(p) for p in sorted(pids)) if c][:COMMANDS_KEPT]


def _running(session: Session) -> list[tuple[Workload, dict[str, Any]]]:
    found = []
    for workload in session.scalars(select(Workload).where(Workload.state == State.RUNNING.value)):
        for mount in (workload.spec or {}).get("mounts") or ():
            if mount.get("confidential"):
                found.append((workload, mount))
    return found


def _due(session: Session, workload: Workload, mount: dict[str, Any], now: datetime) -> bool:
    minutes = mount.get("audit_minutes")
    if not minutes:
        return False
    last = session.scalar(
        select(AuditRecord.at)
        .where(
            AuditRecord.tenant_id == workload.tenant_id, AuditRecord.action == ACTION,
            AuditRecord.target_id == workload.id,
        )
        .order_by(AuditRecord.at.desc())
        .limit(1)
    )  # fmt: skip
    return last is None or now - last >= timedelta(minutes=int(minutes))


def _record(
    session: Session, workload: Workload, mount: dict[str, Any], commands: list[str],
    now: datetime,
) -> None:  # fmt: skip
    flagged = [c for c in commands if Path(c.split(" ", 1)[0]).name in RISKY]
    do_record(
        session, at=now, tenant_id=workload.tenant_id, user_id=workload.created_by,
        workspace_id=workload.workspace_id, action=ACTION, method="-",
        path=f"/work/mount/dataset/{mount['name']}", target_type="workload",
        target_id=workload.id, target_name=workload.name, result="success", status_code=200,
        level="critical" if flagged else "warning",
        details={"dataset_id": mount["asset_id"], "dataset": mount.get("asset_name", ""),
                 "commands": commands, "flagged": flagged,
                 "interval_minutes": mount.get("audit_minutes")},
    )  # fmt: skip


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)[:500]
