"""Where the IDE programs that do not come from PyPI live on this host."""

from __future__ import annotations

import shutil
from pathlib import Path

from hangar.config import Settings

#: scripts/code-server.sh installs here by default (relative to the source checkout).
CHECKOUT_PREFIX = Path(__file__).resolve().parents[3] / ".tools" / "code-server"
LAUNCHER = Path("node_modules") / ".bin" / "code-server"


def code_server_path(settings: Settings) -> Path | None:
    """The code-server executable: the setting, the checkout's install, the home's, PATH."""
    candidates = [
        settings.code_server,
        CHECKOUT_PREFIX / LAUNCHER,
        settings.home / "tools" / "code-server" / LAUNCHER,
    ]
    for path in candidates:
        if path is not None and path.is_file():
            return path
    found = shutil.which("code-server")
    return Path(found) if found else None


def sshd_path() -> Path | None:
    found = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    return Path(found) if found else None
