"""Dev-environment start time: "start" pressed → the IDE answers through the proxy.

Starts Hangar in-process (SQLite in a temp dir, the real scheduler, reconciler and
dev-environment loops, the local backend with its sandbox setting, uvicorn on loopback) and,
for JupyterLab and code-server, creates one environment and then 10 times: POST
``/api/v1/devenvs/<id>/start``, poll the IDE through ``/dev/<id>/`` (JupyterLab's
``api/status``, code-server's ``healthz``) until it answers 200, record the time, stop it
and wait until it is *Not started*. The baseline, run in the same command, is the same IDE
started by hand with the same flags (no scheduler, no sandbox, no proxy), polled directly:
what the platform adds is the difference. Prints p50/p90/max of both and the ratio.

    .venv/bin/python bench/devenv_start.py [--starts 10] [--ide jupyterlab code-server]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from hangar.app import build_state, create_app
from hangar.config import load_settings
from hangar.devenvs import code_server, launch
from hangar.devenvs.tools import code_server_path

TARGET_S = 5.0
PASSWORD = "bench-pass-123"
POLL_S = 0.05
TIMEOUT_S = 120.0
PROBE = {"jupyterlab": "api/status", "code-server": "healthz"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ok(get: Callable[[], httpx.Response]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if get().status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_S)
    raise TimeoutError("the IDE did not answer within 120 s")


def direct_start(ide: str, home: Path, exe: Path | None) -> float:
    """The baseline: the IDE as the launcher would start it, by hand, polled directly."""
    port = free_port()
    secret = "bench-secret"
    env = {**os.environ}
    if ide == "jupyterlab":
        flags = launch.jupyter_argv(workload_id="bench", port=port)[1:]
        root = f"--ServerApp.root_dir={launch.WORK_HOME}"
        argv = [
            sys.executable,
            *(f"--ServerApp.root_dir={home}" if f == root else f for f in flags),
        ]
        env["JUPYTER_TOKEN"] = secret
        url = f"http://127.0.0.1:{port}/dev/bench/api/status"
        headers = {"Authorization": f"token {secret}"}
    else:
        assert exe is not None
        argv = code_server.command(executable=str(exe), port=port, password=secret, home=str(home))
        env = {**code_server.clean_environment(env), **code_server.environment(
            password=secret, home=str(home))}  # fmt: skip
        url = f"http://127.0.0.1:{port}/healthz"
        headers = {}
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(headers=headers, timeout=5) as client:
            wait_ok(lambda: client.get(url))
        return time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=30)


def platform_start(client: httpx.Client, env_id: str, ide: str) -> float:
    start = time.perf_counter()
    client.post(f"/api/v1/devenvs/{env_id}/start").raise_for_status()
    wait_ok(lambda: client.get(f"/dev/{env_id}/{PROBE[ide]}"))
    elapsed = time.perf_counter() - start
    client.post(f"/api/v1/devenvs/{env_id}/stop").raise_for_status()
    deadline = time.monotonic() + TIMEOUT_S
    while client.get(f"/api/v1/devenvs/{env_id}").json()["status"] != "Not started":
        if time.monotonic() > deadline:
            raise TimeoutError("the environment did not stop within 120 s")
        time.sleep(0.1)
    return elapsed


def summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"{label:<40} p50 {statistics.median(ordered):6.2f} s   p90 {p90:6.2f} s   "
        f"max {ordered[-1]:6.2f} s   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--ide", nargs="+", default=["jupyterlab", "code-server"])
    parser.add_argument("--sandbox", default="auto", choices=["auto", "required", "off"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        home = Path(tmp)
        settings = load_settings(
            home=home, admin_password=PASSWORD, config_file=home / "none.toml",
            sandbox=args.sandbox, port=free_port(),
        )  # fmt: skip
        exe = code_server_path(settings)
        state, _ = build_state(settings)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, state), port=settings.port, log_level="error")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{settings.port}"
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}
        ).json()["token"]
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        ws_id = client.get("/api/v1/workspaces").json()[0]["id"]
        print(f"sandbox: {args.sandbox}; {args.starts} starts per IDE; target p50 < {TARGET_S} s")
        for ide in args.ide:
            if ide == "code-server" and exe is None:
                print("code-server: not installed (scripts/code-server.sh); skipped")
                continue
            made = client.post(
                "/api/v1/devenvs",
                json={"workspace_id": ws_id, "name": f"bench-{ide}", "ide": ide,
                      "resources": {"cpu_cores": 1, "mem_gib": 2}},
            )  # fmt: skip
            made.raise_for_status()
            env_id = made.json()["id"]
            direct_home = home / f"direct-{ide}"
            direct_home.mkdir()
            platform, direct = [], []
            for _ in range(args.starts):  # interleaved, so drift hits both alike
                direct.append(direct_start(ide, direct_home, exe))
                platform.append(platform_start(client, env_id, ide))
            print(summary(f"{ide}: by hand, direct", direct))
            print(summary(f"{ide}: start → answers via proxy", platform))
            ratio = statistics.median(platform) / statistics.median(direct)
            print(f"{ide}: platform / by hand (p50) = {ratio:.2f}")
        client.close()
        server.should_exit = True


if __name__ == "__main__":
    main()
