"""Factories and waits for backend tests. Everything runs real processes on this host."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hangar.backends import (
    LogChunk,
    NodePlacement,
    NodeResources,
    ObservedState,
    RunHandle,
    RunSpec,
)
from hangar.backends.local.backend import LocalBackend
from hangar.backends.local.config import LocalBackendConfig

MIB = 1024 * 1024
WAIT_SECONDS = 60.0


def make_backend(root: Path, **config: Any) -> LocalBackend:
    """A local backend whose state lives in ``root/state``."""
    return LocalBackend(LocalBackendConfig(state_dir=root / "state", **config))


def make_spec(root: Path, command: str | Sequence[str], **overrides: Any) -> RunSpec:
    """A one-node CPU run of user 'bob' with its own home and output under ``root``."""
    run_id = overrides.pop("run_id", f"run-{uuid.uuid4().hex[:10]}")
    fields: dict[str, Any] = {
        "run_id": run_id,
        "workload_id": "wl-1",
        "user": "bob",
        "workspace": "team-a",
        "command": command if isinstance(command, str) else tuple(command),
        "resources": NodeResources(cpu_millicores=1000, memory_bytes=1024 * MIB),
        "home_dir": root / "users" / "bob" / "home",
        "output_dir": root / "outputs" / run_id,
        "api_url": "http://127.0.0.1:8420",
        "run_token": f"tok-{uuid.uuid4().hex}",
    }
    fields.update(overrides)
    return RunSpec(**fields)


def place(
    backend: LocalBackend, nodes: int = 1, devices: Sequence[Sequence[str]] = ()
) -> list[NodePlacement]:
    host = backend.inventory().hosts[0].name
    return [
        NodePlacement.whole_gpus(host, rank, devices[rank] if devices else ())
        for rank in range(nodes)
    ]


def launch(backend: LocalBackend, spec: RunSpec) -> RunHandle:
    return backend.launch(spec, place(backend, spec.node_count))


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_finished(backend: LocalBackend, handle: RunHandle) -> ObservedState:
    states: list[ObservedState] = []

    def done() -> bool:
        states.append(backend.poll(handle))
        return states[-1].finished

    wait_until(done, f"run {handle.run_id} to finish")
    return states[-1]


def wait_running(backend: LocalBackend, handle: RunHandle) -> ObservedState:
    states: list[ObservedState] = []

    def running() -> bool:
        states.append(backend.poll(handle))
        assert not states[-1].finished, states[-1]
        return all(n.phase == "RUNNING" for n in states[-1].nodes)

    wait_until(running, f"run {handle.run_id} to run")
    return states[-1]


def read_log(backend: LocalBackend, handle: RunHandle, node: int = 0) -> str:
    """The whole log, read in small chunks the way a download would."""
    out, offset = b"", 0
    while True:
        chunk: LogChunk = backend.logs(handle, node=node, since_offset=offset, max_bytes=64)
        out += chunk.data
        offset = chunk.next_offset
        if not chunk.data:
            return out.decode()


def processes_with_marker(marker: str) -> list[int]:
    """Live processes whose environment holds ``HANGAR_TEST_MARK=<marker>`` (any namespace)."""
    needle = f"HANGAR_TEST_MARK={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found
