"""code-server for real: the argv and environment of hangar.devenvs.code_server start the
installed server (scripts/code-server.sh, run by a fixture: a no-op once installed, about a
minute the first time), login stays required, the proxy's cookie logs in, every URL the page
uses is relative (so the prefix-stripping proxy at /dev/<id>/ works), /healthz parses.

With bubblewrap the server runs as in a dev environment: / read-only (the install included),
a private /tmp, only the home writable.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from hangar.devenvs import code_server
from tests.support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "scripts" / "code-server.sh"
PASSWORD = "platform-secret-for-this-environment"
STARTUP_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def executable() -> str:
    """The launcher of the pinned install (installs it when missing)."""
    run = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=900, check=False)
    if run.returncode != 0:
        pytest.fail(
            f"{INSTALLER.relative_to(ROOT)} failed (exit {run.returncode}); it needs Node.js 20, "
            "npm, build-essential, python3, pkg-config, libkrb5-dev and ripgrep:\n"
            + run.stderr[-3000:],
            pytrace=False,
        )
    return run.stdout.strip().splitlines()[-1]


def bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    first_health: bytes
    log: Path


@pytest.fixture(scope="module")
def server(executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("code-server-home")
    (home / "hello.py").write_text("print('hello')\n")
    log = home.parent / "code-server.log"
    port = free_port()
    argv = code_server.command(
        executable=executable, port=port, password=PASSWORD, home=str(home), workdir=str(home)
    )
    env = code_server.clean_environment(os.environ)
    env.update(code_server.environment(password=PASSWORD, home=str(home)))
    prefix = Path(executable).parents[2]  # <prefix>/node_modules/.bin/code-server
    if bwrap_works():
        argv = [
            "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--bind", str(home), str(home), "--die-with-parent",
            # after the private /tmp: a checkout under /tmp keeps its install visible
            "--ro-bind", str(prefix), str(prefix), "--",
            *argv,
        ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        first = wait_healthy(url, proc, log)
        yield Server(url=url, home=home, first_health=first, log=log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> bytes:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            answer = httpx.get(url + code_server.HEALTH_PATH, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        assert answer.status_code == 200, answer.text
        return answer.content
    pytest.fail(f"code-server did not answer {code_server.HEALTH_PATH}:\n{log.read_text()}")


def test_health_before_any_request(server: Server) -> None:
    assert code_server.parse_health(server.first_health) is None


def test_login_is_required(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        answer = client.get("/")
        assert answer.status_code == 302
        assert answer.headers["location"] == "./login"  # relative: right under /dev/<id>/ too
        login = client.get("/login")
        assert login.status_code == 200
        assert 'type="password"' in login.text
        # the password itself is nowhere in what the browser could see
        assert PASSWORD not in login.text
    guess = {code_server.SESSION_COOKIE: "guess"}
    with httpx.Client(base_url=server.url, cookies=guess) as client:
        wrong = client.get("/")
        assert wrong.status_code == 302
        assert wrong.headers["location"] == "./login"


def test_proxy_cookie_logs_in(server: Server) -> None:
    with httpx.Client(base_url=server.url, cookies=code_server.auth_cookies(PASSWORD)) as client:
        answer = client.get("/")
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert location.startswith("./?folder=")  # opens the workdir, relatively
        page = client.get(urljoin(server.url + "/", location))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "workbench.js" in page.text
        # Every asset URL is relative, so it resolves under the proxy's /dev/<id>/ prefix.
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls
        assert all(not url.startswith(("/", "http:", "https:")) for url in urls), urls
        for url in urls:
            asset = client.get(urljoin(str(page.url), url))
            assert asset.status_code == 200, (url, asset.status_code)


def test_heartbeat_after_a_request(server: Server) -> None:
    with httpx.Client(base_url=server.url, cookies=code_server.auth_cookies(PASSWORD)) as client:
        client.get("/")
        answer = httpx.get(server.url + code_server.HEALTH_PATH)
    assert answer.json()["status"] == "alive"
    beat = code_server.parse_health(answer.content)
    assert beat is not None
    assert beat.tzinfo is UTC
    assert abs(datetime.now(UTC) - beat) < code_server.HEARTBEAT_INTERVAL
    heartbeat = Path(code_server.heartbeat_path(str(server.home)))
    assert heartbeat.is_file()
    mtime = datetime.fromtimestamp(heartbeat.stat().st_mtime, UTC)
    assert abs(mtime - beat) < timedelta(seconds=2)


def test_state_stays_in_the_home(server: Server) -> None:
    data = Path(code_server.data_dir(str(server.home)))
    assert (data / "coder-logs").is_dir()
    assert not (server.home / ".config" / "code-server").exists()  # --config /dev/null
    log = server.log.read_text()
    assert "Wrote default config" not in log
    assert "EROFS" not in log  # nothing tried to write to the read-only install


# The pure parts.


def test_secret_stays_off_the_command_line() -> None:
    argv = code_server.command(executable="cs", port=8000, password=PASSWORD, home="/work/home")
    assert PASSWORD not in " ".join(argv)
    assert code_server.session_value(PASSWORD) not in " ".join(argv)
    assert argv[argv.index("--bind-addr") + 1] == "127.0.0.1:8000"
    assert argv[argv.index("--auth") + 1] == "password"
    assert argv[-1] == "/work/home"
    env = code_server.environment(password=PASSWORD, home="/work/home")
    assert "PASSWORD" not in env
    assert env["HASHED_PASSWORD"] == code_server.auth_cookies(PASSWORD)["code-server-session"]
    assert "$argon" not in env["HASHED_PASSWORD"]  # the cheap, constant-time comparison
    with pytest.raises(ValueError, match="password"):
        code_server.command(executable="cs", port=8000, password="", home="/h")


def test_clean_environment_drops_overrides() -> None:
    base = {"PATH": "/usr/bin", "PORT": "1", "VSCODE_IPC_HOOK_CLI": "/tmp/x.sock"}
    assert code_server.clean_environment(base) == {"PATH": "/usr/bin"}


def test_parse_health() -> None:
    assert code_server.parse_health(b'{"status":"expired","lastHeartbeat":0}') is None
    beat = code_server.parse_health(b'{"status":"alive","lastHeartbeat":1700000000123}')
    assert beat == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    for bad in (b"", b"<html>", b"[]", b'{"status":"alive"}', b'{"lastHeartbeat":"1"}'):
        with pytest.raises(ValueError, match="health"):
            code_server.parse_health(bad)
    assert urlsplit("http://x" + code_server.HEALTH_PATH).path == "/healthz"
