"""CPU and memory limits for local runs. Standard library only: the supervisor imports this.

Two mechanisms, the better one first:

* **cgroup v2** when a writable delegated cgroup with the ``cpu`` and ``memory`` controllers
  exists: each node gets its own child cgroup with ``cpu.max`` (CFS quota from millicores)
  and ``memory.max`` (the node's total, swap off). ``cgroup.kill`` ends every process in it.
* **affinity + rlimit** otherwise: the node is pinned to ``ceil(millicores / 1000)`` cores
  with ``sched_setaffinity`` and every process gets ``RLIMIT_DATA`` = the node's memory.
  ``RLIMIT_DATA`` (heap and private writable mappings) rather than ``RLIMIT_AS``: GPU runtimes
  reserve terabytes of address space and die under an address-space limit. It bounds each
  process, not the node's sum, and cores are shared with other runs, not reserved.

The backend probes once at start (:func:`probe_cgroup`) and writes a plan into each node's
launch payload; the supervisor applies it (:func:`prepare`) and records what it applied.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CGROUP_PERIOD_US = 100_000
REQUIRED_CONTROLLERS = ("cpu", "memory")
CGROUP = "cgroup-v2"
AFFINITY_RLIMIT = "affinity+rlimit"
NO_LIMITS = "none"


def cgroup2_root() -> Path | None:
    """Mount point of the cgroup v2 hierarchy (``/sys/fs/cgroup`` or ``.../unified``)."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    points = [
        line.split()[1] for line in mounts if len(line.split()) > 2 and line.split()[2] == "cgroup2"
    ]
    return Path(sorted(points, key=len)[0]) if points else None


def own_cgroup() -> str:
    """This process's cgroup v2 path (``/`` when unknown)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:] or "/"
    return "/"


def probe_cgroup(parent: Path | None) -> tuple[Path | None, str]:
    """Return (usable parent cgroup, reason). Parent None means "my own cgroup".

    Usable means: cgroup v2 is mounted, ``parent`` offers cpu and memory, they are (or can
    be) enabled for its children, and a child cgroup can be created with writable limits.
    """
    root = cgroup2_root()
    if root is None:
        return None, "no cgroup v2 filesystem is mounted"
    if parent is None:
        parent = root / own_cgroup().lstrip("/")
    try:
        offered = (parent / "cgroup.controllers").read_text().split()
    except OSError as exc:
        return None, f"cannot read {parent / 'cgroup.controllers'}: {exc.strerror}"
    missing = [c for c in REQUIRED_CONTROLLERS if c not in offered]
    if missing:
        return None, (
            f"cgroup v2 at {parent} offers controllers {offered or 'none'}, not "
            f"{', '.join(missing)} (cgroup v1 or hybrid host?); set cgroup_parent to a "
            "delegated cgroup v2 directory to get cgroup limits"
        )
    enabled = (parent / "cgroup.subtree_control").read_text().split()
    if any(c not in enabled for c in REQUIRED_CONTROLLERS):
        try:
            (parent / "cgroup.subtree_control").write_text(
                " ".join(f"+{c}" for c in REQUIRED_CONTROLLERS)
            )
        except OSError as exc:
            return None, (
                f"cannot enable cpu and memory for children of {parent} ({exc.strerror}); "
                "a cgroup holding processes cannot delegate: point cgroup_parent at an empty "
                "delegated cgroup (e.g. systemd Delegate=yes)"
            )
    probe = parent / f"hangar-probe-{os.getpid()}"
    try:
        probe.mkdir(exist_ok=True)
        writable = all(os.access(probe / f, os.W_OK) for f in ("cpu.max", "memory.max"))
    except OSError as exc:
        return None, f"cannot create a child cgroup under {parent}: {exc.strerror}"
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()
    if not writable:
        return None, f"child cgroups under {parent} have no writable cpu.max/memory.max"
    return parent, f"cgroup v2 under {parent}"


def pick_cpus(allowed: Sequence[int], millicores: int, cursor: int) -> list[int]:
    """``ceil(millicores/1000)`` cores (at most all allowed), starting at ``cursor``."""
    ordered = sorted(allowed)
    count = min(len(ordered), max(1, -(-millicores // 1000)))
    return [ordered[(cursor + i) % len(ordered)] for i in range(count)]


def prepare(plan: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], None]]:
    """Set the limits up for one node; return (what was applied, child pre-exec hook).

    Falls back from cgroup to affinity+rlimit when the cgroup cannot be made, and records
    why in ``detail``.
    """
    applied: dict[str, Any] = {
        "cpu_millicores": plan["cpu_millicores"],
        "memory_bytes": plan["memory_bytes"],
        "cpus": [],
        "cgroup": None,
        "detail": plan.get("detail", ""),
    }
    if plan["mechanism"] == CGROUP:
        path = Path(plan["cgroup_parent"]) / plan["cgroup_name"]
        try:
            _make_cgroup(path, plan["cpu_millicores"], plan["memory_bytes"])
        except OSError as exc:
            applied["detail"] = f"cgroup {path} failed ({exc}); fell back to affinity+rlimit"
        else:
            applied.update(mechanism=CGROUP, cgroup=str(path))
            procs = path / "cgroup.procs"
            return applied, lambda: procs.write_text("0")
    cpus = list(plan["cpus"])
    memory = int(plan["memory_bytes"])
    applied.update(mechanism=AFFINITY_RLIMIT, cpus=cpus)

    def pin_and_cap() -> None:
        os.sched_setaffinity(0, cpus)
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        cap = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))

    return applied, pin_and_cap


def _make_cgroup(path: Path, millicores: int, memory: int) -> None:
    path.mkdir(exist_ok=True)
    quota = max(1000, millicores * CGROUP_PERIOD_US // 1000)
    (path / "cpu.max").write_text(f"{quota} {CGROUP_PERIOD_US}")
    (path / "memory.max").write_text(str(memory))
    swap = path / "memory.swap.max"
    if swap.exists():
        swap.write_text("0")


def kill_cgroup(cgroup: str | None) -> None:
    """SIGKILL every process in the cgroup (``cgroup.kill`` where the kernel has it)."""
    if not cgroup:
        return
    path = Path(cgroup)
    with contextlib.suppress(OSError):
        if (path / "cgroup.kill").exists():
            (path / "cgroup.kill").write_text("1")
            return
        for line in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line), signal.SIGKILL)


def remove_cgroup(cgroup: str | None) -> None:
    if cgroup:
        with contextlib.suppress(OSError):
            Path(cgroup).rmdir()
