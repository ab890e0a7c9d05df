"""Reading what a running environment is doing: IDE APIs, SSH sessions, processes, GPUs.

Called by the dev-environment loop OUTSIDE any transaction. Every probe is best-effort:
a probe that fails reports nothing (and says why in ``Signals.notes``), so a broken probe
never stops an environment by itself, but it can no longer keep one alive either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
import psutil
import pynvml

from hangar.devenvs import code_server
from hangar.devenvs.idle import Signals

TIMEOUT = httpx.Timeout(3.0)


@dataclass(frozen=True, kw_only=True)
class Target:
    """A running environment, as the probes need it."""

    ide: str
    base_url: str  # http://127.0.0.1:<ide port>
    prefix: str  # /dev/<id>/
    secret: str
    pid: int | None
    gpu_uuids: tuple[str, ...]


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def gather(
    target: Target, *, recorded: tuple[datetime | None, str], proxy: datetime | None
) -> Signals:
    notes: list[str] = []
    busy, kernel_last, terminal_last, heartbeat = False, None, None, None
    try:
        if target.ide == "jupyterlab":
            busy, kernel_last, terminal_last = _jupyter(target)
        else:
            heartbeat = _code_server(target)
    except (httpx.HTTPError, ValueError) as exc:
        notes.append(f"{target.ide} did not answer: {exc}")
    return Signals(
        proxy=proxy, kernel_busy=busy, kernel_last=kernel_last, terminal_last=terminal_last,
        heartbeat=heartbeat, ssh_sessions=ssh_sessions(target.pid),
        gpu_percent=gpu_stats(target.gpu_uuids)[0], recorded=recorded, notes=notes,
    )  # fmt: skip


def _jupyter(target: Target) -> tuple[bool, datetime | None, datetime | None]:
    headers = {"Authorization": f"token {target.secret}"}
    with httpx.Client(base_url=target.base_url, headers=headers, timeout=TIMEOUT) as client:
        kernels = client.get(f"{target.prefix}api/kernels")
        kernels.raise_for_status()
        terminals = client.get(f"{target.prefix}api/terminals")
    busy = any(k.get("execution_state") == "busy" for k in kernels.json())
    kernel_last = _newest(parse_time(k.get("last_activity")) for k in kernels.json())
    terminal_last = None
    if terminals.status_code == 200:
        terminal_last = _newest(parse_time(t.get("last_activity")) for t in terminals.json())
    return busy, kernel_last, terminal_last


def _code_server(target: Target) -> datetime | None:
    answer = httpx.get(f"{target.base_url}{code_server.HEALTH_PATH}", timeout=TIMEOUT)
    answer.raise_for_status()
    return code_server.parse_health(answer.content)


def _newest(values: object) -> datetime | None:
    found = [v for v in values if isinstance(v, datetime)]  # type: ignore[attr-defined]
    return max(found) if found else None


def processes(pid: int | None) -> list[psutil.Process]:
    """The environment's processes: its first process and every descendant (SSH sessions
    start new sessions, so the process group alone would miss them)."""
    if not pid:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def listens_on(pid: int | None, port: int) -> bool:
    """Whether one of the environment's processes listens on TCP ``port``. Environments
    share the host's network: without this check, exposing a port would reach whatever
    listens there, another user's server included."""
    for proc in processes(pid):
        try:
            sockets = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
               for c in sockets):  # fmt: skip
            return True
    return False


def ssh_sessions(pid: int | None) -> int:
    """Open SSH sessions: sshd names its per-session processes ``sshd: <user>@<tty>``
    (``sshd-session: ...`` from OpenSSH 9.8 on)."""
    count = 0
    for proc in processes(pid):
        try:
            line = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if line.startswith(("sshd: ", "sshd-session: ")) and "@" in line:
            count += 1
    return count


def gpu_stats(uuids: tuple[str, ...]) -> tuple[float | None, int | None]:
    """The busiest of the environment's GPUs (percent) and their memory used (bytes)."""
    if not uuids:
        return None, None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None, None
    try:
        util: list[float] = []
        used = 0
        for uuid in uuids:
            handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
            util.append(float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu))
            used += int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
        return max(util), used
    except pynvml.NVMLError:
        return None, None
    finally:
        pynvml.nvmlShutdown()
