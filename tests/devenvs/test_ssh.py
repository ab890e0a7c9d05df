"""SSH into dev environments: key validation, and a real sshd inside a real sandbox."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from hangar.backends import NodeResources, RunSpec
from hangar.backends.local import sandbox
from hangar.backends.local.contract import ContractBind
from hangar.devenvs import ssh_keys, sshd
from hangar.errors import ValidationFailed

KEYGEN = shutil.which("ssh-keygen")
needs_keygen = pytest.mark.skipif(KEYGEN is None, reason="ssh-keygen (openssh-client) missing")

KEY_KINDS = {  # name -> ssh-keygen arguments
    "ed25519": ["-t", "ed25519"],
    "ecdsa256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "rsa2048": ["-t", "rsa", "-b", "2048"],
    "rsa1024": ["-t", "rsa", "-b", "1024"],
    "intruder": ["-t", "ed25519"],
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Private key paths (``.pub`` next to each), generated once for the module."""
    if KEYGEN is None:
        pytest.skip("ssh-keygen (openssh-client) missing")
    root = tmp_path_factory.mktemp("keys")
    made: dict[str, Path] = {}
    for name, args in KEY_KINDS.items():
        path = root / name
        subprocess.run(
            [KEYGEN, "-q", *args, "-N", "", "-C", f"{name}@laptop", "-f", str(path)], check=True
        )
        made[name] = path
    return made


def pub(keys: dict[str, Path], name: str) -> str:
    return keys[name].with_suffix(".pub").read_text().strip()


def keygen_fingerprint(path: Path) -> str:
    assert KEYGEN is not None
    done = subprocess.run([KEYGEN, "-lf", str(path)], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def wire(*fields: bytes) -> str:
    return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()


def refused(text: str, *needles: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        ssh_keys.parse_keys(text)
    message = caught.value.fields["ssh_keys"]
    assert caught.value.message == f"ssh_keys: {message}"
    for needle in needles:
        assert needle in message, message
    return message


# --- key validation -----------------------------------------------------------------------


@needs_keygen
@pytest.mark.parametrize("name", ["ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048"])
def test_each_supported_type_is_accepted_and_masked_like_ssh_keygen(
    keys: dict[str, Path], name: str
) -> None:
    line = pub(keys, name)
    assert ssh_keys.parse_keys(line) == [line]
    assert ssh_keys.masked(line) == keygen_fingerprint(keys[name].with_suffix(".pub"))
    assert ssh_keys.fingerprint(line) == ssh_keys.masked(line).split()[1]


@needs_keygen
def test_security_key_variants_are_accepted(tmp_path: Path, keys: dict[str, Path]) -> None:
    """No FIDO token here: build the public keys by hand (from real key material), and let
    ssh-keygen check our reading of them."""
    ed = "sk-ssh-ed25519@openssh.com " + wire(
        b"sk-ssh-ed25519@openssh.com", ssh_keys.parse_key(pub(keys, "ed25519")).blob[-32:], b"ssh:"
    )
    point = ssh_keys.parse_key(pub(keys, "ecdsa256")).blob[-65:]
    ec = "sk-ecdsa-sha2-nistp256@openssh.com " + wire(
        b"sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", point, b"ssh:"
    )
    for line, label in ((ed, "ED25519-SK"), (ec, "ECDSA-SK")):
        assert ssh_keys.parse_keys(line + " yubi") == [line + " yubi"]
        (tmp_path / "k.pub").write_text(line + " yubi\n")
        assert ssh_keys.masked(line + " yubi") == keygen_fingerprint(tmp_path / "k.pub")
        assert ssh_keys.masked(line).endswith(f"no comment ({label})")


@needs_keygen
def test_a_list_is_split_on_semicolons_and_empty_segments_are_ignored(
    keys: dict[str, Path],
) -> None:
    a, b = pub(keys, "ed25519"), pub(keys, "rsa2048")
    assert ssh_keys.parse_keys(f"  {a} ;; {b};  ; ") == [a, b]
    assert ssh_keys.parse_keys("") == []
    assert ssh_keys.parse_keys(" ; ;") == []


@needs_keygen
def test_comment_is_optional_and_whitespace_is_normalised(keys: dict[str, Path]) -> None:
    kind, data, _ = pub(keys, "ed25519").split()
    assert ssh_keys.parse_keys(f"{kind}\t{data}") == [f"{kind} {data}"]
    assert ssh_keys.parse_keys(f"{kind}  {data}  my   laptop ") == [f"{kind} {data} my laptop"]


@needs_keygen
def test_more_than_ten_keys_are_refused(tmp_path: Path) -> None:
    lines = []
    for n in range(11):
        path = tmp_path / f"k{n}"
        assert KEYGEN is not None
        subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
        lines.append(path.with_suffix(".pub").read_text().strip())
    assert len(ssh_keys.parse_keys(";".join(lines[:10]))) == 10
    refused(";".join(lines), "11 keys given", "at most 10", "remove 1")
    assert len(ssh_keys.parse_keys(";".join(lines[:10]) + ";;")) == 10  # trailing ; is fine


@needs_keygen
def test_a_pasted_private_key_is_called_out(keys: dict[str, Path]) -> None:
    private = keys["ed25519"].read_text()
    message = refused(private, "key 1", "this is a PRIVATE key; paste the .pub file")
    assert "AAAA" not in message  # the secret is not echoed back
    refused(f"{pub(keys, 'rsa2048')};{private}", "key 2", "PRIVATE key")
    refused("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "PRIVATE")
    refused("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", "PRIVATE")


@needs_keygen
def test_damaged_base64_is_refused(keys: dict[str, Path]) -> None:
    kind, data, comment = pub(keys, "ed25519").split()
    refused(f"{kind} {data[:-10]}!!! {comment}", "key 1", "not valid base64")
    refused(f"{kind} {data[:-8]} {comment}", "key 1")  # cut short: padding or length wrong
    refused(f"{kind} {data[:40]} {comment}", "key 1", "damaged or incomplete")
    refused(f"{kind}", "key 1", "key data", "missing")


@needs_keygen
def test_a_type_that_does_not_match_the_key_data_is_refused(keys: dict[str, Path]) -> None:
    _, data, comment = pub(keys, "ed25519").split()
    refused(f"ssh-rsa {data} {comment}", "declared as 'ssh-rsa'", "'ssh-ed25519' key", ".pub")
    _, ec_data, _ = pub(keys, "ecdsa384").split()
    refused(f"ecdsa-sha2-nistp256 {ec_data}", "declared as 'ecdsa-sha2-nistp256'")
    # right type name, wrong curve inside: edited blob
    forged = wire(b"ecdsa-sha2-nistp256", b"nistp384", b"\x04" + bytes(96))
    refused(f"ecdsa-sha2-nistp256 {forged}", "damaged or incomplete")


@needs_keygen
def test_unsupported_types_and_formats_say_what_to_do(keys: dict[str, Path]) -> None:
    refused("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "DSA keys are not accepted", "ssh-keygen -t ed25519")
    refused("ssh-foo AAAA", "unsupported key type 'ssh-foo'", "ssh-ed25519")
    _, data, _ = pub(keys, "ed25519").split()
    refused(data, "key type is missing")
    rfc = "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----"
    refused(rfc, "RFC 4716", "ssh-keygen -i")


@needs_keygen
def test_rsa_keys_need_2048_bits(keys: dict[str, Path]) -> None:
    refused(pub(keys, "rsa1024"), "key 1", "1024 bits", "at least 2048", "ssh-keygen -t")
    refused(f"{pub(keys, 'ed25519')};{pub(keys, 'rsa1024')}", "key 2", "1024 bits")


@needs_keygen
def test_authorized_keys_options_are_refused(keys: dict[str, Path]) -> None:
    line = pub(keys, "ed25519")
    refused(f'from="10.0.0.0/8" {line}', "options are not allowed")
    refused(f"no-pty,no-port-forwarding {line}", "options are not allowed")
    refused(f'command="/bin/true" {line}', "options are not allowed")
    refused(f"restrict {line}", "options are not allowed")


@needs_keygen
def test_line_breaks_inside_a_key_and_duplicates_are_refused(keys: dict[str, Path]) -> None:
    a, b = pub(keys, "ed25519"), pub(keys, "rsa2048")
    refused(f"{a}\n{b}", "line break", "separate keys with ';'")
    kind, data, _ = a.split()
    refused(f"{kind} {data[:30]}\n{data[30:]}", "line break")
    refused(f"{a};{b};{kind} {data} other comment", "key 3 is the same key as key 1")


# --- sshd files ---------------------------------------------------------------------------


@needs_keygen
def test_prepare_keeps_the_host_key_and_rewrites_the_rest(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    directory = tmp_path / "env" / sshd.SUBDIR
    files = sshd.prepare(directory, keys=[pub(keys, "ed25519")])
    host_key = (directory / sshd.HOST_KEY).read_bytes()
    assert (directory / sshd.HOST_KEY).stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    files_again = sshd.prepare(directory, keys=[pub(keys, "rsa2048"), pub(keys, "ecdsa256")])
    assert files_again == files == sshd.layout(directory)
    assert (directory / sshd.HOST_KEY).read_bytes() == host_key
    assert (directory / sshd.AUTHORIZED_KEYS).read_text() == (
        f"{pub(keys, 'rsa2048')}\n{pub(keys, 'ecdsa256')}\n"
    )
    config = (directory / sshd.CONFIG).read_text()
    assert f"HostKey {sshd.SANDBOX_DIR}/{sshd.HOST_KEY}\n" in config
    for line in ("PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no"):
        assert f"\n{line}\n" in config
    login = pwd.getpwuid(os.geteuid())
    entry = next(
        line.split(":")
        for line in (directory / sshd.PASSWD).read_text().splitlines()
        if line.split(":")[2] == str(login.pw_uid)
    )
    assert entry[0] == login.pw_name and entry[5] == "/work/home"
    with pytest.raises(ValidationFailed, match="PRIVATE"):
        sshd.prepare(directory, keys=[keys["ed25519"].read_text()])


@needs_keygen
def test_sandbox_needs_pass_the_run_spec_rules(tmp_path: Path, keys: dict[str, Path]) -> None:
    """What the service stores in the workload spec becomes a valid RunSpec request."""
    files = sshd.prepare(tmp_path / sshd.SUBDIR, keys=[pub(keys, "ed25519")])
    asked = sshd.sandbox_needs(files).as_spec()
    assert json.loads(json.dumps(asked)) == asked  # stored as JSON
    spec = RunSpec(
        run_id="r1", workload_id="w1", user="u", workspace="ws", command="true",
        resources=NodeResources(cpu_millicores=100, memory_bytes=2**20),
        home_dir=tmp_path / "home", output_dir=tmp_path / "out", api_url="http://x",
        run_token="t", capabilities=tuple(asked["capabilities"]),
        empty_dirs=tuple(asked["empty_dirs"]),
        overlays={t: Path(h) for t, h in asked["overlays"].items()},
    )  # fmt: skip
    assert spec.capabilities == sshd.SSHD_CAPABILITIES and spec.empty_dirs == sshd.SSHD_DIRS
    assert spec.overlays[str(sshd.SANDBOX_DIR)] == files.dir
    assert spec.overlays["/etc/shadow"] == files.host(sshd.SHADOW)


def test_session_config_quotes_values_and_leaves_out_launcher_variables() -> None:
    text, skipped = sshd.session_config(
        "/run/hangar-sshd/sshd_config",
        {
            "PATH": "/venv/bin:/usr/bin",
            "ODD": "a \"b\" 'c' \\d #e $f",
            "HANGAR_DEVENV": "{}",
            "JUPYTER_TOKEN": "secret",
            "HOME": "/root",
            "SSH_AUTH_SOCK": "/tmp/x",
            "MULTI": "one\ntwo",
        },
    )
    assert skipped == ["MULTI"]
    lines = text.splitlines()
    assert lines[1] == (
        r'SetEnv "ODD=a \"b\" \'c\' \\d #e $f" "PATH=/venv/bin:/usr/bin" '
        r'"HANGAR_SESSION_PATH=/venv/bin:/usr/bin"'
    )
    assert lines[2] == 'Include "/run/hangar-sshd/sshd_config"'
    assert "secret" not in text and "HANGAR_DEVENV" not in text


# --- sshd inside the sandbox, for real ------------------------------------------------------

ODD_VALUE = "spaces  and \"quotes\" 'single' \\back #hash $dollar"
MISSING = [
    tool
    for tool, found in (
        ("bwrap (bubblewrap)", shutil.which("bwrap")),
        ("sshd (openssh-server)", shutil.which("sshd", path="/usr/sbin:/usr/bin:/sbin:/bin")),
        ("ssh (openssh-client)", shutil.which("ssh")),
        ("ssh-keygen (openssh-client)", KEYGEN),
    )
    if not found
]
needs_sshd = pytest.mark.skipif(bool(MISSING), reason=f"not installed: {', '.join(MISSING)}")


@dataclass
class Environment:
    port: int
    home: Path
    login: str
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sandbox_argv(
    host: sandbox.SandboxHost,
    *,
    binds: Sequence[ContractBind],
    command: Sequence[str],
    needs: sshd.SandboxNeeds,
) -> list[str]:
    """``bwrap_argv`` with what sshd needs, as the local backend composes it."""
    return sandbox.bwrap_argv(
        host, binds=binds, command=command, cwd="/work/home",
        cap_add=needs.cap_add, dirs=needs.dirs, overlays=needs.overlays,
    )  # fmt: skip


def read_child_pid(fd: int, timeout: float = 10.0) -> int | None:
    """bubblewrap's --info-fd JSON: the namespace init's pid (its own process group)."""
    buf = b""
    deadline = time.monotonic() + timeout
    with contextlib.closing(os.fdopen(fd, "rb", buffering=0)) as info:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([info], [], [], deadline - time.monotonic())
            chunk = info.read(4096) if ready else b""
            if not chunk:
                return None
            buf += chunk
            with contextlib.suppress(json.JSONDecodeError):
                return int(json.loads(buf)["child-pid"])
    return None


@pytest.fixture
def environment(tmp_path: Path, keys: dict[str, Path]) -> Iterator[Environment]:
    """A dev environment's sandbox running only the per-environment sshd."""
    if MISSING:
        pytest.skip(f"not installed: {', '.join(MISSING)}")
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    (home / "marker.txt").write_text("in the home\n")
    host = sandbox.SandboxHost(
        bwrap=shutil.which("bwrap") or "bwrap",
        runtime_paths=sandbox.default_runtime_paths(),
        hidden_paths=(),
        as_root=os.geteuid() == 0,
    )
    probe = sandbox.probe(host)
    if not probe.usable:
        pytest.skip(probe.reason)
    files = sshd.prepare(
        tmp_path / "env" / sshd.SUBDIR, keys=[pub(keys, "ed25519"), pub(keys, "rsa2048")]
    )
    port = free_port()
    binds = [
        ContractBind(host=home, target=PurePosixPath("/work/home"), read_only=False),
        ContractBind(host=cache, target=PurePosixPath("/work/cache"), read_only=False),
    ]
    argv = sandbox_argv(
        host,
        binds=binds,
        command=sshd.command(files, port=port, listen="127.0.0.1"),
        needs=sshd.sandbox_needs(files),
    )
    info_r, info_w = os.pipe()
    argv[1:1] = ["--info-fd", str(info_w)]
    env = {  # what the backend gives a workload, in small
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": str(Path(sshd.__file__).resolve().parents[2]),
        "HOME": "/work/home",
        "HANGAR_WORKLOAD_ID": "wl-ssh",
        "CUDA_VISIBLE_DEVICES": "GPU-test",
        "ODD": ODD_VALUE,
        "HANGAR_DEVENV": '{"ide": ["sleep"]}',
        "JUPYTER_TOKEN": "ide-secret",
    }
    log = tmp_path / "sshd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, pass_fds=(info_w,)
        )
    os.close(info_w)
    init = read_child_pid(info_r)
    try:
        wait_listening(port, process, log)
        yield Environment(port=port, home=home, login=pwd.getpwuid(os.geteuid()).pw_name, log=log)
    finally:
        for pid in (init, process.pid):  # the sandbox's group, then bubblewrap itself
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the sandbox exited ({process.returncode}):\n{log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"sshd never listened on {port}:\n{log.read_text()}")


def ssh(
    env: Environment, key: Path | None, *args: str, options: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-p", str(env.port), "-o", "StrictHostKeyChecking=no"]
    argv += ["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    argv += ["-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-F", "/dev/null"]
    argv += ["-i", str(key)] if key else []
    argv += [*options, f"{env.login}@127.0.0.1", *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )


@needs_sshd
def test_a_good_key_logs_in_and_sees_the_environment(
    environment: Environment, keys: dict[str, Path]
) -> None:
    done = ssh(environment, keys["ed25519"], "pwd; echo HOME=$HOME; ls /work; cat marker.txt; "
               "echo > /work/home/from-ssh.txt && echo ok")  # fmt: skip
    assert done.returncode == 0, done.stderr + environment.log.read_text()
    lines = done.stdout.splitlines()
    assert lines[:2] == ["/work/home", "HOME=/work/home"]
    assert {"cache", "home"} <= set(lines[2:-2])
    assert lines[-2:] == ["in the home", "ok"]
    assert (environment.home / "from-ssh.txt").exists()
    done = ssh(environment, keys["rsa2048"], "id -un")  # every listed key works
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == environment.login


@needs_sshd
def test_sessions_carry_the_workload_environment(
    environment: Environment, keys: dict[str, Path]
) -> None:
    script = 'printf "%s|%s|%s|%s|%s\\n" "$HANGAR_WORKLOAD_ID" "$CUDA_VISIBLE_DEVICES" "$ODD" '
    script += '"${JUPYTER_TOKEN-unset}" "${HANGAR_DEVENV-unset}"; command -v python'
    done = ssh(environment, keys["ed25519"], script)
    assert done.returncode == 0, done.stderr
    first, python = done.stdout.splitlines()
    assert first == f"wl-ssh|GPU-test|{ODD_VALUE}|unset|unset"
    assert Path(python).parent == Path(sys.executable).parent  # the workload's PATH
    # login shells too, although Debian's /etc/profile sets a PATH of its own
    done = ssh(environment, keys["ed25519"], "exec bash -l -c 'command -v python'")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).parent == Path(sys.executable).parent


@needs_sshd
def test_a_wrong_key_is_refused(environment: Environment, keys: dict[str, Path]) -> None:
    done = ssh(environment, keys["intruder"], "echo in")
    assert done.returncode == 255
    assert "Permission denied (publickey)" in done.stderr
    assert "in" not in done.stdout


@needs_sshd
def test_passwords_are_not_offered(environment: Environment) -> None:
    done = ssh(
        environment, None, "echo in",
        options=["-o", "PubkeyAuthentication=no",
                 "-o", "PreferredAuthentications=password,keyboard-interactive"],
    )  # fmt: skip
    assert done.returncode == 255
    assert "Permission denied (publickey)" in done.stderr  # the only method the server lists


@needs_sshd
def test_sftp_and_local_forwarding_work(environment: Environment, keys: dict[str, Path]) -> None:
    batch = subprocess.run(
        ["sftp", "-b", "-", "-P", str(environment.port), "-i", str(keys["ed25519"]),
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null",
         f"{environment.login}@127.0.0.1"],
        input="get /work/home/marker.txt " + str(environment.home / "copy.txt") + "\n",
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert (environment.home / "copy.txt").read_text() == "in the home\n"
    # ssh -W is a direct-tcpip channel, what ssh -L opens: reach sshd's own banner through it
    done = ssh(environment, keys["ed25519"], options=["-W", f"127.0.0.1:{environment.port}"])
    assert done.stdout.startswith("SSH-2.0-OpenSSH"), done.stderr


@needs_sshd
def test_an_interactive_session_gets_a_terminal(
    environment: Environment, keys: dict[str, Path]
) -> None:
    done = ssh(environment, keys["ed25519"], "tty; pwd", options=["-tt"])
    assert done.returncode == 0, done.stdout + done.stderr + environment.log.read_text()
    tty, cwd = done.stdout.replace("\r", "").splitlines()[:2]
    assert tty.startswith("/dev/pts/")
    assert cwd == "/work/home"
