"""What a dev environment runs: the launcher plan and the variables its IDE needs.

The workload's command is always ``python -m hangar.runtimes.devenv``; what it starts comes
from ``HANGAR_DEVENV`` (see that module). The IDE listens on a loopback port the platform
allocated and is reached only through the server's proxy at ``/dev/<id>/``:

* **JupyterLab** serves under ``base_url=/dev/<id>/`` (the proxy forwards paths unchanged)
  with its token check and XSRF check on. The token is the environment's secret, given in
  ``JUPYTER_TOKEN`` (not on the command line, where ``ps`` would show it); the proxy sends it
  as an ``Authorization`` header, so it never appears in a URL or in the browser.
* **code-server** sees ``/`` (the proxy strips the prefix) with password auth on; the proxy
  presents its session cookie (see :mod:`hangar.devenvs.code_server`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hangar.devenvs import code_server

LAUNCHER = "exec python -m hangar.runtimes.devenv"
WORK_HOME = "/work/home"


def public_prefix(workload_id: str) -> str:
    return f"/dev/{workload_id}/"


def ports_prefix(workload_id: str, port: int) -> str:
    return f"/dev/{workload_id}/ports/{port}/"


@dataclass(frozen=True, kw_only=True)
class LaunchPlan:
    """Everything a start adds to the workload spec: the launcher's variables."""

    env: dict[str, str]


def jupyter_argv(*, workload_id: str, port: int) -> list[str]:
    return [
        "python", "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={public_prefix(workload_id)}",
        f"--ServerApp.root_dir={WORK_HOME}", "--ServerApp.trust_xheaders=True",
        "--ServerApp.terminals_enabled=True", "--ServerApp.allow_root=True",
        "--ServerApp.allow_remote_access=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None", "--ServerApp.open_browser=False",
    ]  # fmt: skip


def plan(
    *,
    workload_id: str,
    ide: str,
    port: int,
    secret: str,
    code_server_exe: Path | None,
    sshd: list[str] | None = None,
    image_layers: int = 0,
) -> LaunchPlan:
    """The launcher plan for one start of the environment; the IDE runs on the environment's
    software layer over ``image_layers`` image layers (:mod:`hangar.runtimes.software`)."""
    env: dict[str, str] = {}
    seed: dict[str, str] = {}  # files written once, when missing (the user may change them)
    if ide == "jupyterlab":
        argv = jupyter_argv(workload_id=workload_id, port=port)
        env["JUPYTER_TOKEN"] = secret
    else:
        if code_server_exe is None:
            raise RuntimeError("code-server is not installed")  # checked before a start
        argv = code_server.command(
            executable=str(code_server_exe), port=port, password=secret, home=WORK_HOME
        )
        env.update(code_server.environment(password=secret, home=WORK_HOME))
        settings = json.dumps(dict(code_server.DEFAULT_USER_SETTINGS), indent=2)
        seed[code_server.user_settings_path(WORK_HOME)] = settings + "\n"
    software = {"layers": image_layers}
    env["HANGAR_DEVENV"] = json.dumps(
        {"ide": argv, "sshd": sshd, "software": software, "seed": seed}
    )
    return LaunchPlan(env=env)
