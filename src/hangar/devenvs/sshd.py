"""One OpenSSH server per dev environment, inside the environment's sandbox.

An SSH session sees what the IDE sees: the same ``/work`` files, processes, GPUs and
variables. The server side (:func:`prepare`, on the host, before each start) writes the
environment's sshd files; :func:`command` is the argv the launcher
(``hangar.runtimes.devenv``) starts inside the sandbox; :func:`sandbox_needs` is what the
bubblewrap sandbox must add for sshd to work there.

Files (:class:`SshdFiles`, one directory per environment, read-only inside the sandbox):

* ``ssh_host_ed25519_key`` — generated once and kept, so clients see the same host key at
  every start (it changes only if the directory is deleted).
* ``authorized_keys`` — the user's validated public keys, rewritten at every start. Only
  these keys log in: ``~/.ssh/authorized_keys`` in ``/work/home`` is not consulted.
* ``sshd_config`` — public keys only (no passwords, no keyboard-interactive, no PAM).
* ``passwd`` / ``shadow`` / ``group`` — laid over the files in ``/etc`` in the sandbox: the
  host's accounts with the sandbox user's home set to ``/work/home`` (so sessions start there
  with ``HOME=/work/home``); a ``shadow`` stub that has no password (``*``) but is not
  "locked" (without PAM, sshd refuses accounts whose shadow entry is locked, and the sandbox
  otherwise masks ``/etc/shadow``: nss-systemd then reports root as ``!*``); the host's
  groups without ``tty``, so that sshd leaves a session's pseudo-terminal with the user's
  own group (mode 0600) instead of giving it to group ``tty``, which needs CAP_CHOWN
  (``chown(/dev/pts/0, 0, 5) failed: Operation not permitted``).
* ``profile`` — the host's ``/etc/profile`` plus one line at its end, laid over it: login
  shells (every interactive SSH session) put back the environment's ``PATH`` from
  ``HANGAR_SESSION_PATH`` after the distribution's profile reset it (Debian's sets a fixed
  ``PATH``); ``~/.profile`` still runs after it and may extend it.

Why the sandbox needs more for sshd (found by running it, see tests/devenvs/test_ssh.py):
running as uid 0, OpenSSH always separates privileges. Before authentication it chroots into
its empty directory (``/run/sshd`` on Debian) and switches to the ``sshd`` user; after it,
it sets the login user's groups (``initgroups``), and for a terminal session it writes an
audit record and fails the login if it cannot. Under the sandbox's ``--cap-drop ALL`` the
first fails (``chroot("/run/sshd"): Operation not permitted [preauth]``), and so do the
others (``linux_audit_write_entry failed``). No option turns that off
(``UsePrivilegeSeparation`` is gone since 7.5). A nested user namespace does not help: since
Linux 5.12, mapping host uid 0 into a new user namespace needs CAP_SETFCAP, so a
capability-less root can create none in which its files are its own. What works: keep
:data:`SSHD_CAPABILITIES` (CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, CAP_AUDIT_WRITE; a subset
of Docker's default set) in the sandbox of an SSH-enabled environment, create
:data:`SSHD_DIRS`, and lay the files above over ``/etc``. Every process of that sandbox holds
those capabilities (bubblewrap keeps them as ambient capabilities), not only sshd.

When the server does not run as root, bubblewrap runs the sandbox as that user and sshd runs
unprivileged: no privilege separation, no capabilities needed, and the login name is that
user's (checked by hand as ``nobody``; the tests run as root).

Variables: sshd gives sessions a fresh environment. The launcher's sshd argv runs this module
(``python -m hangar.devenvs.sshd``) inside the sandbox first: it copies the workload's
environment (``CUDA_VISIBLE_DEVICES``, ``HANGAR_*``, ``PATH``, the user's variables...) into
a ``SetEnv`` line of a per-start config in the sandbox's private ``/tmp`` (not the cache: it
holds the run token), which includes ``sshd_config``, then replaces itself with sshd running
in a minimal environment. Left out: the launcher's own (:data:`HIDDEN_VARIABLES`), the
per-session ones sshd sets itself, and values with a line break (sshd_config is
line-based).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from hangar.devenvs.ssh_keys import parse_key

#: The files' directory under the environment's own (``HANGAR_HOME/devenvs/<id>/ssh``),
#: beside its cache and never inside it: the workload writes ``/work/cache``, and must not
#: write ``authorized_keys``; a cache purge keeps the host key. Deleted with the environment.
SUBDIR = "ssh"
#: Where sshd sees that directory: bound read-only there by :func:`sandbox_needs`.
SANDBOX_DIR = PurePosixPath("/run/hangar-sshd")
WORK_HOME = "/work/home"
HOST_KEY = "ssh_host_ed25519_key"
AUTHORIZED_KEYS = "authorized_keys"
CONFIG = "sshd_config"
PASSWD = "passwd"  # noqa: S105 - a file name
SHADOW = "shadow"
GROUP = "group"
PROFILE = "profile"
#: Set in sessions to the workload's PATH, which ``profile`` restores in login shells.
SESSION_PATH = "HANGAR_SESSION_PATH"
PROFILE_LINE = (
    "# Added by Hangar in this dev environment: login shells keep the environment's PATH.\n"
    f'if [ -n "${{{SESSION_PATH}:-}}" ]; then PATH="${SESSION_PATH}"; export PATH; fi\n'
)
LOGIN_SHELLS = ("/bin/bash", "/usr/bin/bash", "/bin/sh")

#: What bubblewrap keeps for sshd when the server runs as root (see the module docstring).
SSHD_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE")
#: Empty directories sshd wants. Its compiled-in privilege separation directory: Debian and
#: Ubuntu use /run/sshd, upstream and Arch /var/empty (Fedora's is under /usr). And
#: /var/log/lastlog: as a missing file, every terminal login prints "Couldn't stat
#: /var/log/lastlog"; as a directory, sshd's (failing) per-user record stays quiet.
SSHD_DIRS = ("/run/sshd", "/var/empty", "/var/log/lastlog")

#: Launcher variables that SSH sessions do not get: the launcher's plan and the IDE's secret.
HIDDEN_VARIABLES = frozenset({"HANGAR_DEVENV", "JUPYTER_TOKEN", "PASSWORD", "HASHED_PASSWORD"})
#: Variables sshd sets per session (or that describe one process), never copied.
SESSION_VARIABLES = frozenset(
    {"HOME", "USER", "LOGNAME", "SHELL", "MAIL", "TERM", "PWD", "OLDPWD", "SHLVL", "_"}
)
#: sshd's own environment: the user's variables (LD_PRELOAD...) do not change how it runs.
SSHD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True, kw_only=True)
class SshdFiles:
    """An environment's sshd directory: ``dir`` on the host, ``visible`` where sshd sees it."""

    dir: Path
    visible: PurePosixPath

    def host(self, name: str) -> Path:
        return self.dir / name

    def seen(self, name: str) -> str:
        return str(self.visible / name)

    @property
    def config(self) -> str:
        """The config file, as sshd (in the sandbox) opens it."""
        return self.seen(CONFIG)


@dataclass(frozen=True, kw_only=True)
class SandboxNeeds:
    """What the sandbox of an SSH-enabled environment adds to ``bwrap_argv``'s arguments.

    * ``cap_add``: ``--cap-add`` each, right after ``--cap-drop ALL`` (only as root);
    * ``dirs``: ``--dir`` each (empty, root-owned, 0755, on the sandbox's own root);
    * ``overlays``: ``--ro-bind HOST TARGET`` each, after the masks (so ``/etc/shadow`` is
      replaced, not masked) and before ``--remount-ro``.
    """

    cap_add: tuple[str, ...]
    dirs: tuple[str, ...]
    overlays: tuple[tuple[Path, str], ...]

    def as_spec(self) -> dict[str, Any]:
        """The workload spec's ``sandbox`` entry (JSON), which becomes the run spec's
        ``capabilities``, ``empty_dirs`` and ``overlays``."""
        return {
            "capabilities": list(self.cap_add),
            "empty_dirs": list(self.dirs),
            "overlays": {target: str(host) for host, target in self.overlays},
        }


def layout(directory: Path, *, visible_at: PurePosixPath | None = SANDBOX_DIR) -> SshdFiles:
    """The files' places, without touching the disk. ``visible_at=None``: sshd sees the
    directory at its host path (no sandbox)."""
    visible = PurePosixPath(directory) if visible_at is None else visible_at
    return SshdFiles(dir=directory, visible=visible)


def prepare(
    directory: Path,
    *,
    keys: Sequence[str],
    visible_at: PurePosixPath | None = SANDBOX_DIR,
    uid: int | None = None,
    passwd_file: Path = Path("/etc/passwd"),
    group_file: Path = Path("/etc/group"),
    profile_file: Path = Path("/etc/profile"),
    ssh_keygen: str = "ssh-keygen",
) -> SshdFiles:
    """Write the environment's sshd files into ``directory`` (on the host, before a start).

    ``keys``: the stored public keys (re-validated; :class:`hangar.errors.ValidationFailed`
    if one is not a key). ``uid``: who the sandbox runs as (default: this process), the
    account SSH logs into. The host key is generated on the first call and kept.
    """
    files = layout(directory, visible_at=visible_at)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    _host_key(files.host(HOST_KEY), ssh_keygen)
    lines = [parse_key(k, position=n).line for n, k in enumerate(keys, start=1)]
    _write(files.host(AUTHORIZED_KEYS), "".join(f"{line}\n" for line in lines), 0o600)
    account = _account(os.geteuid() if uid is None else uid)
    _write(files.host(PASSWD), passwd_overlay(passwd_file.read_text(), account.pw_uid), 0o644)
    _write(files.host(SHADOW), f"{account.pw_name}:*:19000:0:99999:7:::\n", 0o600)
    _write(files.host(GROUP), group_overlay(group_file.read_text()), 0o644)
    if profile_file.is_file():  # laid over only where there is one to replace
        _write(files.host(PROFILE), profile_file.read_text() + "\n" + PROFILE_LINE, 0o644)
    else:
        files.host(PROFILE).unlink(missing_ok=True)
    _write(files.host(CONFIG), config_text(files, login=account.pw_name), 0o600)
    return files


def missing_programs(*, ssh_keygen: str = "ssh-keygen") -> list[str]:
    """The host programs SSH access needs that are not installed, as install hints."""
    missing = []
    if shutil.which("sshd", path=f"{SSHD_PATH}:{os.environ.get('PATH', '')}") is None:
        missing.append("sshd (apt-get install openssh-server)")
    if shutil.which(ssh_keygen) is None:
        missing.append("ssh-keygen (apt-get install openssh-client)")
    return missing


def login_name(uid: int | None = None) -> str:
    """The account SSH logs into: the one the sandbox runs as (the server's)."""
    return _account(os.geteuid() if uid is None else uid).pw_name


def command(files: SshdFiles, *, port: int, listen: str = "0.0.0.0") -> list[str]:  # noqa: S104
    """The argv the launcher runs inside the sandbox (this module's :func:`main`).

    ``listen``: the address to accept connections on; the host network is shared, so the
    default makes the environment reachable on the allocated ``port`` of every host address.
    """
    return [
        sys.executable, "-m", "hangar.devenvs.sshd",
        "--config", files.config, "--port", str(port), "--listen", listen,
    ]  # fmt: skip


def sandbox_needs(files: SshdFiles) -> SandboxNeeds:
    """The additions to the sandbox (after :func:`prepare`); see :class:`SandboxNeeds`."""
    overlays = [
        (files.dir, str(files.visible)),
        (files.host(PASSWD), "/etc/passwd"),
        (files.host(SHADOW), "/etc/shadow"),
        (files.host(GROUP), "/etc/group"),
    ]
    if files.host(PROFILE).exists():
        overlays.append((files.host(PROFILE), "/etc/profile"))
    return SandboxNeeds(cap_add=SSHD_CAPABILITIES, dirs=SSHD_DIRS, overlays=tuple(overlays))


def config_text(files: SshdFiles, *, login: str) -> str:
    """``sshd_config``: keys only, one account, local forwarding for remote IDEs."""
    return f"""\
# Written by Hangar at every start of this dev environment; edits are overwritten.
# Port and address come from the command line; SetEnv from the per-start config.
HostKey {files.seen(HOST_KEY)}
AuthorizedKeysFile {files.seen(AUTHORIZED_KEYS)}
AllowUsers {login}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
HostbasedAuthentication no
UsePAM no
# The directories are the user's; sshd's ownership checks on them would only lock them out.
StrictModes no
PermitUserEnvironment no
PermitUserRC no
PidFile none
PrintMotd no
PrintLastLog no
UseDNS no
LoginGraceTime 30
MaxAuthTries 6
ClientAliveInterval 60
ClientAliveCountMax 3
X11Forwarding no
PermitTunnel no
GatewayPorts no
# ssh -L (remote IDEs, notebooks); -R would open listeners on the host's network.
AllowTcpForwarding local
AllowStreamLocalForwarding local
AllowAgentForwarding yes
Subsystem sftp internal-sftp
LogLevel INFO
"""


def passwd_overlay(passwd: str, uid: int) -> str:
    """The host's ``/etc/passwd`` with ``uid``'s home set to ``/work/home`` and a login
    shell that exists in the sandbox."""
    shell = next((s for s in LOGIN_SHELLS if Path(s).exists()), "/bin/sh")
    out: list[str] = []
    found = False
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[2] == str(uid) and not found:
            fields[5], fields[6] = WORK_HOME, shell
            line, found = ":".join(fields), True
        out.append(line)
    if not found:
        raise RuntimeError(f"uid {uid} has no /etc/passwd entry: sshd cannot log anyone in")
    return "\n".join(out) + "\n"


def group_overlay(group: str) -> str:
    """The host's ``/etc/group`` without the ``tty`` group (see the module docstring)."""
    lines = [line for line in group.splitlines() if not line.startswith("tty:")]
    return "\n".join(lines) + "\n"


def session_config(config: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The per-start config: ``SetEnv`` with the workload's variables, then ``Include`` of
    ``config``. Returns it and the names left out for a line break in their value."""
    setenv: list[str] = []
    skipped: list[str] = []
    for name in sorted(environ):
        if name in HIDDEN_VARIABLES or name in SESSION_VARIABLES or name.startswith("SSH_"):
            continue
        value = environ[name]
        if "\n" in value or "\r" in value or "\0" in value:
            skipped.append(name)
            continue
        setenv.append(_quote(f"{name}={value}"))
        if name == "PATH":
            setenv.append(_quote(f"{SESSION_PATH}={value}"))
    lines = ["# Written inside the sandbox at this start by hangar.devenvs.sshd."]
    if setenv:  # sshd keeps only the first SetEnv line: every variable goes on this one
        lines.append("SetEnv " + " ".join(setenv))
    lines.append(f"Include {_quote(config)}")
    return "\n".join(lines) + "\n", skipped


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Inside the sandbox: write the per-start config, then become sshd (``-D -e``)."""
    parser = argparse.ArgumentParser(prog="python -m hangar.devenvs.sshd")
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--listen", default="0.0.0.0")  # noqa: S104 - the environment's address
    args = parser.parse_args(argv)
    sshd = shutil.which("sshd", path=f"{SSHD_PATH}:{os.environ.get('PATH', '')}")
    if sshd is None:
        sys.exit("hangar: sshd is not installed here (Debian: apt-get install openssh-server)")
    text, skipped = session_config(args.config, os.environ)
    if skipped:
        print(f"hangar: SSH sessions will not get {', '.join(skipped)} (line breaks in the "
              "value)", file=sys.stderr)  # fmt: skip
    runtime = Path(tempfile.mkdtemp(prefix="hangar-sshd-"))  # the sandbox's private /tmp
    _write(runtime / CONFIG, text, 0o600)
    env = {"PATH": SSHD_PATH, **{k: os.environ[k] for k in ("LANG", "TZ") if k in os.environ}}
    argv_sshd = [sshd, "-D", "-e", "-f", str(runtime / CONFIG), "-p", str(args.port)]
    argv_sshd += ["-o", f"ListenAddress={args.listen}"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sshd, argv_sshd, env)  # noqa: S606 - fixed program, our own arguments


# --- helpers ------------------------------------------------------------------------------


def _host_key(path: Path, ssh_keygen: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.unlink(missing_ok=True)
    path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(  # noqa: S603 - fixed argv
        [ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "hangar-devenv", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    path.chmod(0o600)


def _account(uid: int) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise RuntimeError(f"uid {uid} has no account: sshd cannot log anyone in") from None


def _quote(value: str) -> str:
    """A double-quoted sshd_config argument (``\\``, ``"`` and ``'`` escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
    return f'"{escaped}"'


def _write(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` atomically with ``text`` (created with ``mode``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text)
    os.chmod(tmp, mode)  # noqa: PTH101 - umask-proof
    tmp.replace(path)


if __name__ == "__main__":
    main()
