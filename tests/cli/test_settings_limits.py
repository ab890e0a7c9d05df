"""``hangar settings limits``: the tenant's default per-user limits, against a live server."""

from __future__ import annotations

from hangar.client import HangarClient
from tests.cli.conftest import Cli, flat
from tests.support import USER_PASSWORD


def test_defaults_are_shown_and_set(cli: Cli, admin_client: HangarClient) -> None:
    stock = cli.json("settings", "limits")
    assert stock == {"max_gpus": 10_000, "max_cpus": 10_000, "pfs_gib": 512}
    shown = cli.ok("settings", "limits").stdout
    assert "TENANT DEFAULT" in shown and "GPUs" in shown and "512" in shown

    changed = cli.json("settings", "limits", "--max-gpus", "8", "--pfs-gib", "100")
    assert changed == {"max_gpus": 8, "max_cpus": 10_000, "pfs_gib": 100}
    assert admin_client.settings.get_limits().model_dump() == changed
    changed = cli.json("settings", "limits", "--max-cpus", "64")
    assert changed == {"max_gpus": 8, "max_cpus": 64, "pfs_gib": 100}

    # Users without an override get the new defaults.
    cli.ok("users", "create", "lena", "--password-stdin", input=USER_PASSWORD + "\n")
    assert cli.json("users", "limits", "lena")["effective"] == changed


def test_bad_defaults_are_refused_and_nothing_changes(cli: Cli) -> None:
    before = cli.json("settings", "limits")
    negative = cli.fails(2, "settings", "limits", "--max-gpus", "-1")
    assert "Invalid value for '--max-gpus': Input should be greater than or equal to 0" in flat(
        negative.stderr
    )
    over_cap = cli.fails(1, "settings", "limits", "--max-cpus", "99999999")
    assert "error: max_cpus: CPU cores in use at once may be at most 10000" in over_cap.stderr
    assert over_cap.stdout == ""
    assert cli.json("settings", "limits") == before


def test_plain_users_and_strangers_are_told_why(
    fresh_cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    out = fresh_cli.fails(3, "settings", "limits")
    assert "not logged in" in out.stderr and "hangar login" in out.stderr

    admin_client.users.create(username="mona", password=USER_PASSWORD)
    with HangarClient(server_url) as mona:
        token = mona.login("mona", USER_PASSWORD, "cli-tests-mona").token
    fresh_cli.use(server_url, token, "mona")
    denied = fresh_cli.fails(1, "settings", "limits", "--max-gpus", "1")
    assert "error: 'Edit per-user limits and tenant settings' needs one of the tenant roles" in (
        denied.stderr
    )
