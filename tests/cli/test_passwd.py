"""``hangar passwd``: self-service password change through the CLI and the SDK."""

from __future__ import annotations

import pytest

from hangar.client import HangarAPIError, HangarClient
from tests.cli.conftest import Cli
from tests.support import USER_PASSWORD


def test_passwd_changes_the_password(
    fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    admin_client.users.create(username="pw_cli_user", password=USER_PASSWORD)
    fresh_cli.ok(
        "login", "--server", server_url, "--username", "pw_cli_user", "--password-stdin",
        input=USER_PASSWORD + "\n",
    )  # fmt: skip
    out = fresh_cli.ok("passwd", "--password-stdin", input=f"{USER_PASSWORD}\nbrand-new-pass\n")
    assert "Password changed" in out.stdout

    with HangarClient(server_url) as client, pytest.raises(HangarAPIError) as err:
        client.login("pw_cli_user", USER_PASSWORD)
    assert err.value.status == 401
    with HangarClient(server_url) as client:
        assert client.login("pw_cli_user", "brand-new-pass").token


def test_passwd_wrong_current_password_names_the_field(
    fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    admin_client.users.create(username="pw_cli_wrong", password=USER_PASSWORD)
    fresh_cli.ok(
        "login", "--server", server_url, "--username", "pw_cli_wrong", "--password-stdin",
        input=USER_PASSWORD + "\n",
    )  # fmt: skip
    out = fresh_cli.fails(1, "passwd", "--password-stdin", input="not-my-password\nnew-pass-123\n")
    assert "current_password" in out.stderr
    assert "does not match your current password" in out.stderr
