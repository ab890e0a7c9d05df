"""The bubblewrap sandbox of the local backend.

What a sandboxed workload sees: the system directories (``/usr``, ``/etc``, ``/opt`` and the
merged-``/usr`` links) read-only, with ``/etc/shadow``-style secrets and SSH host keys
masked; the Python runtime the server runs on, read-only, at its own path; its filesystem
contract under ``/work`` (see ``contract.py``); a private ``/tmp``, ``/dev`` and ``/proc``
(new pid namespace: it sees only its own processes); its assigned GPU device nodes. Not
visible: ``/home``, ``/root``, ``/srv``, ``/var``, ``/mnt``, other runs, the Hangar state
directory. The root is remounted read-only. Capabilities are dropped (bubblewrap keeps them
for root otherwise). ``network_isolated`` adds a network namespace with only loopback.

A run may ask for more (``RunSpec.capabilities``, ``empty_dirs``, ``overlays``; a dev
environment's sshd does, see ``hangar.devenvs.sshd``): those capabilities are added back
after ``--cap-drop ALL`` (as root only; every process of the sandbox then holds them), the
directories are made on the sandbox's own root, and the overlays are bound read-only after
the masks, so that an overlay of ``/etc/shadow`` replaces the mask instead of being hidden
by it.

Shared with the host (NOT isolated): the network (unless cut), the user id, the kernel,
CPU and memory beyond the limits, and GPUs the node was given.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hangar.backends.local.contract import ContractBind

SYSTEM_DIRS = ("/usr", "/etc", "/opt")
MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SECRET_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers")
SECRET_DIRS = ("/etc/sudoers.d",)
NVIDIA_CONTROL_NODES = (
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
    "/dev/nvidia-modeset",
    "/dev/nvidia-caps",
)
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, kw_only=True)
class SandboxHost:
    """Host facts fixed when the backend starts."""

    bwrap: str
    runtime_paths: tuple[Path, ...]
    hidden_paths: tuple[Path, ...]
    as_root: bool


def default_runtime_paths(extra: Iterable[Path] = ()) -> tuple[Path, ...]:
    """The server's interpreter, its venv and the directory ``hangar`` is imported from:
    workloads run ``python`` and ``hangar.runtimes`` from the server's environment."""
    hangar_root = Path(__file__).resolve().parents[3]
    paths = [Path(sys.prefix), Path(sys.base_prefix), hangar_root, *extra]
    return tuple(dict.fromkeys(p.resolve() for p in paths))


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    usable: bool
    network_isolation: bool
    reason: str


def probe(host: SandboxHost) -> ProbeResult:
    """Run ``bwrap ... true`` for real (with and without a network namespace)."""
    base = [*_system_args(host), "--proc", "/proc", "--dev", "/dev", *_runtime_args(host)]
    base += ["--remount-ro", "/"]
    ok, err = _try([host.bwrap, *base, "--", "true"])
    if not ok:
        return ProbeResult(
            usable=False, network_isolation=False, reason=f"bubblewrap fails here: {err}"
        )
    net_ok, net_err = _try([host.bwrap, "--unshare-net", *base, "--", "true"])
    reason = "bubblewrap works" + ("" if net_ok else f"; network isolation does not ({net_err})")
    return ProbeResult(usable=True, network_isolation=net_ok, reason=reason)


def _try(argv: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    message = done.stderr.decode(errors="replace").strip()
    return done.returncode == 0, message or f"exit code {done.returncode}"


def bwrap_argv(
    host: SandboxHost,
    *,
    binds: Sequence[ContractBind],
    command: Sequence[str],
    cwd: str,
    device_nodes: Sequence[str] = (),
    extra_rw: Sequence[Path] = (),
    network_isolated: bool = False,
    cap_add: Sequence[str] = (),
    dirs: Sequence[str] = (),
    overlays: Sequence[tuple[Path, str]] = (),
) -> list[str]:
    """The full bubblewrap command line for one node (the supervisor adds ``--info-fd``).

    ``cap_add``: capabilities kept as root (``--cap-add`` after ``--cap-drop ALL``);
    ``dirs``: empty directories (``--dir``); ``overlays``: ``(host, target)`` pairs bound
    read-only after the masks (see the module docstring).

    ``--new-session`` puts the namespace init and the workload in a process group of their
    own (the node's pgid). No ``--die-with-parent``: like an unsandboxed workload, the
    sandbox outlives a crashed supervisor and is still stopped through its process group.
    """
    args = [host.bwrap, "--new-session", "--unshare-pid", "--unshare-ipc"]
    if network_isolated:
        args.append("--unshare-net")
    if host.as_root:
        args += ["--cap-drop", "ALL"]
        for cap in cap_add:
            args += ["--cap-add", cap]
    args += _system_args(host)
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108 - private tmpfs
    args += _runtime_args(host)  # after /tmp: a runtime path may live under it
    if device_nodes:
        args += ["--ro-bind-try", "/sys", "/sys"]
        for node in (*NVIDIA_CONTROL_NODES, *device_nodes):
            args += ["--dev-bind-try", node, node]
    for path in extra_rw:
        args += ["--bind", str(path), str(path)]
    for bind in binds:
        args += ["--ro-bind" if bind.read_only else "--bind", str(bind.host), str(bind.target)]
    args += _mask_args(host)
    for name in dirs:
        args += ["--dir", name]
    for source, target in overlays:
        args += ["--ro-bind", str(source), target]
    args += ["--remount-ro", "/", "--chdir", cwd, "--", *command]
    return args


def overlay_problems(overlays: Mapping[str, Path]) -> list[str]:
    """Why these overlays cannot be laid (empty when they can): a missing host path, or a
    target under a read-only system directory that does not exist there (an overlay there
    replaces a file; bubblewrap cannot add one)."""
    problems = []
    for target, source in sorted(overlays.items()):
        if not source.exists():
            problems.append(f"{source} (for {target}) is missing on this host")
        elif _covered(Path(target), [Path(d) for d in SYSTEM_DIRS]) and not Path(target).exists():
            problems.append(f"{target} does not exist here: an overlay replaces, never adds")
    return problems


def _system_args(host: SandboxHost) -> list[str]:
    args: list[str] = []
    visible: list[Path] = []
    for name in MERGED_USR_LINKS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
            visible.append(path)
    for name in SYSTEM_DIRS:
        if Path(name).is_dir():
            args += ["--ro-bind", name, name]
            visible.append(Path(name))
    resolv = Path("/etc/resolv.conf")
    if resolv.is_symlink() and resolv.exists():
        target = resolv.resolve()
        if not _covered(target, visible):
            args += ["--ro-bind", str(target), str(target)]
    return args


def _runtime_args(host: SandboxHost) -> list[str]:
    visible = [Path(d) for d in (*SYSTEM_DIRS, *MERGED_USR_LINKS)]
    args: list[str] = []
    for path in host.runtime_paths:
        if path.exists() and not _covered(path, visible):
            args += ["--ro-bind", str(path), str(path)]
            visible.append(path)
    return args


def _mask_args(host: SandboxHost) -> list[str]:
    """Hide secrets and the server's own directories that sit under a visible directory."""
    args: list[str] = []
    files = [Path(f) for f in SECRET_FILES]
    files += sorted(Path("/etc/ssh").glob("ssh_host_*_key")) if Path("/etc/ssh").is_dir() else []
    for path in files:
        if path.is_file():
            args += ["--ro-bind", "/dev/null", str(path)]
    for path in (*(Path(d) for d in SECRET_DIRS), *host.hidden_paths):
        if not path.exists():
            continue
        visible = [Path(d) for d in (*SYSTEM_DIRS, *MERGED_USR_LINKS)] + list(host.runtime_paths)
        if not _covered(path, visible):
            continue
        if path.is_dir():
            args += ["--tmpfs", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
    return args


def _covered(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)
