"""What authentication, the permission gate and the audit trail cost per request.

Serves Hangar over loopback HTTP (Uvicorn in a thread, SQLite in a temp dir) and times,
in the same process and run, a baseline (``GET /healthz``) against authenticated reads, a
permission-gated workspace read, and an audited write. Prints median and p95 latency and each
figure's ratio to the baseline.

    .venv/bin/python bench/request_overhead.py [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from hangar.app import build_state, create_app
from hangar.config import load_settings

PASSWORD = "bench-pass-123"


def serve(home: Path) -> tuple[uvicorn.Server, str]:
    settings = load_settings(home=home, admin_password=PASSWORD, config_file=home / "none.toml")
    state, _ = build_state(settings)
    app = create_app(settings, state)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def timed(n: int, call: Callable[[int], httpx.Response]) -> list[float]:
    for i in range(10):  # warm-up
        call(-1 - i).raise_for_status()
    out = []
    for i in range(n):
        start = time.perf_counter()
        call(i).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        server, url = serve(Path(tmp))
        with httpx.Client(base_url=url) as http:
            start = time.perf_counter()
            token = http.post(
                "/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}
            ).json()["token"]
            login_ms = (time.perf_counter() - start) * 1000
            auth = {"Authorization": f"Bearer {token}"}
            ws = http.get("/api/v1/workspaces", headers=auth).json()[0]["id"]
            cases: dict[str, Callable[[int], httpx.Response]] = {
                "GET /healthz (baseline: DB ping, no auth)": lambda i: http.get("/healthz"),
                "GET /api/v1/auth/me (token auth)": lambda i: http.get(
                    "/api/v1/auth/me", headers=auth
                ),
                "GET workspace members (auth + matrix gate)": lambda i: http.get(
                    f"/api/v1/workspaces/{ws}/members", headers=auth
                ),
                "POST workspace (write + audit record)": lambda i: http.post(
                    "/api/v1/workspaces", headers=auth, json={"name": f"w{i + 100}"}
                ),
            }
            results = {name: timed(n, call) for name, call in cases.items()}
        server.should_exit = True
    base = statistics.median(results["GET /healthz (baseline: DB ping, no auth)"])
    print(f"requests per case: {n}; password login (argon2id verify + token): {login_ms:.1f} ms")
    print(f"{'case':48} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, samples in results.items():
        med = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"{name:48} {med:10.2f} {p95:8.2f} {med / base:11.2f}")


if __name__ == "__main__":
    main()
