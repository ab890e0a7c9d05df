"""The local backend: runs every node as a detached, supervised process group on this host.

See ``docs/backends.md`` for the behaviour and ``rundir.py`` for the on-disk contract.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

from hangar.backends.base import DEFAULT_LOG_CHUNK_BYTES, Backend
from hangar.backends.errors import BackendError, LaunchRejected, RunConflict, RunNotFound
from hangar.backends.inventory import Inventory
from hangar.backends.local import limits, procfs, rundir, sandbox
from hangar.backends.local.config import LocalBackendConfig
from hangar.backends.local.contract import contract_binds, in_view, make_view, prepare_host_dirs
from hangar.backends.local.discovery import discover_host
from hangar.backends.local.environment import node_environment
from hangar.backends.local.observe import is_terminal_on_disk, observe_node
from hangar.backends.spec import SAFE_NAME, NodePlacement, RunSpec, check_placements
from hangar.backends.state import (
    LimitMechanism,
    LogChunk,
    NodeState,
    ObservedState,
    Phase,
    RunHandle,
)

LOOPBACK = "127.0.0.1"
SUPERVISOR_MODULE = "hangar.backends.local.supervisor"
REDACTED = "<redacted>"


class LocalBackend(Backend):
    """Runs on this host. Construct once per server; instances sharing a ``state_dir`` see
    the same runs, which is how a restarted server re-adopts them."""

    name = "local"

    def __init__(self, config: LocalBackendConfig) -> None:
        self.config = config
        self.state_dir = config.state_dir.resolve()
        rundir.runs_root(self.state_dir).mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        self._host = discover_host(
            node_name=config.node_name,
            discover_gpus=config.discover_gpus,
            declared=config.declared_gpus,
        )
        self._sandbox_host = sandbox.SandboxHost(
            bwrap=shutil.which(config.bwrap_path) or config.bwrap_path,
            runtime_paths=sandbox.default_runtime_paths(config.runtime_paths),
            hidden_paths=tuple(p.resolve() for p in (self.state_dir, *config.hidden_paths)),
            as_root=os.geteuid() == 0,
        )
        self._sandbox = self._probe_sandbox()
        if config.sandbox == "required" and not self._sandbox.usable:
            raise BackendError(f"sandbox=required but {self._sandbox.reason}")
        self._cgroup_parent, self._limits_reason = limits.probe_cgroup(config.cgroup_parent)
        self._allowed_cpus = sorted(os.sched_getaffinity(0))
        self._cpu_cursor = 0
        self._lock = threading.Lock()

    # -- capabilities -----------------------------------------------------------------------

    @property
    def isolation_enabled(self) -> bool:
        return self._sandbox.usable

    @property
    def isolation_reason(self) -> str:
        return self._sandbox.reason

    @property
    def network_isolation_available(self) -> bool:
        return self._sandbox.network_isolation

    @property
    def limits_mechanism(self) -> LimitMechanism:
        return LimitMechanism.CGROUP_V2 if self._cgroup_parent else LimitMechanism.AFFINITY_RLIMIT

    @property
    def limits_reason(self) -> str:
        return self._limits_reason

    def _probe_sandbox(self) -> sandbox.ProbeResult:
        if self.config.sandbox == "off":
            return sandbox.ProbeResult(
                usable=False, network_isolation=False, reason="sandbox disabled by configuration"
            )
        if shutil.which(self._sandbox_host.bwrap) is None:
            return sandbox.ProbeResult(
                usable=False,
                network_isolation=False,
                reason=f"bubblewrap ({self.config.bwrap_path}) is not installed; "
                "install it (apt-get install bubblewrap) to isolate workloads",
            )
        return sandbox.probe(self._sandbox_host)

    # -- the contract -----------------------------------------------------------------------

    def launch(self, spec: RunSpec, placements: Sequence[NodePlacement]) -> RunHandle:
        ordered = check_placements(spec, placements)
        self._check_host(spec, ordered)
        prepare_host_dirs(spec)
        path = rundir.run_dir(self.state_dir, spec.run_id)
        record = self._run_record(spec, ordered)
        with self._lock:
            existing = rundir.read_json(path / rundir.RUN_RECORD)
            if existing is None:
                path.mkdir(mode=0o700, exist_ok=True)
                record["master_port"] = free_loopback_port()
                rundir.write_json(path / rundir.RUN_RECORD, record)
            elif existing.get("fingerprint") != record["fingerprint"]:
                raise RunConflict(
                    f"run '{spec.run_id}' was already launched with a different spec; "
                    "launch a new run id instead"
                )
            else:
                record = existing
            for placement in ordered:
                self._launch_node(spec, placement, path, int(record["master_port"]))
        return RunHandle(backend=self.name, run_id=spec.run_id, node_count=spec.node_count)

    def poll(self, handle: RunHandle) -> ObservedState:
        path = rundir.run_dir(self.state_dir, handle.run_id)
        record = rundir.read_json(path / rundir.RUN_RECORD)
        if record is None:
            lost = [
                NodeState(rank=r, node_name="", phase=Phase.LOST, reason="run directory is missing")
                for r in range(handle.node_count)
            ]
            return ObservedState.from_nodes(handle.run_id, lost)
        nodes = [
            observe_node(
                rundir.node_dir(path, rank),
                rank=rank,
                start_timeout_seconds=self.config.start_timeout_seconds,
            )
            for rank in range(int(record["node_count"]))
        ]
        return ObservedState.from_nodes(handle.run_id, nodes)

    def stop(self, handle: RunHandle, *, grace_seconds: float) -> None:
        path = rundir.run_dir(self.state_dir, handle.run_id)
        record = rundir.read_json(path / rundir.RUN_RECORD)
        if record is None:
            return
        for rank in range(int(record["node_count"])):
            self._stop_node(rundir.node_dir(path, rank), max(0.0, grace_seconds))

    def logs(
        self,
        handle: RunHandle,
        *,
        node: int = 0,
        since_offset: int = 0,
        max_bytes: int = DEFAULT_LOG_CHUNK_BYTES,
    ) -> LogChunk:
        path = self._node_path(handle, node)
        terminal = is_terminal_on_disk(path)  # before reading: nothing is written after exit.json
        try:
            with (path / rundir.OUTPUT_LOG).open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                start = min(max(0, since_offset), size)
                fh.seek(start)
                data = fh.read(max(1, max_bytes))
        except FileNotFoundError:
            start, size, data = 0, 0, b""
        end = start + len(data)
        return LogChunk(data=data, offset=start, next_offset=end, complete=terminal and end >= size)

    def endpoint(self, handle: RunHandle, port: int, *, node: int = 0) -> str:
        if not 1 <= port <= 65535:
            raise LaunchRejected(f"port: {port} is not a TCP port", fields={"port": "1..65535"})
        self._node_path(handle, node)
        record = rundir.read_json(rundir.run_dir(self.state_dir, handle.run_id) / rundir.RUN_RECORD)
        if record and record.get("network_isolated"):
            raise LaunchRejected(
                f"run '{handle.run_id}' is network isolated; its ports cannot be reached",
                fields={"port": "network isolated run"},
            )
        return f"http://{self.config.endpoint_host}:{port}"

    def inventory(self) -> Inventory:
        return Inventory(hosts=(self._host,))

    def adopt(self, run_ids: Iterable[str] | None = None) -> list[RunHandle]:
        root = rundir.runs_root(self.state_dir)
        ids = sorted(p.name for p in root.iterdir()) if run_ids is None else list(run_ids)
        handles = []
        for run_id in ids:
            if not SAFE_NAME.match(run_id):
                continue
            record = rundir.read_json(root / run_id / rundir.RUN_RECORD)
            if record is not None:
                handles.append(
                    RunHandle(
                        backend=self.name, run_id=run_id, node_count=int(record["node_count"])
                    )
                )
        return handles

    def forget(self, handle: RunHandle) -> None:
        state = self.poll(handle)
        if not state.finished:
            raise RunConflict(
                f"run '{handle.run_id}' is {state.phase}; stop it before forgetting it"
            )
        shutil.rmtree(rundir.run_dir(self.state_dir, handle.run_id), ignore_errors=True)

    # -- launching --------------------------------------------------------------------------

    def _check_host(self, spec: RunSpec, placements: Sequence[NodePlacement]) -> None:
        for p in placements:
            if p.node_name != self._host.name:
                raise LaunchRejected(
                    f"placement of rank {p.rank} names node '{p.node_name}'; this local backend "
                    f"runs on '{self._host.name}'",
                    fields={"placements": "unknown node"},
                )
            unknown = [u for u in p.device_uuids if self._host.gpu(u) is None]
            if unknown:
                raise LaunchRejected(
                    f"placement of rank {p.rank}: device(s) {', '.join(unknown)} are not in "
                    f"the inventory of '{self._host.name}'",
                    fields={"placements": "unknown device"},
                )
        if spec.network_isolated and not self._sandbox.network_isolation:
            raise LaunchRejected(
                "network_isolated: this host cannot cut a workload's network "
                f"({self._sandbox.reason})",
                fields={"network_isolated": "not available on this host"},
            )
        if spec.needs_sandbox and not self._sandbox.usable:
            raise LaunchRejected(
                "sandbox: this run asks for capabilities, directories or overlays that only "
                "the sandbox (bubblewrap) provides; this server runs workloads unsandboxed "
                f"({self._sandbox.reason})",
                fields={"sandbox": "not available on this host"},
            )
        problems = sandbox.overlay_problems(spec.overlays)
        if problems:
            raise LaunchRejected(
                f"overlays: {'; '.join(problems)}", fields={"overlays": "cannot be laid"}
            )
        if spec.network_isolated and spec.node_count > 1:
            raise LaunchRejected(
                "network_isolated: nodes of a multi-node run cannot rendezvous without a network",
                fields={"network_isolated": "single-node runs only"},
            )

    def _run_record(self, spec: RunSpec, placements: Sequence[NodePlacement]) -> dict[str, Any]:
        shown = _jsonable(asdict(spec))
        shown["run_token"] = REDACTED
        plan = [_jsonable(asdict(p)) for p in placements]
        # The token is left out: a retried launch may carry a freshly minted one.
        digest = hashlib.sha256(json.dumps([shown, plan], sort_keys=True).encode()).hexdigest()
        return {
            "run_id": spec.run_id,
            "node_count": spec.node_count,
            "network_isolated": spec.network_isolated,
            "created_at": rundir.iso(rundir.utc_now()),
            "fingerprint": digest,
            "spec": shown,
            "placements": plan,
        }

    def _launch_node(
        self, spec: RunSpec, placement: NodePlacement, run_path: Path, master_port: int
    ) -> None:
        path = rundir.node_dir(run_path, placement.rank)
        if (path / rundir.SUPERVISOR_RECORD).exists():
            return  # already started (idempotent launch)
        path.mkdir(mode=0o700, exist_ok=True)
        rundir.write_json(
            path / rundir.NODE_RECORD,
            {
                "rank": placement.rank,
                "node_name": placement.node_name,
                "created_at": rundir.iso(rundir.utc_now()),
            },
        )
        payload = self._payload(spec, placement, path, master_port)
        self._start_supervisor(path, payload)

    def _payload(
        self, spec: RunSpec, placement: NodePlacement, path: Path, master_port: int
    ) -> dict[str, Any]:
        binds = contract_binds(spec)
        command = (
            [_shell(), "-c", spec.command] if isinstance(spec.command, str) else list(spec.command)
        )
        slices = any(d.is_slice for d in placement.devices)
        mps_dir = self.config.mps_pipe_dir if slices else None
        if self._sandbox.usable:
            work_root = PurePosixPath("/work")
            argv = sandbox.bwrap_argv(
                self._sandbox_host,
                binds=binds,
                command=command,
                cwd=str(spec.contract_working_dir),
                device_nodes=self._device_nodes(placement),
                extra_rw=[mps_dir] if mps_dir else [],
                network_isolated=spec.network_isolated,
                cap_add=spec.capabilities,
                dirs=spec.empty_dirs,
                overlays=[(host, target) for target, host in sorted(spec.overlays.items())],
            )
            cwd = "/"
        else:
            view = path / "work"
            make_view(view, binds)
            work_root = PurePosixPath(view)
            argv = command
            cwd = str(in_view(view, spec.contract_working_dir))
        env = node_environment(
            spec,
            placement,
            work_root=work_root,
            master_addr=LOOPBACK,
            master_port=master_port,
            mps_pipe_dir=str(mps_dir) if mps_dir else None,
        )
        return {
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "sandboxed": self._sandbox.usable,
            "limits": self._limits_plan(spec, placement.rank),
            "default_grace_seconds": self.config.default_grace_seconds,
        }

    def _device_nodes(self, placement: NodePlacement) -> list[str]:
        nodes = []
        for uuid in placement.device_uuids:
            gpu = self._host.gpu(uuid)
            if gpu is not None and gpu.minor is not None:
                nodes.append(f"/dev/nvidia{gpu.minor}")
        return nodes

    def _limits_plan(self, spec: RunSpec, rank: int) -> dict[str, Any]:
        res = spec.resources
        cpus = limits.pick_cpus(self._allowed_cpus, res.cpu_millicores, self._cpu_cursor)
        self._cpu_cursor += len(cpus)
        use_cgroup = self._cgroup_parent is not None
        return {
            "mechanism": limits.CGROUP if use_cgroup else limits.AFFINITY_RLIMIT,
            "cpu_millicores": res.cpu_millicores,
            "memory_bytes": res.memory_bytes,
            "cpus": cpus,
            "cgroup_parent": str(self._cgroup_parent) if use_cgroup else None,
            "cgroup_name": f"hangar-{spec.run_id}-node-{rank}",
            "detail": "" if use_cgroup else self._limits_reason,
        }

    def _start_supervisor(self, path: Path, payload: dict[str, Any]) -> None:
        hangar_root = str(Path(__file__).resolve().parents[3])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": hangar_root}
        log = os.open(path / rundir.SUPERVISOR_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", SUPERVISOR_MODULE, str(path)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
                cwd="/",
                env=env,
            )
        finally:
            os.close(log)
        try:
            proc.communicate(
                json.dumps(payload).encode(), timeout=self.config.start_timeout_seconds
            )
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise BackendError(
                f"the supervisor of {path.name} did not start within "
                f"{self.config.start_timeout_seconds:g}s; see {path / rundir.SUPERVISOR_LOG}"
            ) from None
        if proc.returncode != 0:
            tail = (path / rundir.SUPERVISOR_LOG).read_text(errors="replace")[-500:]
            raise BackendError(f"the supervisor of {path.name} failed to start: {tail.strip()}")

    # -- stopping ---------------------------------------------------------------------------

    def _stop_node(self, path: Path, grace: float) -> None:
        if is_terminal_on_disk(path) or not path.is_dir():
            return
        rundir.write_json(
            path / rundir.STOP_RECORD,
            {"requested_at": rundir.iso(rundir.utc_now()), "grace_seconds": grace},
        )
        supervisor = rundir.read_json(path / rundir.SUPERVISOR_RECORD)
        if (
            supervisor
            and rundir.lock_is_held(path / rundir.SUPERVISOR_LOCK)
            and procfs.is_alive(supervisor.get("pid"), supervisor.get("start_ticks"))
        ):
            procfs.signal_pid(int(supervisor["pid"]), signal.SIGTERM)
            return
        work = rundir.read_json(path / rundir.WORKLOAD_RECORD)
        if work and procfs.group_alive(work.get("pgid"), work.get("pgid_ticks")):
            threading.Thread(
                target=_stop_orphan,
                args=(path, int(work["pgid"]), work.get("pgid_ticks"), grace),
                daemon=True,
            ).start()

    def _node_path(self, handle: RunHandle, node: int) -> Path:
        path = rundir.run_dir(self.state_dir, handle.run_id)
        record = rundir.read_json(path / rundir.RUN_RECORD)
        if record is None or not 0 <= node < int(record["node_count"]):
            raise RunNotFound(f"run '{handle.run_id}' has no node {node}")
        return rundir.node_dir(path, node)


def _stop_orphan(path: Path, pgid: int, ticks: int | None, grace: float) -> None:
    """Stop a workload whose supervisor died: TERM, grace, KILL, then record the end."""
    procfs.signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and procfs.group_alive(pgid, ticks):
        time.sleep(0.1)
    procfs.signal_group(pgid, signal.SIGKILL)
    if not is_terminal_on_disk(path):
        rundir.write_json(
            path / rundir.EXIT_RECORD,
            {
                "exit_code": None,
                "signal": None,
                "finished_at": rundir.iso(rundir.utc_now()),
                "stop_requested": True,
                "reason": "stopped after its supervisor was lost; exit code unknown",
                "recorded_by": "backend",
            },
        )


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the rendezvous port of a local run)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _shell() -> str:
    return "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
