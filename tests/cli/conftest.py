"""CLI tests: the real ``hangar`` app, run in-process by CliRunner against a live server.

One server per test module (argon2 logins cost ~50 ms each, so the admin token is shared
too); tests use unique names so they do not step on each other. Each test gets its own
CLI config file through ``HANGAR_CLI_CONFIG``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner, Result

from hangar.cli.config import CONFIG_ENV, SERVER_ENV, TOKEN_ENV, CliConfig, save_config
from hangar.cli.main import app
from hangar.client import HangarClient
from tests.support import ADMIN_PASSWORD, live_server, test_settings

T = TypeVar("T")
# Wide tables, whatever the terminal (pytest-xdist workers may export COLUMNS=80).
CLEAN_ENV: dict[str, str | None] = {
    SERVER_ENV: None, TOKEN_ENV: None, "HANGAR_OUTPUT": None, "COLUMNS": "200",
}  # fmt: skip


class Cli:
    """Runs ``hangar`` commands with one config file; asserts exit codes."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.runner = CliRunner()

    def run(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        full_env = {**CLEAN_ENV, CONFIG_ENV: str(self.config), **env}
        return self.runner.invoke(app, list(args), input=input, env=full_env)

    def ok(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        result = self.run(*args, input=input, **env)
        assert result.exit_code == 0, (
            f"hangar {' '.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
        )
        return result

    def json(self, *args: str, input: str | None = None, **env: str | None) -> Any:
        """Run with ``--output json``; the whole of stdout must be that JSON."""
        return json.loads(self.ok("--output", "json", *args, input=input, **env).stdout)

    def fails(self, code: int, *args: str, input: str | None = None, **env: str | None) -> Result:
        result = self.run(*args, input=input, **env)
        assert result.exit_code == code, (
            f"hangar {' '.join(args)}: expected exit {code}, got {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result

    def use(self, server: str, token: str, username: str = "admin") -> None:
        save_config(CliConfig(server=server, token=token, username=username), self.config)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("cli-server")
    with live_server(test_settings(tmp / "home", f"sqlite:///{tmp}/h.db")) as url:
        yield url


@pytest.fixture(scope="module")
def admin_client(server_url: str) -> Iterator[HangarClient]:
    """The SDK logged in as admin, to arrange and check state around CLI calls."""
    with HangarClient(server_url) as client:
        client.login("admin", ADMIN_PASSWORD, "cli-tests-admin")
        yield client


@pytest.fixture
def cli(tmp_path: Path, server_url: str, admin_client: HangarClient) -> Cli:
    """A CLI with its own config file, logged in as admin (the module's shared token)."""
    runner = Cli(tmp_path / "cli" / "cli.toml")
    assert admin_client.token is not None
    runner.use(server_url, admin_client.token)
    return runner


@pytest.fixture
def fresh_cli(tmp_path: Path) -> Cli:
    """A CLI that has never logged in."""
    return Cli(tmp_path / "fresh" / "cli.toml")


def flat(text: str) -> str:
    """Usage errors come in a rich box that wraps lines: drop the box, join the words."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def eventually(check: Callable[[], T | None], timeout: float = 5.0) -> T:
    """Poll until ``check`` returns something truthy (audit records land after responses)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
