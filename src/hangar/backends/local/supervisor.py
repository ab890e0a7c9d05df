"""The per-node supervisor: ``python -m hangar.backends.local.supervisor <node_dir>``.

The backend starts one per node in a new session (``setsid``) and writes the launch payload
(JSON: argv, env, cwd, sandbox flag, limits plan, default grace) to its stdin. The supervisor
then detaches once more (double fork, so it is nobody's child but init's), holds
``supervisor.lock`` for its whole life, and:

1. starts the workload in its own process group (sandboxed: bubblewrap in a new pid
   namespace; the group is then bubblewrap's namespace init and everything under it),
   with the node's limits applied, stdout+stderr appended to ``output.log``;
2. records pid, pgid, start ticks and limits in ``workload.json``;
3. on SIGTERM/SIGINT/SIGHUP (sent by ``stop()``), reads ``stop.json`` for the grace period,
   sends SIGTERM to the group and to every descendant, and SIGKILL to all of them once the
   grace period is over, even if the server is long gone;
4. when the workload's main process exits, SIGKILLs whatever it left behind (it is a child
   subreaper, so orphaned grandchildren come back to it), reaps everything, and only then
   writes ``exit.json``: a recorded exit means no process of the node is left.

Standard library only, and quick to import: it runs once per node launch.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from hangar.backends.local import limits, procfs, rundir

PR_SET_CHILD_SUBREAPER = 36
INFO_TIMEOUT_SECONDS = 10.0
LEFTOVER_REAP_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def log(message: str) -> None:
    sys.stderr.write(f"{rundir.iso(rundir.utc_now())} {message}\n")
    sys.stderr.flush()


class Supervisor:
    """Supervises one node; see the module docstring for the behaviour it guarantees."""

    def __init__(self, node_dir: Path, payload: dict[str, Any]) -> None:
        self.dir = node_dir
        self.payload = payload
        self.sandboxed = bool(payload["sandboxed"])
        self.main: subprocess.Popen[bytes] | None = None
        self.main_status: int | None = None
        self.pgid: int | None = None
        self.helpers: set[int] = set()
        self.cgroup: str | None = None
        self.stop_signalled = False
        self.stop_requested = False
        self.term_sent = False
        self.deadline: float | None = None
        self.wake_r = -1

    # -- start-up ---------------------------------------------------------------------------

    def start(self) -> None:
        """Take the lock, become a subreaper, install handlers, write supervisor.json."""
        os.chdir("/")
        lock_fd = os.open(self.dir / rundir.SUPERVISOR_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # held (fd kept open) until the process exits
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            log(f"warning: PR_SET_CHILD_SUBREAPER failed (errno {ctypes.get_errno()})")
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda _s, _f: None)
        me = os.getpid()
        rundir.write_json(
            self.dir / rundir.SUPERVISOR_RECORD,
            {
                "pid": me,
                "start_ticks": procfs.start_ticks(me),
                "boot_id": procfs.boot_id(),
                "started_at": rundir.iso(rundir.utc_now()),
            },
        )

    def _on_stop_signal(self, _sig: int, _frame: FrameType | None) -> None:
        self.stop_signalled = True

    # -- the life of the node ---------------------------------------------------------------

    def run(self) -> None:
        """Start the workload, wait for it, record the outcome. Never leaves a process."""
        try:
            if (self.dir / rundir.STOP_RECORD).exists():
                self._record_exit(None, reason="stopped before it started", stopped=True)
                return
            if self._spawn():
                self._wait()
                self._kill_leftovers()
                self._record_main_exit()
        except Exception:
            log("supervisor error:\n" + traceback.format_exc())
            self._signal_all(signal.SIGKILL)
            self._reap_until_empty(LEFTOVER_REAP_SECONDS)
            self._record_exit(None, reason="the supervisor failed; see supervisor.log")
        finally:
            limits.remove_cgroup(self.cgroup)

    def _spawn(self) -> bool:
        applied, pre_exec = limits.prepare(self.payload["limits"])
        self.cgroup = applied.get("cgroup")
        argv = list(self.payload["argv"])
        log_fd = os.open(
            self.dir / rundir.OUTPUT_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        info_r = info_w = -1
        extra: dict[str, Any] = {}
        if self.sandboxed:
            info_r, info_w = os.pipe()
            argv = [argv[0], "--info-fd", str(info_w), *argv[1:]]
            extra["pass_fds"] = (info_w,)
        else:
            extra["process_group"] = 0
        try:
            self.main = subprocess.Popen(  # noqa: S603 - argv comes from the backend
                argv,
                env=self.payload["env"],
                cwd=self.payload["cwd"],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                close_fds=True,
                preexec_fn=pre_exec,  # safe: the supervisor is single-threaded
                umask=0o022,
                **extra,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            os.write(log_fd, f"hangar: cannot start {argv[0]!r}: {exc}\n".encode())
            self._record_exit(code, reason=f"cannot start the command: {exc}")
            return False
        finally:
            os.close(log_fd)
            if info_w >= 0:
                os.close(info_w)
        started_at = rundir.iso(rundir.utc_now())
        if self.sandboxed:
            ns_init = self._read_sandbox_init(info_r)
            self.pgid = ns_init
            self.helpers = {self.main.pid} | ({ns_init} if ns_init else set())
        else:
            self.pgid = self.main.pid
        rundir.write_json(
            self.dir / rundir.WORKLOAD_RECORD,
            {
                "pid": self.main.pid,
                "pid_ticks": procfs.start_ticks(self.main.pid),
                "pgid": self.pgid,
                "pgid_ticks": procfs.start_ticks(self.pgid) if self.pgid else None,
                "helpers": sorted(self.helpers),
                "started_at": started_at,
                "sandboxed": self.sandboxed,
                "limits": applied,
            },
        )
        return True

    def _read_sandbox_init(self, info_r: int) -> int | None:
        """bubblewrap's --info-fd JSON names its namespace init ("child-pid")."""
        buf = b""
        deadline = time.monotonic() + INFO_TIMEOUT_SECONDS
        try:
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([info_r], [], [], left)
                chunk = os.read(info_r, 4096) if ready else b""
                if not chunk:
                    break
                buf += chunk
                with contextlib.suppress(json.JSONDecodeError):
                    return int(json.loads(buf)["child-pid"])
        finally:
            os.close(info_r)
        log(f"bubblewrap reported no namespace init (got {buf!r})")
        return None

    def _wait(self) -> None:
        while True:
            if self.stop_signalled:
                self.stop_signalled = False
                self._begin_stop()
            self._reap()
            if self.main_status is not None:
                return
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                log("grace period over: SIGKILL")
                self._signal_all(signal.SIGKILL)
                self.deadline = now + 1.0  # repeat until the main process is gone
            timeout = 30.0 if self.deadline is None else max(0.0, self.deadline - now)
            select.select([self.wake_r], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                while os.read(self.wake_r, 512):
                    pass

    def _begin_stop(self) -> None:
        record = rundir.read_json(self.dir / rundir.STOP_RECORD) or {}
        grace = float(record.get("grace_seconds", self.payload["default_grace_seconds"]))
        self.stop_requested = True
        deadline = time.monotonic() + max(0.0, grace)
        if self.deadline is None or deadline < self.deadline:
            self.deadline = deadline
        if not self.term_sent:
            log(f"stop requested: SIGTERM, SIGKILL in {grace:g}s")
            self._signal_all(signal.SIGTERM)
            self.term_sent = True

    def _signal_all(self, sig: signal.Signals) -> None:
        """Signal the workload's group and every descendant (SIGTERM spares the sandbox's
        own bubblewrap processes: killing them would SIGKILL the namespace at once)."""
        procfs.signal_group(self.pgid, sig)
        for pid in procfs.descendants(os.getpid()):
            if sig != signal.SIGKILL and pid in self.helpers:
                continue
            procfs.signal_pid(pid, sig)
        if sig == signal.SIGKILL:
            limits.kill_cgroup(self.cgroup)

    def _reap(self) -> bool:
        """Reap every exited child; return True while children remain."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if self.main is not None and pid == self.main.pid:
                self.main_status = status

    def _kill_leftovers(self) -> None:
        left = procfs.descendants(os.getpid())
        if left:
            log(f"main process ended; killing {len(left)} leftover process(es)")
            self._signal_all(signal.SIGKILL)
        self._reap_until_empty(LEFTOVER_REAP_SECONDS)

    def _reap_until_empty(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._reap() and time.monotonic() < deadline:
            self._signal_all(signal.SIGKILL)
            time.sleep(0.05)

    # -- recording --------------------------------------------------------------------------

    def _record_main_exit(self) -> None:
        assert self.main_status is not None
        code = os.waitstatus_to_exitcode(self.main_status)
        signame = None
        if code < 0:
            signame = signal.Signals(-code).name
            code = 128 - code
        self._record_exit(code, signal_name=signame)

    def _record_exit(
        self,
        code: int | None,
        *,
        reason: str = "",
        signal_name: str | None = None,
        stopped: bool = False,
    ) -> None:
        stopped = stopped or self.stop_requested or (self.dir / rundir.STOP_RECORD).exists()
        rundir.write_json(
            self.dir / rundir.EXIT_RECORD,
            {
                "exit_code": code,
                "signal": signal_name,
                "finished_at": rundir.iso(rundir.utc_now()),
                "stop_requested": stopped,
                "reason": reason,
                "recorded_by": "supervisor",
            },
        )
        log(f"recorded exit code {code} (stop requested: {stopped})")


def main(argv: list[str]) -> int:
    """Read the payload, detach, supervise. The first process exits once the supervisor is
    up (0) or failed to come up (1), so the backend knows without waiting for the run."""
    node_dir = Path(argv[1])
    payload = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    ready_r, ready_w = os.pipe()
    if os.fork() > 0:
        os.close(ready_w)
        answer = os.read(ready_r, 4096)
        if answer == b"ok":
            return 0
        sys.stderr.write(answer.decode(errors="replace") + "\n")
        return 1
    os.close(ready_r)
    os.umask(0o077)
    supervisor = Supervisor(node_dir, payload)
    try:
        supervisor.start()
    except BaseException as exc:
        os.write(ready_w, f"supervisor failed to start: {exc!r}".encode())
        os._exit(1)
    os.write(ready_w, b"ok")
    os.close(ready_w)
    supervisor.run()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
