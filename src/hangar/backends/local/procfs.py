"""Process facts from ``/proc`` (Linux). Standard library only: the supervisor imports this.

A pid alone is not an identity: pids are reused. A process is identified by (pid, start
ticks), the start time in clock ticks since boot from ``/proc/<pid>/stat``, plus the boot id
for facts that outlive a reboot.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def boot_id() -> str:
    """The kernel's random id of the current boot."""
    return (PROC / "sys/kernel/random/boot_id").read_text().strip()


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards), or None."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """Start time of a live (non-zombie) process in clock ticks since boot, else None."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_alive(pid: int | None, ticks: int | None) -> bool:
    """True when ``pid`` runs and is the same process that was recorded with ``ticks``."""
    if pid is None or pid <= 0:
        return False
    now = start_ticks(pid)
    return now is not None and (ticks is None or now == ticks)


def parent_map() -> dict[int, int]:
    """pid → parent pid for every live process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None or fields[0] in ("Z", "X"):
            continue
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (not ``root`` itself), parents before children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_map().items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    queue = [root]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def group_alive(pgid: int | None, leader_ticks: int | None) -> bool:
    """True while the recorded process group still has live members.

    A pid number cannot be reused while a process group of that number exists. So if a
    live process now holds the leader's pid but started at another time, the recorded group
    is gone; otherwise any live member of the group proves it lives on.
    """
    if pgid is None or pgid <= 0:
        return False
    now = start_ticks(pgid)
    if now is not None and leader_ticks is not None and now != leader_ticks:
        return False
    return bool(group_members(pgid))


def signal_group(pgid: int | None, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group, ignoring a group that is already gone."""
    if pgid is None or pgid <= 0:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def signal_pid(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    return [p for p, parent in parent_map().items() if parent == pid]
