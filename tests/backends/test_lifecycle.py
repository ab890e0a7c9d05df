"""Launch, poll, exit codes, stop, logs, endpoints: real processes, both sandbox modes."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path

import pytest

from hangar.backends import LaunchRejected, NodePlacement, Phase, RunConflict
from hangar.backends.local.backend import LocalBackend, free_loopback_port
from tests.backends.support import (
    launch,
    make_spec,
    place,
    processes_with_marker,
    read_log,
    wait_finished,
    wait_running,
    wait_until,
)


def test_exit_codes_become_phases(any_backend: LocalBackend, tmp_path: Path) -> None:
    ok = launch(any_backend, make_spec(tmp_path, "echo fine"))
    bad = launch(any_backend, make_spec(tmp_path, "echo broken >&2; exit 7"))
    killed = launch(any_backend, make_spec(tmp_path, "kill -KILL $$"))
    missing = launch(any_backend, make_spec(tmp_path, ["no-such-command-xyz"]))

    state = wait_finished(any_backend, ok)
    assert (state.phase, state.exit_code) == (Phase.SUCCEEDED, 0)
    node = state.nodes[0]
    assert node.started_at and node.finished_at and node.started_at <= node.finished_at
    assert node.pid and node.pgid and node.sandboxed is any_backend.isolation_enabled
    assert read_log(any_backend, ok) == "fine\n"

    state = wait_finished(any_backend, bad)
    assert (state.phase, state.exit_code) == (Phase.FAILED, 7)
    assert read_log(any_backend, bad) == "broken\n"  # stderr lands in the same log

    state = wait_finished(any_backend, killed)
    assert (state.phase, state.exit_code) == (Phase.FAILED, 137)

    state = wait_finished(any_backend, missing)
    assert state.phase is Phase.FAILED and state.exit_code not in (None, 0)
    assert "no-such-command-xyz" in read_log(any_backend, missing)


def test_stop_sends_sigterm_first(any_backend: LocalBackend, tmp_path: Path) -> None:
    script = "trap 'echo got TERM; exit 0' TERM; echo ready; sleep 300 & wait"
    handle = launch(any_backend, make_spec(tmp_path, script))
    wait_until(lambda: "ready" in read_log(any_backend, handle), "the workload to start")

    any_backend.stop(handle, grace_seconds=60)
    state = wait_finished(any_backend, handle)

    assert state.phase is Phase.STOPPED
    assert "got TERM" in read_log(any_backend, handle)


def test_stop_kills_the_whole_group_after_grace(any_backend: LocalBackend, tmp_path: Path) -> None:
    """Everything ignores SIGTERM; one grandchild is orphaned into its own session: all die."""
    marker = uuid.uuid4().hex
    script = (
        "trap '' TERM\n"
        "(sleep 300; echo never) &\n"
        "(setsid sh -c 'sleep 300' &)\n"  # orphaned and out of the group
        "sh -c 'sleep 300 & wait' &\n"
        "echo ready\n"
        "wait\n"
    )
    spec = make_spec(tmp_path, script, env={"HANGAR_TEST_MARK": marker})
    handle = launch(any_backend, spec)
    wait_until(lambda: "ready" in read_log(any_backend, handle), "the workload to start")
    wait_until(lambda: len(processes_with_marker(marker)) >= 5, "the process tree to exist")

    any_backend.stop(handle, grace_seconds=0.5)
    state = wait_finished(any_backend, handle)

    assert state.phase is Phase.STOPPED
    assert processes_with_marker(marker) == []
    assert "never" not in read_log(any_backend, handle)


def test_stop_before_start_and_after_end_is_harmless(plain: LocalBackend, tmp_path: Path) -> None:
    handle = launch(plain, make_spec(tmp_path, "true"))
    state = wait_finished(plain, handle)
    plain.stop(handle, grace_seconds=1)
    assert plain.poll(handle).phase is state.phase is Phase.SUCCEEDED


def test_logs_stream_with_offsets_and_are_complete_after(
    any_backend: LocalBackend, tmp_path: Path
) -> None:
    spec = make_spec(
        tmp_path,
        'echo "line 1"; while [ ! -e "$HANGAR_OUTPUT_DIR/go" ]; do sleep 0.05; done; echo "line 2"',
    )
    handle = launch(any_backend, spec)

    seen = b""
    offset = 0

    def first_line() -> bool:
        nonlocal seen, offset
        chunk = any_backend.logs(handle, since_offset=offset)
        assert not chunk.complete and chunk.offset == offset
        seen += chunk.data
        offset = chunk.next_offset
        return seen == b"line 1\n"

    wait_until(first_line, "the first line")
    # The workload may print before its supervisor has recorded the start: wait for RUNNING.
    wait_until(lambda: any_backend.poll(handle).phase is Phase.RUNNING, "RUNNING")
    (spec.output_dir / "go").touch()
    wait_finished(any_backend, handle)

    rest = any_backend.logs(handle, since_offset=offset)
    assert rest.data == b"line 2\n" and rest.complete
    assert any_backend.logs(handle, since_offset=rest.next_offset).data == b""
    full = any_backend.logs(handle)
    assert full.data == b"line 1\nline 2\n" and full.complete


def test_launch_is_idempotent_by_run_id(plain: LocalBackend, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, 'echo once >> "$HANGAR_OUTPUT_DIR/count"')
    first = plain.launch(spec, place(plain))
    again = plain.launch(spec, place(plain))
    assert first == again
    wait_finished(plain, first)
    assert (spec.output_dir / "count").read_text() == "once\n"

    changed = make_spec(tmp_path, "echo other", run_id=spec.run_id)
    with pytest.raises(RunConflict):
        plain.launch(changed, place(plain))


def test_forget_refuses_running_runs(plain: LocalBackend, tmp_path: Path) -> None:
    handle = launch(plain, make_spec(tmp_path, "sleep 300"))
    wait_running(plain, handle)
    with pytest.raises(RunConflict):
        plain.forget(handle)
    plain.stop(handle, grace_seconds=5)
    wait_finished(plain, handle)
    plain.forget(handle)
    assert plain.adopt([handle.run_id]) == []
    assert plain.poll(handle).phase is Phase.LOST


def test_bad_placements_are_rejected(plain: LocalBackend, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "true", node_count=2)
    host = plain.inventory().hosts[0].name
    cases = [
        [NodePlacement(node_name=host, rank=0)],
        [NodePlacement(node_name=host, rank=0), NodePlacement(node_name=host, rank=0)],
        [NodePlacement(node_name="elsewhere", rank=r) for r in range(2)],
        [NodePlacement.whole_gpus(host, r, ["GPU-not-here"]) for r in range(2)],
    ]
    for placements in cases:
        with pytest.raises(LaunchRejected):
            plain.launch(spec, placements)
    missing_mount = make_spec(tmp_path, "true", share_dir=tmp_path / "no-such-share")
    with pytest.raises(LaunchRejected, match="no-such-share"):
        launch(plain, missing_mount)


def test_endpoint_reaches_a_server_in_the_run(any_backend: LocalBackend, tmp_path: Path) -> None:
    port = free_loopback_port()
    (tmp_path / "users/bob/home").mkdir(parents=True)
    (tmp_path / "users/bob/home/index.html").write_text("hello from the run")
    spec = make_spec(tmp_path, ["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    handle = launch(any_backend, spec)
    url = any_backend.endpoint(handle, port)
    assert url == f"http://127.0.0.1:{port}"

    def served() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/index.html", timeout=2) as resp:  # noqa: S310
                return bool(resp.read() == b"hello from the run")
        except OSError:
            return False

    wait_until(served, "the HTTP server in the run")
    any_backend.stop(handle, grace_seconds=5)
    assert wait_finished(any_backend, handle).phase is Phase.STOPPED
