"""Runs outlive the server: SIGKILL the process that launched them, adopt them from a new
backend instance on the same state directory, and observe, stop and read them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.backends import Phase, RunHandle
from hangar.backends.local.backend import LocalBackend
from tests.backends.support import (
    launch,
    make_backend,
    make_spec,
    processes_with_marker,
    read_log,
    wait_finished,
    wait_running,
    wait_until,
)

# A stand-in for the Hangar server: builds a backend, launches one run, prints the handle,
# then waits to be killed.
SERVER = """
import json, sys, time
from pathlib import Path
from hangar.backends.local.backend import LocalBackend
from hangar.backends.local.config import LocalBackendConfig
from tests.backends.support import launch, make_spec

args = json.loads(sys.argv[1])
root = Path(args["root"])
backend = LocalBackend(LocalBackendConfig(state_dir=root / "state", sandbox=args["sandbox"]))
spec = make_spec(root, args["command"], run_id=args["run_id"],
                 env={"HANGAR_TEST_MARK": args["marker"]})
print(json.dumps(launch(backend, spec).to_dict()), flush=True)
time.sleep(3600)
"""


@pytest.fixture(params=["off", "auto"])
def sandbox_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


class Server:
    """Launches runs from a separate process and SIGKILLs that process's whole group."""

    def __init__(self, root: Path, sandbox: str) -> None:
        self.root, self.sandbox = root, sandbox
        self.marker = uuid.uuid4().hex
        self.procs: list[subprocess.Popen[str]] = []

    def launch_then_die(self, command: str, run_id: str) -> RunHandle:
        args = {
            "root": str(self.root),
            "sandbox": self.sandbox,
            "command": command,
            "run_id": run_id,
            "marker": self.marker,
        }
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, json.dumps(args)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        handle = RunHandle.from_dict(json.loads(proc.stdout.readline()))
        os.killpg(proc.pid, signal.SIGKILL)  # the server and everything in its group
        proc.wait()
        return handle

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture
def server(tmp_path: Path, sandbox_mode: str) -> Iterator[Server]:
    srv = Server(tmp_path, sandbox_mode)
    yield srv
    srv.close()


def successor(server: Server) -> LocalBackend:
    return make_backend(server.root, sandbox=server.sandbox)


def test_run_survives_server_sigkill_and_is_readopted(server: Server) -> None:
    handle = server.launch_then_die(
        'echo started; while [ ! -e "$HANGAR_OUTPUT_DIR/go" ]; do sleep 0.05; done; echo done; exit 5',
        run_id="survivor",
    )
    backend = successor(server)

    assert handle in backend.adopt()
    assert backend.adopt(["survivor", "never-launched"]) == [handle]
    wait_running(backend, handle)
    wait_until(lambda: read_log(backend, handle) == "started\n", "the first log line")

    (server.root / "outputs/survivor/go").touch()
    state = wait_finished(backend, handle)

    assert (state.phase, state.exit_code) == (Phase.FAILED, 5)
    assert read_log(backend, handle) == "started\ndone\n"
    assert backend.logs(handle).complete
    assert processes_with_marker(server.marker) == []


def test_run_that_ended_without_any_backend_reports_its_exit(server: Server) -> None:
    handle = server.launch_then_die("echo finished alone; exit 4", run_id="alone")
    exit_record = server.root / "state/runs/alone/node-0/exit.json"
    wait_until(exit_record.exists, "the supervisor to record the exit")
    assert json.loads(exit_record.read_text())["exit_code"] == 4

    backend = successor(server)
    state = backend.poll(backend.adopt()[0])

    assert (state.phase, state.exit_code) == (Phase.FAILED, 4)
    assert read_log(backend, handle) == "finished alone\n"


def test_adopted_run_can_be_stopped(server: Server) -> None:
    handle = server.launch_then_die("trap '' TERM; echo up; sleep 300", run_id="stoppable")
    backend = successor(server)
    wait_until(lambda: read_log(backend, handle) == "up\n", "the workload to start")

    backend.stop(handle, grace_seconds=0.2)
    state = wait_finished(backend, handle)

    assert state.phase is Phase.STOPPED
    assert processes_with_marker(server.marker) == []


def test_workload_outlives_a_killed_supervisor_and_can_still_be_stopped(server: Server) -> None:
    handle = server.launch_then_die("echo up; sleep 300", run_id="orphan")
    backend = successor(server)
    wait_until(lambda: read_log(backend, handle) == "up\n", "the workload to start")
    node_dir = server.root / "state/runs/orphan/node-0"
    supervisor = json.loads((node_dir / "supervisor.json").read_text())
    os.kill(supervisor["pid"], signal.SIGKILL)

    def supervisor_lost() -> bool:
        return "supervisor lost" in backend.poll(handle).nodes[0].reason

    wait_until(supervisor_lost, "the backend to notice the lost supervisor")
    assert backend.poll(handle).phase is Phase.RUNNING

    backend.stop(handle, grace_seconds=2)
    state = wait_finished(backend, handle)

    assert state.phase is Phase.STOPPED and state.exit_code is None
    assert processes_with_marker(server.marker) == []


def test_unknown_run_is_lost(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, sandbox="off")
    handle = RunHandle(backend="local", run_id="ghost", node_count=2)
    state = backend.poll(handle)
    assert state.phase is Phase.LOST and len(state.nodes) == 2
    assert backend.adopt() == []


def test_spec_roundtrip_keeps_the_token_off_disk(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, sandbox="off")
    spec = make_spec(tmp_path, "true")
    wait_finished(backend, launch(backend, spec))
    for dirpath, _dirs, files in os.walk(tmp_path / "state"):
        for name in files:
            assert spec.run_token.encode() not in (Path(dirpath) / name).read_bytes(), name
