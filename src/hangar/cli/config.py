"""The CLI's own settings file: which server to talk to and the token ``hangar login`` got.

Stored as TOML at ``~/.hangar/cli.toml`` (``HANGAR_CLI_CONFIG`` overrides the path), written
atomically with mode 0600. It never holds a password. ``HANGAR_SERVER`` and ``HANGAR_TOKEN``
override what it says. A saved token is only ever sent to the server it was issued by.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import tomli_w

from hangar.client import InvalidServerURL, normalize_server_url

CONFIG_ENV = "HANGAR_CLI_CONFIG"
SERVER_ENV = "HANGAR_SERVER"
TOKEN_ENV = "HANGAR_TOKEN"  # noqa: S105 - the name of an environment variable
DEFAULT_SERVER = "http://127.0.0.1:8420"

TokenSource = Literal["env", "config", "none"]


class ConfigError(Exception):
    """The config file exists but cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class CliConfig:
    server: str | None = None
    token: str | None = None
    token_id: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Connection:
    """Where commands go and with which token, after env and file are combined."""

    server: str
    server_source: str  # for messages: "--server", "HANGAR_SERVER", the file path, "default"
    token: str | None
    token_source: TokenSource
    # Why a saved token is not used, when there is one but it belongs elsewhere.
    note: str = ""


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".hangar" / "cli.toml"


def load_config(path: Path | None = None) -> CliConfig:
    """Read the file; a missing file is an empty config."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CliConfig()
    except OSError as exc:
        raise ConfigError(f"cannot read the CLI config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"the CLI config {path} is not valid TOML ({exc}); fix it, or delete it and run "
            "`hangar login` again"
        ) from None
    values: dict[str, str] = {}
    for f in fields(CliConfig):
        value = data.get(f.name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigError(
                f"the CLI config {path}: '{f.name}' must be a string, not "
                f"{type(value).__name__}; fix it, or delete the file and run `hangar login`"
            )
        values[f.name] = value
    return CliConfig(**values)


def save_config(config: CliConfig, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename in the same directory), mode 0600."""
    path = path or config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {k: v for k, v in asdict(config).items() if v is not None}
    # mkstemp creates the file 0600 and only for us, so the token is never world-readable,
    # not even for the moment between write and rename.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"# Written by `hangar login`. Holds an API token: keep it private.\n")
            fh.write(tomli_w.dumps(data).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(0o600)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resolve_connection(config: CliConfig, *, server: str | None = None) -> Connection:
    """Combine ``--server``, the environment and the file; a bad URL is a ``ConfigError``."""
    env_server = os.environ.get(SERVER_ENV) or None
    if server:
        url, source = server, "--server"
    elif env_server:
        url, source = env_server, SERVER_ENV
    elif config.server:
        url, source = config.server, str(config_path())
    else:
        url, source = DEFAULT_SERVER, "default"
    try:
        url = normalize_server_url(url)
    except InvalidServerURL as exc:
        raise ConfigError(f"{exc.message} (taken from {source})") from None
    env_token = os.environ.get(TOKEN_ENV) or None
    if env_token:
        return Connection(url, source, env_token, "env")
    if config.token and config.server:
        if normalize_server_url(config.server) == url:
            return Connection(url, source, config.token, "config")
        note = (
            f"the saved token is for {config.server}, not {url}, so it is not sent there; "
            f"run `hangar login --server {url}` or set {TOKEN_ENV}"
        )
        return Connection(url, source, None, "none", note)
    return Connection(url, source, None, "none")
