"""SSH into a dev environment end to end: keys given at create through the API, the real
scheduler, run reconciler and sandboxed local backend start JupyterLab and the
environment's own sshd on an allocated port, and a real ``ssh`` client logs in with the
user's key (loopback only). A wrong key is refused; a stopped environment refuses
connections; deleting the environment removes its sshd files. A server that runs workloads
unsandboxed refuses to start an SSH environment, and images without the ``ssh`` tag refuse
keys."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hangar.db.engine import transaction
from hangar.devenvs import sshd
from hangar.images.orm import Image
from hangar.tenancy.orm import Tenant
from tests import support
from tests.devenvs.support import DEVENVS, env_body, wait_for
from tests.support import Hangar, running_hangar

KEYGEN = shutil.which("ssh-keygen")
MISSING = [
    tool
    for tool, found in (
        ("bwrap (bubblewrap)", shutil.which("bwrap")),
        ("sshd (openssh-server)", shutil.which("sshd", path=sshd.SSHD_PATH)),
        ("ssh (openssh-client)", shutil.which("ssh")),
        ("ssh-keygen (openssh-client)", KEYGEN),
    )
    if not found
]
#: A valid public key (no private half anywhere): for refusals that never reach sshd.
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyvUztlvhGk7wHresPHdkGl5YQjxWS4+Ye3k+Jr4Vuk dev@laptop"


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Any:
    if MISSING:
        pytest.skip(f"not installed: {', '.join(MISSING)}")
    settings = support.test_settings(tmp_path / "home", db_url, devenv_loop_seconds=0.5)
    with running_hangar(settings) as h:
        if not h.state.backend.isolation_enabled:
            pytest.skip(f"SSH needs the sandbox: {h.state.backend.isolation_reason}")
        yield h


@pytest.fixture
def unsandboxed(tmp_path: Path, db_url: str) -> Any:
    settings = support.test_settings(tmp_path / "home", db_url, sandbox="off")
    with running_hangar(settings) as h:
        yield h


def keygen(path: Path) -> Path:
    assert KEYGEN is not None
    subprocess.run(
        [KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", f"{path.name}@laptop", "-f", str(path)],
        check=True,
    )
    return path


def ssh_argv(port: int, user: str, key: Path, command: str) -> list[str]:
    argv = ["ssh", "-p", str(port), "-i", str(key), "-F", "/dev/null"]
    for option in ("StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "BatchMode=yes",
                   "IdentitiesOnly=yes", "ConnectTimeout=10", "LogLevel=ERROR"):  # fmt: skip
        argv += ["-o", option]
    return [*argv, f"{user}@127.0.0.1", command]


def ssh(port: int, user: str, key: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ssh_argv(port, user, key, command),
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def ssh_session(port: int, user: str, key: Path, command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ssh_argv(port, user, key, command),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_listening(h: Hangar, port: int, timeout: float = 30.0) -> None:
    """Running means the launcher started; sshd listens a moment later."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    logs = [p.read_text() for p in h.settings.home.glob("backend/runs/*/node-0/output.log")]
    pytest.fail(f"sshd never listened on {port}: {''.join(logs)[-3000:]}")


def test_ssh_with_the_users_key_into_a_running_environment(live: Hangar, tmp_path: Path) -> None:
    h, admin = live, live.admin
    ws = h.default_workspace()
    key, intruder = keygen(tmp_path / "laptop"), keygen(tmp_path / "intruder")
    public = key.with_suffix(".pub").read_text().strip()

    # A malformed key is refused at create, naming the field; nothing is created.
    bad = admin.post(DEVENVS, json=env_body(ws["id"], "bad", ssh_keys=f"{public}; ssh-rsa !!"))
    assert bad.status_code == 422, bad.text
    assert "ssh_keys" in bad.json()["fields"] and "key 2" in bad.json()["fields"]["ssh_keys"]
    assert admin.call("GET", DEVENVS)["total"] == 0

    env = admin.call(
        "POST",
        DEVENVS,
        201,
        json=env_body(ws["id"], "remote", ssh_keys=public, idle_minutes=30, start=True),
    )
    assert env["ssh"]["enabled"] and env["ssh"]["keys"][0].startswith("256 SHA256:")
    home = h.settings.home / "users" / env["created_by"] / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "x").write_text("from the home\n")
    env = wait_for(admin, env["id"], "Running", "Failed")
    assert env["status"] == "Running", env["state_reason"]
    found = env["ssh"]
    port, user = found["port"], found["user"]
    assert h.settings.devenv_port_min <= port <= h.settings.devenv_port_max
    assert found["host"] == "127.0.0.1" and user == sshd.login_name()
    assert found["command"] == f"ssh -i <private key> {user}@127.0.0.1 -p {port}"
    wait_listening(h, port)

    done = ssh(port, user, key, "cat /work/home/x; echo $HANGAR_JOB_ID")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["from the home", env["id"]]

    # An open session counts as activity for the idle shutdown.
    held = ssh_session(port, user, key, "sleep 20")
    try:
        deadline = time.monotonic() + 15
        while admin.call("GET", f"{DEVENVS}/{env['id']}")["idle"]["last_activity_source"] != (
            "SSH session"
        ):
            assert time.monotonic() < deadline, "the open SSH session never counted as activity"
            time.sleep(0.2)
    finally:
        held.kill()
        held.wait(timeout=10)

    wrong = ssh(port, user, intruder, "echo in")
    assert wrong.returncode == 255 and "Permission denied (publickey)" in wrong.stderr
    assert "in" not in wrong.stdout

    # The sshd files live beside the cache, not in it (the workload writes /work/cache).
    files = h.settings.home / "devenvs" / env["id"] / sshd.SUBDIR
    assert (files / sshd.AUTHORIZED_KEYS).read_text() == f"{public}\n"

    # Stopped: nothing listens any more, and the API shows no way in.
    admin.call("POST", f"{DEVENVS}/{env['id']}/stop")
    env = wait_for(admin, env["id"], "Not started")
    assert env["ssh"]["enabled"] and env["ssh"]["command"] is None and env["ssh"]["port"] is None
    refused = ssh(port, user, key, "echo in")
    assert refused.returncode == 255 and "in" not in refused.stdout

    assert admin.call("DELETE", f"{DEVENVS}/{env['id']}", 202)["status"] == "deleted"
    assert not files.exists()


def test_an_unsandboxed_server_refuses_to_start_ssh(unsandboxed: Hangar) -> None:
    h, admin = unsandboxed, unsandboxed.admin
    assert not h.state.backend.isolation_enabled
    ws = h.default_workspace()
    made = admin.post(DEVENVS, json=env_body(ws["id"], "remote", ssh_keys=KEY, start=True))
    assert made.status_code == 409, made.text
    assert made.json()["message"].startswith(
        "SSH needs the sandbox (bubblewrap); this server runs workloads unsandboxed"
    )
    assert admin.call("GET", DEVENVS)["total"] == 0  # create and start are one transaction
    env = admin.call("POST", DEVENVS, 201, json=env_body(ws["id"], "remote", ssh_keys=KEY))
    started = admin.post(f"{DEVENVS}/{env['id']}/start")
    assert started.status_code == 409 and "unsandboxed" in started.json()["message"]
    assert started.json()["fields"] == {"ssh_keys": "SSH needs the sandbox"}
    # Without keys the same server starts environments as before.
    plain = admin.call("POST", DEVENVS, 201, json=env_body(ws["id"], "plain"))
    admin.call("POST", f"{DEVENVS}/{plain['id']}/start")


def test_keys_need_an_image_tagged_ssh(unsandboxed: Hangar) -> None:
    h, admin = unsandboxed, unsandboxed.admin
    ws = h.default_workspace()
    with transaction(h.state.sessions) as session:
        tenant = session.scalars(select(Tenant)).first()
        assert tenant is not None
        image = Image(
            tenant_id=tenant.id, name="no-ssh", kind="custom", tags=["jupyterlab"],
            source="jupyterlab",
        )  # fmt: skip
        session.add(image)
        session.flush()
        image_id = image.id
    body = env_body(ws["id"], "remote", ssh_keys=KEY, image=image_id)
    refused = admin.post(DEVENVS, json=body)
    assert refused.status_code == 422, refused.text
    assert "not tagged 'ssh'" in refused.json()["message"]
    assert set(refused.json()["fields"]) == {"image", "ssh_keys"}
    admin.call("POST", DEVENVS, 201, json={**body, "ssh_keys": ""})  # fine without SSH
