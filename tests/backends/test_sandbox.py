"""The sandbox for real: what a workload can and cannot see, with and without bubblewrap."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.backends import BackendError, LaunchRejected, Mount, MountKind, Phase, RunSpec
from hangar.backends.local import sandbox
from hangar.backends.local.backend import LocalBackend
from tests.backends.support import launch, make_backend, make_spec, read_log, wait_finished

PROBE = """
echo "home=$HOME cwd=$(pwd)"
echo result > /work/output/result.txt && echo wrote-output
echo note > /work/home/note.txt && echo wrote-home
cat /work/mount/dataset/corpus/data.txt
cat /work/share/team-a/shared.txt
(echo x > /work/mount/dataset/corpus/new.txt) 2>/dev/null && echo dataset-WRITABLE || echo dataset-readonly
(echo x > /work/mount/code/proj/new.txt) 2>/dev/null && echo code-writable || echo code-READONLY
(echo x > /work/stray.txt) 2>/dev/null && echo work-root-WRITABLE || echo work-root-readonly
(echo x > /usr/stray.txt) 2>/dev/null && echo usr-WRITABLE || echo usr-readonly
cat {alice} 2>/dev/null && echo alice-READABLE || echo alice-hidden
ls {state} >/dev/null 2>&1 && echo state-VISIBLE || echo state-hidden
ls /home /root/.ssh >/dev/null 2>&1 && echo homes-VISIBLE || echo homes-hidden
[ -s /etc/shadow ] && echo shadow-READABLE || echo shadow-masked
echo "processes=$(ls /proc | grep -c '^[0-9]')"
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """Two users' homes, a dataset, a code package and a workspace share."""
    paths = {
        "alice_secret": tmp_path / "users/alice/home/secret.txt",
        "dataset": tmp_path / "assets/datasets/corpus",
        "code": tmp_path / "assets/code/proj",
        "share": tmp_path / "shares/team-a",
    }
    paths["alice_secret"].parent.mkdir(parents=True)
    paths["alice_secret"].write_text("alice's secret")
    paths["dataset"].mkdir(parents=True)
    (paths["dataset"] / "data.txt").write_text("dataset line\n")
    paths["code"].mkdir(parents=True)
    paths["share"].mkdir(parents=True)
    (paths["share"] / "shared.txt").write_text("shared line\n")
    yield paths


def probe_spec(tmp_path: Path, world: dict[str, Path], **overrides: Any) -> RunSpec:
    command = PROBE.format(alice=world["alice_secret"], state=tmp_path / "state")
    return make_spec(
        tmp_path,
        command,
        share_dir=world["share"],
        mounts=(
            Mount(kind=MountKind.DATASET, name="corpus", host_path=world["dataset"]),
            Mount(kind=MountKind.CODE, name="proj", host_path=world["code"], read_only=False),
        ),
        **overrides,
    )


def test_sandbox_shows_the_contract_and_nothing_else(
    sandboxed: LocalBackend, tmp_path: Path, world: dict[str, Path]
) -> None:
    assert sandboxed.isolation_enabled, sandboxed.isolation_reason
    spec = probe_spec(tmp_path, world)
    handle = launch(sandboxed, spec)
    state = wait_finished(sandboxed, handle)
    log = read_log(sandboxed, handle)

    assert state.phase is Phase.SUCCEEDED, log
    lines = log.splitlines()
    assert lines[0] == "home=/work/home cwd=/work/home"
    for expected in (
        "wrote-output",
        "wrote-home",
        "dataset line",
        "shared line",
        "dataset-readonly",
        "code-writable",
        "work-root-readonly",
        "usr-readonly",
        "alice-hidden",
        "state-hidden",
        "homes-hidden",
        "shadow-masked",
    ):
        assert expected in lines, f"{expected!r} missing from:\n{log}"
    assert int(lines[-1].split("=")[1]) < 10  # its own pid namespace
    assert (spec.output_dir / "result.txt").read_text() == "result\n"
    assert (world["code"] / "new.txt").exists()
    assert not (world["dataset"] / "new.txt").exists()


def test_without_sandbox_isolation_is_reported_off(
    plain: LocalBackend, tmp_path: Path, world: dict[str, Path]
) -> None:
    assert not plain.isolation_enabled
    assert "disabled" in plain.isolation_reason
    handle = launch(
        plain, make_spec(tmp_path, f'cat {world["alice_secret"]}; echo "|$HANGAR_OUTPUT_DIR"')
    )
    wait_finished(plain, handle)
    secret, output_dir = read_log(plain, handle).split("|")
    assert secret == "alice's secret"  # honest: nothing is isolated
    assert Path(output_dir.strip()).resolve() == (tmp_path / "outputs" / handle.run_id).resolve()


def test_missing_bubblewrap_falls_back_with_a_reason(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, bwrap_path="/nonexistent/bwrap")
    assert not backend.isolation_enabled
    assert "not installed" in backend.isolation_reason
    with pytest.raises(LaunchRejected, match="network"):
        launch(backend, make_spec(tmp_path, "true", network_isolated=True))
    with pytest.raises(BackendError, match="not installed"):
        make_backend(tmp_path, bwrap_path="/nonexistent/bwrap", sandbox="required")


CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
    "    print('connected')\n"
    "except OSError as exc:\n"
    "    print('no network:', exc)\n"
)


def test_network_cut_for_isolated_runs(sandboxed: LocalBackend, tmp_path: Path) -> None:
    if not sandboxed.network_isolation_available:
        pytest.skip(f"network namespaces unavailable: {sandboxed.isolation_reason}")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        code = CONNECT.format(port=listener.getsockname()[1])
        open_run = launch(sandboxed, make_spec(tmp_path, ["python", "-c", code]))
        cut_run = launch(
            sandboxed, make_spec(tmp_path, ["python", "-c", code], network_isolated=True)
        )
        wait_finished(sandboxed, open_run)
        wait_finished(sandboxed, cut_run)
    assert read_log(sandboxed, open_run) == "connected\n"
    assert read_log(sandboxed, cut_run).startswith("no network:")
    with pytest.raises(LaunchRejected, match="network isolated"):
        sandboxed.endpoint(cut_run, 8080)


def test_hidden_paths_are_masked_inside_visible_ones(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    (tools / "private").mkdir(parents=True)
    (tools / "tool.sh").write_text("echo tool-ran\n")
    (tools / "private/key").write_text("server secret")
    try:
        backend = make_backend(
            tmp_path, sandbox="required", runtime_paths=[tools], hidden_paths=[tools / "private"]
        )
    except BackendError as exc:
        pytest.skip(f"bubblewrap cannot run here: {exc.message}")
    script = f"sh {tools}/tool.sh; cat {tools}/private/key 2>/dev/null || echo key-hidden"
    handle = launch(backend, make_spec(tmp_path, script))
    wait_finished(backend, handle)
    assert read_log(backend, handle) == "tool-ran\nkey-hidden\n"


# --- what a run may ask the sandbox to add (a dev environment's sshd) ---------------------


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_bwrap_argv_adds_capabilities_dirs_and_overlays_in_order(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    argv = sandbox.bwrap_argv(
        sandbox.SandboxHost(bwrap="bwrap", runtime_paths=(), hidden_paths=(), as_root=True),
        binds=[], command=["true"], cwd="/work/home",
        cap_add=["CAP_SETUID", "CAP_SYS_CHROOT"], dirs=["/run/sshd", "/var/empty"],
        overlays=[(passwd, "/etc/passwd"), (tmp_path, "/run/hangar-sshd")],
    )  # fmt: skip
    drop = argv.index("--cap-drop")
    assert argv[drop : drop + 6] == [
        "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SYS_CHROOT"
    ]  # fmt: skip
    assert pairs(argv, "--dir") == ["/run/sshd", "/var/empty"]
    at = argv.index(str(passwd))
    assert argv[at - 1 : at + 2] == ["--ro-bind", str(passwd), "/etc/passwd"]
    assert argv[at + 2 : at + 5] == ["--ro-bind", str(tmp_path), "/run/hangar-sshd"]
    if Path("/etc/shadow").is_file():  # the overlays come after the masks: they win
        assert argv.index("/etc/shadow") < at
    assert at < argv.index("--remount-ro") and argv.index("--dir") < argv.index("--remount-ro")
    # Not root: bubblewrap runs as the user, there is nothing to keep.
    user = sandbox.bwrap_argv(
        sandbox.SandboxHost(bwrap="bwrap", runtime_paths=(), hidden_paths=(), as_root=False),
        binds=[], command=["true"], cwd="/work/home", cap_add=["CAP_SETUID"],
    )  # fmt: skip
    assert "--cap-add" not in user and "--cap-drop" not in user


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        ({"capabilities": ("CAP_SYS_ADMIN",)}, "capabilities", "not one a run may keep"),
        ({"capabilities": ("CAP_SETUID", "CAP_SETUID")}, "capabilities", "twice"),
        ({"empty_dirs": ("/usr/local/x",)}, "empty_dirs", "under /run or /var"),
        ({"empty_dirs": ("/run/../etc/x",)}, "empty_dirs", "normalised"),
        ({"empty_dirs": ("/run",)}, "empty_dirs", "under /run or /var"),
        ({"empty_dirs": ("run/x",)}, "empty_dirs", "under"),
        ({"overlays": {"/usr/bin/python": Path("/tmp/x")}}, "overlays", "under /etc or /run"),
        ({"overlays": {"/etc/passwd": Path("relative")}}, "overlays", "absolute"),
        ({"overlays": {"/work/home/x": Path("/tmp/x")}}, "overlays", "under /etc or /run"),
    ],
)
def test_what_a_run_may_ask_the_sandbox_for_is_validated(
    tmp_path: Path, changes: dict[str, Any], field: str, needle: str
) -> None:
    with pytest.raises(LaunchRejected) as caught:
        make_spec(tmp_path, "true", **changes)
    assert field in caught.value.fields and needle in caught.value.fields[field]


def test_an_unsandboxed_backend_refuses_what_only_the_sandbox_provides(
    plain: LocalBackend, tmp_path: Path
) -> None:
    spec = make_spec(tmp_path, "true", capabilities=("CAP_SETUID",))
    assert spec.needs_sandbox and not make_spec(tmp_path, "true").needs_sandbox
    with pytest.raises(LaunchRejected, match="this server runs workloads unsandboxed") as caught:
        launch(plain, spec)
    assert caught.value.fields == {"sandbox": "not available on this host"}
    with pytest.raises(LaunchRejected, match="unsandboxed"):
        launch(plain, make_spec(tmp_path, "true", empty_dirs=("/run/sshd",)))


def test_the_sandbox_adds_capabilities_dirs_and_overlays_for_real(
    sandboxed: LocalBackend, tmp_path: Path
) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("laid over /etc\n")
    script = (
        "cat /etc/passwd; [ -d /run/probe ] && echo dir-made; "
        "(echo x > /etc/passwd) 2>/dev/null && echo overlay-WRITABLE || echo overlay-ro; "
        "grep CapEff /proc/self/status"
    )
    spec = make_spec(
        tmp_path, script, capabilities=("CAP_CHOWN",), empty_dirs=("/run/probe",),
        overlays={"/etc/passwd": passwd},
    )  # fmt: skip
    handle = launch(sandboxed, spec)
    assert wait_finished(sandboxed, handle).phase is Phase.SUCCEEDED, read_log(sandboxed, handle)
    lines = read_log(sandboxed, handle).splitlines()
    assert lines[:3] == ["laid over /etc", "dir-made", "overlay-ro"]
    effective = int(lines[3].split()[1], 16)
    assert effective == (1 if os.geteuid() == 0 else 0)  # CAP_CHOWN is bit 0; nothing else
    missing = make_spec(tmp_path, "true", overlays={"/etc/passwd": tmp_path / "nope"})
    with pytest.raises(LaunchRejected, match="missing on this host"):
        launch(sandboxed, missing)
    added = make_spec(tmp_path, "true", overlays={"/etc/hangar-new": passwd})
    with pytest.raises(LaunchRejected, match="replaces, never adds"):
        launch(sandboxed, added)
