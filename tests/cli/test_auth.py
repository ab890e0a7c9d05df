"""``hangar login / whoami / logout``, the config file, env overrides and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hangar import __version__
from hangar.client import HangarAPIError, HangarClient
from tests.cli.conftest import Cli, flat
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, free_port, refusing_port


def login(cli: Cli, server_url: str, username: str = "admin", password: str = ADMIN_PASSWORD):
    return cli.ok(
        "login", "--server", server_url, "--username", username, "--password-stdin",
        input=password + "\n",
    )  # fmt: skip


def test_login_whoami_logout_round_trip(fresh_cli: Cli, server_url: str) -> None:
    result = login(fresh_cli, server_url)
    assert f"Logged in to {server_url} as admin" in result.stdout

    me = fresh_cli.json("whoami")
    assert me["username"] == "admin"
    assert me["via"] == "token"
    assert "owner" in me["tenant_roles"]
    saved = tomllib.loads(fresh_cli.config.read_text())
    token = saved["token"]

    fresh_cli.ok("logout")
    saved = tomllib.loads(fresh_cli.config.read_text())
    assert "token" not in saved and saved["server"] == server_url

    # Revoked on the server, not only forgotten here.
    with HangarClient(server_url, token) as client, pytest.raises(HangarAPIError) as err:
        client.whoami()
    assert err.value.status == 401 and "revoked" in err.value.message

    out = fresh_cli.fails(3, "whoami")
    assert f"error: not logged in to {server_url}" in out.stderr
    assert "hangar login" in out.stderr


def test_whoami_after_server_side_revocation_exits_3_with_hint(
    fresh_cli: Cli, server_url: str
) -> None:
    login(fresh_cli, server_url)
    token = tomllib.loads(fresh_cli.config.read_text())["token"]
    with HangarClient(server_url, token) as client:
        client.logout()
    out = fresh_cli.fails(3, "whoami")
    assert "error: API token" in out.stderr and "was revoked" in out.stderr
    assert f"hint: run `hangar login --server {server_url}`" in out.stderr
    assert out.stdout == ""


def test_config_file_is_private_and_holds_no_password(fresh_cli: Cli, server_url: str) -> None:
    login(fresh_cli, server_url)
    path = fresh_cli.config
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert ADMIN_PASSWORD not in text
    assert set(tomllib.loads(text)) == {"server", "token", "token_id", "username"}
    # Written atomically: no temporary files are left beside it.
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_login_prompts_for_username_and_hidden_password(fresh_cli: Cli, server_url: str) -> None:
    result = fresh_cli.ok("login", "--server", server_url, input=f"admin\n{ADMIN_PASSWORD}\n")
    assert ADMIN_PASSWORD not in result.output  # the prompt does not echo it
    assert fresh_cli.json("whoami")["username"] == "admin"


def test_relogin_revokes_the_previous_cli_token(fresh_cli: Cli, server_url: str) -> None:
    login(fresh_cli, server_url)
    first = tomllib.loads(fresh_cli.config.read_text())["token"]
    login(fresh_cli, server_url)
    second = tomllib.loads(fresh_cli.config.read_text())["token"]
    assert first != second
    with HangarClient(server_url, first) as client, pytest.raises(HangarAPIError) as err:
        client.whoami()
    assert err.value.status == 401


def test_login_json_prints_token_metadata_without_secret(fresh_cli: Cli, server_url: str) -> None:
    info = fresh_cli.json(
        "login", "--server", server_url, "-u", "admin", "--password-stdin",
        "--token-name", "laptop", input=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert info["name"] == "laptop" and info["scopes"] == ["all"]
    assert "token" not in info
    assert info["id"] == tomllib.loads(fresh_cli.config.read_text())["token_id"]


def test_wrong_password_exits_3_and_stores_nothing(
    fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    admin_client.users.create(username="wrongpw", password=USER_PASSWORD)
    out = fresh_cli.fails(
        3, "login", "--server", server_url, "-u", "wrongpw", "--password-stdin",
        input="not-the-password\n",
    )  # fmt: skip
    assert "error: wrong username or password" in out.stderr
    assert "hint" not in out.stderr  # no "run hangar login" while running it
    assert not fresh_cli.config.exists()


def test_empty_password_stdin_is_a_usage_error(fresh_cli: Cli, server_url: str) -> None:
    out = fresh_cli.fails(2, "login", "--server", server_url, "-u", "admin", "--password-stdin")
    assert "--password-stdin" in flat(out.stderr) and "stdin was empty" in flat(out.stderr)


def test_bad_server_url_is_a_usage_error(fresh_cli: Cli) -> None:
    out = fresh_cli.fails(2, "login", "--server", "ftp://example.org", "-u", "a", input="x\n")
    assert "--server" in flat(out.stderr) and "http://" in flat(out.stderr)


def test_unreachable_server_names_the_url(fresh_cli: Cli) -> None:
    with refusing_port() as port:
        unreachable_server_names_the_url(fresh_cli, f"http://127.0.0.1:{port}")


def unreachable_server_names_the_url(fresh_cli: Cli, url: str) -> None:
    out = fresh_cli.fails(1, "whoami", HANGAR_SERVER=url, HANGAR_TOKEN="hgr_x_y")
    assert f"error: the Hangar server at {url} cannot be reached" in out.stderr
    assert "HANGAR_SERVER" in out.stderr  # where the URL came from
    out = fresh_cli.fails(
        1, "login", "--server", url, "-u", "admin", "--password-stdin", input="pw\n"
    )
    assert f"the Hangar server at {url} cannot be reached" in out.stderr


def test_env_token_and_server_override_the_file(
    fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    token = admin_client.tokens.create(name="env-token").token
    assert fresh_cli.json("whoami", HANGAR_SERVER=server_url, HANGAR_TOKEN=token)["via"] == "token"
    out = fresh_cli.fails(3, "whoami", HANGAR_SERVER=server_url, HANGAR_TOKEN="hgr_bad_token")
    assert "error: invalid API token" in out.stderr
    assert "HANGAR_TOKEN is set" in out.stderr


def test_saved_token_is_never_sent_to_another_server(fresh_cli: Cli, server_url: str) -> None:
    login(fresh_cli, server_url)
    other = f"http://127.0.0.1:{free_port()}"
    out = fresh_cli.fails(3, "whoami", HANGAR_SERVER=other)
    assert f"not logged in to {other}" in out.stderr
    assert f"the saved token is for {server_url}" in out.stderr


def test_logout_when_logged_out_is_a_no_op(fresh_cli: Cli) -> None:
    out = fresh_cli.ok("logout")
    assert "nothing to do" in out.stderr


def test_logout_local_forgets_without_revoking(fresh_cli: Cli, server_url: str) -> None:
    login(fresh_cli, server_url)
    token = tomllib.loads(fresh_cli.config.read_text())["token"]
    fresh_cli.ok("logout", "--local")
    assert "token" not in tomllib.loads(fresh_cli.config.read_text())
    with HangarClient(server_url, token) as client:
        assert client.whoami().username == "admin"
        client.logout()


def test_broken_config_file_names_the_file_and_the_fix(fresh_cli: Cli) -> None:
    fresh_cli.config.parent.mkdir(parents=True)
    fresh_cli.config.write_text("server = [\n")
    out = fresh_cli.fails(1, "whoami")
    assert str(fresh_cli.config) in out.stderr and "not valid TOML" in out.stderr
    assert "hangar login" in out.stderr


def test_table_output_and_global_json_flag(cli: Cli, server_url: str) -> None:
    table = cli.ok("whoami").stdout
    assert "admin" in table and server_url in table
    assert json.loads(cli.ok("-o", "json", "whoami").stdout)["username"] == "admin"
    assert json.loads(cli.ok("whoami", HANGAR_OUTPUT="json").stdout)["username"] == "admin"


def test_version_and_server_command_still_there(fresh_cli: Cli) -> None:
    assert fresh_cli.ok("--version").stdout.strip() == f"hangar {__version__}"
    help_text = fresh_cli.ok("server", "--help").stdout
    assert "--port" in help_text and "--home" in help_text


def hangar_executable() -> str:
    beside = Path(sys.executable).parent / "hangar"
    found = str(beside) if beside.exists() else shutil.which("hangar")
    assert found, "the `hangar` entry point is not installed (pip install -e .)"
    return found


def test_installed_executable_login_and_whoami_json(tmp_path: Path, server_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HANGAR_SERVER", "HANGAR_TOKEN")}
    env["HANGAR_CLI_CONFIG"] = str(tmp_path / "cli.toml")
    exe = hangar_executable()
    login_run = subprocess.run(
        [exe, "login", "--server", server_url, "--username", "admin", "--password-stdin"],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert login_run.returncode == 0, login_run.stderr
    whoami = subprocess.run(
        [exe, "whoami", "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert whoami.returncode == 0, whoami.stderr
    me = json.loads(whoami.stdout)
    assert me["username"] == "admin" and me["is_platform_admin"] is True
    # The same config file serves the in-process CLI: logout there, then exit 3.
    cli = Cli(tmp_path / "cli.toml")
    cli.ok("logout")
    assert "hangar login" in cli.fails(3, "whoami").stderr
