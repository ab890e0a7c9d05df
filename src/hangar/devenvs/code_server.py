"""code-server (VS Code in the browser) as the IDE of a dev environment: argv, environment,
the session cookie the platform proxy presents, and the health answer.

Install: ``scripts/code-server.sh`` pins code-server 4.100.3, the newest release that runs on
Node.js 20 (4.103 and later declare Node 22). Nothing here depends on the install location.

Design, checked against the real server (``tests/devenvs/test_code_server.py``):

* **Listening.** ``--bind-addr 127.0.0.1:<port>`` on the port the platform allocated. code-server
  also reads ``$PORT`` and ``$CODE_SERVER_HOST``, which override the flag: :func:`environment`
  cannot unset inherited variables, so the launcher's environment must not carry them (see
  :data:`IGNORED_ENV` and :func:`clean_environment`).
* **Behind the proxy at /dev/<id>/, prefix stripped.** code-server sees ``/``; every URL it emits
  is relative (``./login``, ``./_static/...``, ``stable-<commit>/static/...``, ``serverBasePath``
  is ``.``, redirects use relative ``Location``), so no base-path flag is needed
  (``--abs-proxy-base-path`` concerns only its own ``/absproxy/<port>`` port forwarding). The
  public URL must end in a slash (``/dev/<id>/``) or relative URLs resolve one level too high.
  WebSockets check that Origin matches ``X-Forwarded-Host`` (else ``Host``): the proxy must pass
  the client's host on. code-server's own port proxy (``/proxy/<port>/``) is switched off with
  ``--disable-proxy``: Hangar forwards ports itself, and code-server's would serve anything
  listening on the host's loopback under the platform's origin.
* **Authentication stays on** (``--auth password``), and the proxy logs the user in by sending a
  cookie: no secret in a URL, none on the command line (``ps``), no login page. code-server
  takes ``$HASHED_PASSWORD`` (and removes it from its environment, so terminals do not inherit
  it). A value without ``$argon`` is a "legacy" SHA-256 hash, and then a request is logged in when
  its ``code-server-session`` cookie equals that value (constant-time string comparison;
  ``isCookieValid`` in ``out/node/util.js``). So the variable is sha256(secret) in hex and the proxy
  injects the same value as the cookie; the secret itself still logs in at ``/login`` by hand.
  With ``$PASSWORD`` instead, the cookie would have to be an argon2 hash, verified on every
  request (0.6 s per request, measured). The proxy must replace any ``code-server-session`` cookie
  the browser sends (the first one wins).
* **State under the environment's home.** ``--user-data-dir`` is code-server's default,
  ``$HOME/.local/share/code-server`` (settings, extensions, logs, the heartbeat file,
  ``coder.json`` with the last opened folder); :func:`environment` pins ``HOME`` and the XDG
  variables so that code-server's own paths (heartbeat, logs) agree. ``--config /dev/null``
  stops it from writing ``~/.config/code-server/config.yaml`` with a generated password. Nothing
  is written inside the install, which may be mounted read-only; temporary files go to ``/tmp``.
* **Quiet.** ``--disable-telemetry``, ``--disable-update-check`` (no GitHub polling),
  ``--disable-workspace-trust`` (no "Do you trust the authors" prompt),
  ``--disable-getting-started-override`` (no code-server advert on the Welcome page). VS Code's
  Welcome page itself is a user setting, not a flag: seed :data:`DEFAULT_USER_SETTINGS` into
  :func:`user_settings_path` when the file does not exist yet (the user may change it later).
* **Folder.** The positional argument opens ``workdir``: ``GET /`` redirects (302, relative) to
  ``./?folder=<workdir>``, or to the folder opened last (remembered in ``coder.json``).
* **Health.** ``GET /healthz`` needs no login and answers
  ``{"status": "alive"|"expired", "lastHeartbeat": <ms since the epoch, 0 = never>}``. Every
  other request and WebSocket upgrade, logged in or not, beats the heart at most once per
  minute (it touches ``<data dir>/heartbeat``); while the heart is alive a timer re-beats every
  minute as long as the server has any open connection, so an open browser tab (its WebSocket)
  keeps ``lastHeartbeat`` within about 60 s of now. ``status`` is ``alive`` for 60 s after a
  beat. Requests to ``/healthz`` do not beat; a proxy holding idle keep-alive connections to
  code-server would (code-server closes them after 5 s). Once the last tab is closed the beats
  stop. ``lastHeartbeat`` starts at 0 with each process; the heartbeat file's mtime survives
  restarts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

#: The version scripts/code-server.sh installs (the flags below are checked against it).
VERSION = "4.100.3"
HEALTH_PATH = "/healthz"
SESSION_COOKIE = "code-server-session"
DEFAULT_WORKDIR = "/work/home"
#: How often the heartbeat can move: ``lastHeartbeat`` is at most this stale while active.
HEARTBEAT_INTERVAL = timedelta(seconds=60)

#: Variables code-server reads that would override :func:`command` and :func:`environment`
#: (``PORT`` replaces the port of ``--bind-addr``; ``VSCODE_IPC_HOOK_CLI``, set in a VS Code
#: terminal, makes it hand the folder to that editor and exit; ``CODE_SERVER_PARENT_PID`` makes
#: it wait for a parent that is not there).
IGNORED_ENV = frozenset({
    "PORT", "CODE_SERVER_HOST", "CODE_SERVER_CONFIG", "CODE_SERVER_PARENT_PID",
    "CODE_SERVER_SESSION_SOCKET", "PASSWORD", "HASHED_PASSWORD", "GITHUB_TOKEN",
    "LOG_LEVEL", "CS_DISABLE_FILE_DOWNLOADS", "CS_DISABLE_GETTING_STARTED_OVERRIDE",
    "CS_DISABLE_PROXY", "VSCODE_IPC_HOOK_CLI", "VSCODE_PROXY_URI", "NODE_OPTIONS",
})  # fmt: skip

#: User settings for a new environment: no Welcome page at start, no extension update checks
#: against the marketplace (dev environments may have no internet).
DEFAULT_USER_SETTINGS: Mapping[str, object] = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "telemetry.telemetryLevel": "off",
}


def data_dir(home: str) -> str:
    """code-server's user data directory (settings, extensions, logs, heartbeat)."""
    return f"{home.rstrip('/')}/.local/share/code-server"


def extensions_dir(home: str) -> str:
    return f"{data_dir(home)}/extensions"


def heartbeat_path(home: str) -> str:
    """The file code-server touches on each heartbeat (its mtime mirrors ``lastHeartbeat``)."""
    return f"{data_dir(home)}/heartbeat"


def user_settings_path(home: str) -> str:
    """Where :data:`DEFAULT_USER_SETTINGS` go (VS Code's ``User/settings.json``)."""
    return f"{data_dir(home)}/User/settings.json"


def command(
    *,
    executable: str,
    port: int,
    password: str,
    home: str,
    workdir: str = DEFAULT_WORKDIR,
) -> list[str]:
    """The argv that starts code-server on 127.0.0.1:``port``, opening ``workdir``.

    ``password`` is not on the command line (``ps`` shows argv to every user; code-server only
    takes it from the environment): pass the same value to :func:`environment`. It is accepted
    here so that callers cannot forget that the two belong together.
    """
    if not password:
        raise ValueError("code-server needs a non-empty password")
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return [
        executable,
        "--bind-addr", f"127.0.0.1:{port}",
        "--auth", "password",
        "--config", "/dev/null",
        "--user-data-dir", data_dir(home),
        "--extensions-dir", extensions_dir(home),
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--disable-proxy",
        workdir,
    ]  # fmt: skip


def session_value(password: str) -> str:
    """The value of ``$HASHED_PASSWORD`` and of the session cookie: sha256(password) in hex."""
    return hashlib.sha256(password.encode()).hexdigest()


def environment(*, password: str, home: str) -> dict[str, str]:
    """Variables to add to the launcher's environment (see :data:`IGNORED_ENV` for those to
    leave out)."""
    home = home.rstrip("/") or "/"
    return {
        "HOME": home,
        "XDG_DATA_HOME": f"{home}/.local/share",
        "XDG_CONFIG_HOME": f"{home}/.config",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "HASHED_PASSWORD": session_value(password),
    }


def clean_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without the variables that would change how code-server starts."""
    return {key: value for key, value in base.items() if key not in IGNORED_ENV}


def auth_cookies(password: str) -> dict[str, str]:
    """Cookies the proxy sends upstream so that code-server treats the request as logged in."""
    return {SESSION_COOKIE: session_value(password)}


def parse_health(body: bytes) -> datetime | None:
    """``lastHeartbeat`` of a ``/healthz`` answer as an aware UTC datetime; None if it never
    beat. Raises ValueError for anything that is not such an answer."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a code-server health answer: {body[:200]!r}") from exc
    last = data.get("lastHeartbeat") if isinstance(data, dict) else None
    if isinstance(last, bool) or not isinstance(last, int | float):
        raise ValueError(f"not a code-server health answer: {body[:200]!r}")
    if last <= 0:
        return None
    return datetime.fromtimestamp(last / 1000, tz=UTC)
