"""The on-disk layout of local runs. Standard library only: the supervisor imports this.

::

    <state_dir>/runs/<run_id>/run.json            run record (spec without the token, placements)
    <state_dir>/runs/<run_id>/node-<rank>/
        node.json         rank, host node name                     (written by the backend)
        supervisor.json   supervisor pid, start ticks, boot id     (supervisor, at start)
        supervisor.lock   held (flock) for the supervisor's whole life: liveness without pids
        workload.json     pid, pgid, start ticks, start time, sandbox, limits applied
        stop.json         stop request: time and grace period      (backend, on stop())
        exit.json         exit code, signal, finish time           (supervisor, when no process
                          of the node is left)
        output.log        the workload's stdout and stderr, appended
        supervisor.log    the supervisor's own messages

Every JSON file is written whole (temporary file, fsync, rename), so a reader never sees half
a record. Directories are 0700 and files 0600: the run directory is the server's, not the
workload's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUN_RECORD = "run.json"
NODE_RECORD = "node.json"
SUPERVISOR_RECORD = "supervisor.json"
SUPERVISOR_LOCK = "supervisor.lock"
WORKLOAD_RECORD = "workload.json"
STOP_RECORD = "stop.json"
EXIT_RECORD = "exit.json"
OUTPUT_LOG = "output.log"
SUPERVISOR_LOG = "supervisor.log"


def runs_root(state_dir: Path) -> Path:
    return state_dir / "runs"


def run_dir(state_dir: Path, run_id: str) -> Path:
    return runs_root(state_dir) / run_id


def node_dir(run_path: Path, rank: int) -> Path:
    return run_path / f"node-{rank}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse_time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically and durably (0600)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(data, indent=1, sort_keys=True).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    fsync_dir(path.parent)


def read_json(path: Path) -> dict[str, Any] | None:
    """The record at ``path``, or None when it does not exist (or is unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def lock_is_held(path: Path) -> bool:
    """True while some process holds ``path`` locked (the supervisor is alive)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return False
