"""The CLI config file and how ``--server``, the environment and the file combine."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hangar.cli.config import (
    CONFIG_ENV,
    DEFAULT_SERVER,
    SERVER_ENV,
    TOKEN_ENV,
    CliConfig,
    ConfigError,
    config_path,
    load_config,
    resolve_connection,
    save_config,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (CONFIG_ENV, SERVER_ENV, TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)


def test_path_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert config_path() == Path.home() / ".hangar" / "cli.toml"
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "x.toml"))
    assert config_path() == tmp_path / "x.toml"


def test_save_is_private_even_with_a_lax_umask(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "cli.toml"
    old = os.umask(0o000)
    try:
        save_config(CliConfig(server="http://h:1", token="hgr_a_b"), path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_config(path) == CliConfig(server="http://h:1", token="hgr_a_b")


def test_save_replaces_atomically_and_drops_empty_keys(tmp_path: Path) -> None:
    path = tmp_path / "cli.toml"
    save_config(CliConfig(server="http://h:1", token="t", token_id="i", username="u"), path)
    save_config(CliConfig(server="http://h:1", username="u"), path)
    assert load_config(path) == CliConfig(server="http://h:1", username="u")
    assert "token =" not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["cli.toml"]


def test_missing_file_is_empty_and_bad_values_are_named(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.toml") == CliConfig()
    path = tmp_path / "cli.toml"
    path.write_text("server = 8420\n")
    with pytest.raises(ConfigError, match="'server' must be a string, not int"):
        load_config(path)


def test_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    saved = CliConfig(server="http://saved:1", token="saved-token")
    assert resolve_connection(CliConfig()).server == DEFAULT_SERVER

    conn = resolve_connection(saved)
    assert (conn.server, conn.token, conn.token_source) == (
        "http://saved:1", "saved-token", "config",
    )  # fmt: skip

    monkeypatch.setenv(TOKEN_ENV, "env-token")
    conn = resolve_connection(saved)
    assert (conn.token, conn.token_source) == ("env-token", "env")

    monkeypatch.setenv(SERVER_ENV, "env-host:2")
    conn = resolve_connection(saved)
    assert (conn.server, conn.server_source) == ("http://env-host:2", SERVER_ENV)
    assert resolve_connection(saved, server="http://flag:3").server == "http://flag:3"


def test_saved_token_stays_with_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    saved = CliConfig(server="http://saved:1/", token="saved-token")
    assert resolve_connection(saved).token == "saved-token"  # same server, trailing slash
    monkeypatch.setenv(SERVER_ENV, "http://elsewhere:1")
    conn = resolve_connection(saved)
    assert conn.token is None and conn.token_source == "none"
    assert "http://saved:1" in conn.note and "elsewhere" in conn.note


def test_bad_server_url_names_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVER_ENV, "ftp://nope")
    with pytest.raises(ConfigError, match=f"taken from {SERVER_ENV}"):
        resolve_connection(CliConfig())
