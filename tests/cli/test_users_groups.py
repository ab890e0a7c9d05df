"""``hangar users`` and ``hangar groups`` against a live server."""

from __future__ import annotations

from hangar.client import HangarClient
from tests.cli.conftest import Cli, flat
from tests.support import USER_PASSWORD


def test_users_lifecycle(cli: Cli, server_url: str) -> None:
    created = cli.json(
        "users", "create", "carol", "--display-name", "Carol C", "--email", "c@example.org",
        "--password-stdin", input=USER_PASSWORD + "\n",
    )  # fmt: skip
    assert created["username"] == "carol" and created["display_name"] == "Carol C"
    assert "password" not in created

    listed = cli.json("users", "list", "--query", "car")
    assert [u["username"] for u in listed] == ["carol"]
    assert "carol" in cli.ok("users", "list").stdout

    by_name = cli.json("users", "show", "carol")
    assert cli.json("users", "show", created["id"]) == by_name

    updated = cli.json("users", "update", "carol", "--display-name", "Carol D")
    assert updated["display_name"] == "Carol D" and updated["email"] == "c@example.org"

    # A new password from stdin works for login.
    cli.ok("users", "update", "carol", "--password-stdin", input="brand-new-pass\n")
    with HangarClient(server_url) as client:
        client.login("carol", "brand-new-pass")

    assert cli.json("users", "disable", "carol")["disabled"] is True
    assert cli.json("users", "enable", "carol")["disabled"] is False

    cli.ok("users", "delete", "carol", "--yes")
    out = cli.fails(1, "users", "show", "carol")
    assert "error: user 'carol' not found" in out.stderr
    assert "hangar users list" in out.stderr


def test_user_create_prompts_twice_for_the_password(cli: Cli) -> None:
    result = cli.ok("users", "create", "dave", input=f"{USER_PASSWORD}\n{USER_PASSWORD}\n")
    assert "dave" in result.stdout
    assert USER_PASSWORD not in result.stdout


def test_user_create_rule_messages(cli: Cli) -> None:
    out = cli.fails(1, "users", "create", "Bad Name", "--password-stdin", input="long-enough\n")
    assert "error: username: must be 2-64 characters" in out.stderr
    out = cli.fails(1, "users", "create", "shortpw", "--password-stdin", input="short\n")
    assert "password: must be at least 8 characters" in out.stderr
    cli.ok("users", "create", "erin", "--password-stdin", input=USER_PASSWORD + "\n")
    out = cli.fails(1, "users", "create", "erin", "--password-stdin", input=USER_PASSWORD + "\n")
    assert "error: username 'erin' is already taken; choose another" in out.stderr
    assert "  username: already taken" in out.stderr


def test_disabled_user_is_refused_and_told_to_log_in(
    cli: Cli, fresh_cli: Cli, server_url: str
) -> None:
    cli.ok("users", "create", "frank", "--password-stdin", input=USER_PASSWORD + "\n")
    fresh_cli.ok(
        "login", "--server", server_url, "-u", "frank", "--password-stdin",
        input=USER_PASSWORD + "\n",
    )  # fmt: skip
    assert fresh_cli.json("whoami")["username"] == "frank"
    cli.ok("users", "disable", "frank")
    out = fresh_cli.fails(3, "whoami")
    assert "disabled" in out.stderr and "hangar login" in out.stderr


def test_update_without_changes_is_a_usage_error(cli: Cli) -> None:
    out = cli.fails(2, "users", "update", "admin")
    assert "nothing to change" in flat(out.stderr)


def test_user_limits_show_set_and_clear(cli: Cli) -> None:
    cli.ok("users", "create", "gina", "--password-stdin", input=USER_PASSWORD + "\n")
    shown = cli.json("users", "limits", "gina")
    assert shown["overrides"] == {"max_gpus": None, "max_cpus": None, "pfs_gib": None}

    changed = cli.json("users", "limits", "gina", "--max-gpus", "4", "--pfs-gib", "10")
    assert changed["overrides"]["max_gpus"] == 4 and changed["effective"]["max_gpus"] == 4
    assert changed["overrides"]["pfs_gib"] == 10

    cleared = cli.json("users", "limits", "gina", "--clear", "max-gpus")
    assert cleared["overrides"]["max_gpus"] is None
    assert cleared["overrides"]["pfs_gib"] == 10  # untouched
    assert cleared["effective"]["max_gpus"] == cleared["tenant_defaults"]["max_gpus"]

    assert "GPUs" in cli.ok("users", "limits", "gina").stdout
    out = cli.fails(2, "users", "limits", "gina", "--max-gpus", "1", "--clear", "max-gpus")
    assert "both set and cleared" in flat(out.stderr)
    out = cli.fails(1, "users", "limits", "gina", "--max-gpus", "99999999")
    assert "max_gpus" in out.stderr and "at most" in out.stderr


def test_groups_lifecycle(cli: Cli, admin_client: HangarClient) -> None:
    cli.ok("users", "create", "hank", "--password-stdin", input=USER_PASSWORD + "\n")
    cli.ok("users", "create", "iris", "--password-stdin", input=USER_PASSWORD + "\n")
    group = cli.json("groups", "create", "vision team", "-d", "CV people", "--second-level-admin")
    assert group["name"] == "vision team" and group["policy"] == "second_level_admin"
    assert "vision team" in [g["name"] for g in cli.json("groups", "list")]

    hank = admin_client.users.find("hank")
    iris = admin_client.users.find("iris")
    added = cli.json("groups", "add-member", "vision team", "hank", iris.id)
    assert sorted(added["member_ids"]) == sorted([hank.id, iris.id])

    cli.ok("groups", "remove-member", "vision team", "hank")
    assert admin_client.groups.find("vision team").member_ids == [iris.id]

    out = cli.fails(1, "groups", "create", "vision team")
    assert "error:" in out.stderr and "vision team" in out.stderr

    cli.ok("groups", "delete", "vision team", "--yes")
    out = cli.fails(1, "groups", "delete", "vision team", "--yes")
    assert "group 'vision team' not found" in out.stderr


def test_group_name_rule_and_delete_confirmation(cli: Cli) -> None:
    out = cli.fails(1, "groups", "create", "--", "-bad")
    assert "name:" in out.stderr and "starting with a letter" in out.stderr
    cli.ok("groups", "create", "keepme")
    declined = cli.fails(1, "groups", "delete", "keepme", input="n\n")
    assert "Aborted" in declined.output
    assert "keepme" in [g["name"] for g in cli.json("groups", "list")]
