"""A real ``hangar server`` subprocess for crash and shutdown tests: start, SIGKILL, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.support import ADMIN_PASSWORD, free_port

HANGAR = Path(sys.executable).parent / "hangar"
BANNER = "Hangar first start"


@dataclass
class Server:
    home: Path
    database_url: str | None
    log_level: str = "warning"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / f"server-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
        env.update(
            HANGAR_HOME=str(self.home),
            HANGAR_ADMIN_PASSWORD=ADMIN_PASSWORD,
            HANGAR_HOST="127.0.0.1",
            HANGAR_PORT=str(self.port),
        )
        if self.database_url:
            env["HANGAR_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(HANGAR), "server", "--log-level", self.log_level],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: nothing of it can outlive a kill
            )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not become healthy:\n{self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.database_url or f"sqlite:///{self.home / 'hangar.db'}")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
