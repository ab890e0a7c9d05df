"""The first process of a dev environment: starts the IDE (and sshd), ends with the IDE.

Runs inside the environment's sandbox as ``python -m hangar.runtimes.devenv``. Its plan
comes from ``HANGAR_DEVENV`` (JSON, written by the server at start): ``ide`` and optional
``sshd`` argument lists, and ``software`` (the number of image layers): the environment's
software layer is made ready and put first on ``PATH`` before anything starts; ``seed``
maps paths to default files written when missing (code-server's first user settings).

Why a process and not a shell line: when the IDE exits, sshd must
go too (a node is finished only when none of its processes is left), and SIGTERM from a
stop must reach both at once so that the IDE can save state within the grace period.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from hangar.runtimes import software

POLL_SECONDS = 0.2
CONTRACT_ROOT = "/work"


def main() -> int:
    plan = localise(json.loads(os.environ["HANGAR_DEVENV"]), os.environ.get("HANGAR_WORK_DIR"))
    for key, value in os.environ.items():
        if key != "HANGAR_DEVENV":
            os.environ[key] = localise(value, os.environ.get("HANGAR_WORK_DIR"))
    seed_files(plan.get("seed") or {})
    if plan.get("software") is not None:
        prepare_software(int(plan["software"].get("layers", 0)))
    children: list[subprocess.Popen[bytes]] = []
    if plan.get("sshd"):
        children.append(subprocess.Popen(plan["sshd"]))  # noqa: S603 - argv from the server
    ide = subprocess.Popen(plan["ide"])  # noqa: S603 - argv from the server
    children.append(ide)

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while ide.poll() is None:
        time.sleep(POLL_SECONDS)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
    print(f"hangar: the IDE exited with status {ide.returncode}", file=sys.stderr)
    return int(ide.returncode or 0)


def localise(value: Any, work_dir: str | None) -> Any:
    """``value`` with the contract's ``/work`` paths moved to ``work_dir``: unsandboxed, the
    contract is a view directory elsewhere (``HANGAR_WORK_DIR``); sandboxed, nothing changes.
    Strings (whole paths and ``--flag=/work/...``), lists and dict values and keys."""
    if not work_dir or work_dir == CONTRACT_ROOT:
        return value
    if isinstance(value, str):
        if value == CONTRACT_ROOT or value.startswith(CONTRACT_ROOT + "/"):
            return work_dir + value[len(CONTRACT_ROOT) :]
        flag, sep, path = value.partition("=")
        if sep and (path == CONTRACT_ROOT or path.startswith(CONTRACT_ROOT + "/")):
            return f"{flag}={work_dir}{path[len(CONTRACT_ROOT) :]}"
        return value
    if isinstance(value, list):
        return [localise(v, work_dir) for v in value]
    if isinstance(value, dict):
        return {localise(k, work_dir): localise(v, work_dir) for k, v in value.items()}
    return value


def seed_files(files: dict[str, str]) -> None:
    """Write each file that does not exist yet (default IDE settings the user may change)."""
    for name, text in files.items():
        path = Path(name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def prepare_software(layer_count: int) -> None:
    """The IDE, its terminals and kernels (and SSH sessions) run on the software layer."""
    work = Path(os.environ.get("HANGAR_WORK_DIR", "/work"))
    # Resolved: unsandboxed, /work is a view of symlinks and the layer's real path is the
    # host's (``venv`` cannot create a directory at a symlink).
    prefix = (work / "software").resolve()
    layers = [
        str((work / "image" / str(i)).resolve() / "site-packages") for i in range(layer_count)
    ]
    software.ensure(prefix, layers)
    software.activate(prefix, os.environ)


if __name__ == "__main__":
    sys.exit(main())
