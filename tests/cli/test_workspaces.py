"""``hangar workspaces`` and ``hangar members`` against a live server."""

from __future__ import annotations

import httpx

from hangar.client import HangarClient
from tests.cli.conftest import Cli, flat
from tests.support import USER_PASSWORD


def test_workspaces_lifecycle(cli: Cli) -> None:
    ws = cli.json("workspaces", "create", "vision", "-d", "CV team", "--tag", "team=cv")
    assert ws["name"] == "vision" and ws["tags"] == {"team": "cv"}
    assert ws["my_roles"] == ["admin"]

    names = [w["name"] for w in cli.json("workspaces", "list")]
    assert "default" in names and "vision" in names
    table = cli.ok("workspaces", "list").stdout
    assert "vision" in table and "team=cv" in table

    assert cli.json("workspaces", "show", "vision")["id"] == ws["id"]
    assert cli.json("workspaces", "show", ws["id"])["name"] == "vision"

    renamed = cli.json(
        "workspaces", "update", "vision", "--name", "vision2", "-d", "new", "--tag", "a=1"
    )
    assert renamed["name"] == "vision2" and renamed["description"] == "new"
    assert renamed["tags"] == {"a": "1"}
    assert cli.json("workspaces", "update", "vision2", "--clear-tags")["tags"] == {}

    cli.ok("workspaces", "delete", "vision2", "--yes")
    assert "vision2" not in [w["name"] for w in cli.json("workspaces", "list")]


def test_duplicate_workspace_shows_the_409_message(cli: Cli) -> None:
    cli.ok("workspaces", "create", "dupe")
    out = cli.fails(1, "workspaces", "create", "dupe")
    assert "error: a workspace named 'dupe' already exists" in out.stderr
    assert "  name: already exists" in out.stderr
    assert out.stdout == ""


def test_invalid_workspace_name_names_the_field_and_the_rule(cli: Cli) -> None:
    out = cli.fails(1, "workspaces", "create", "1st")
    assert "error: name: must start with a letter (A-Z or a-z)" in out.stderr
    out = cli.fails(1, "workspaces", "create", "has-dash")
    assert "name: may contain only letters, digits, Chinese characters and '_'" in out.stderr
    assert "'-'" in out.stderr
    out = cli.fails(1, "workspaces", "create", "a" * 26)
    assert "name: must be at most 25 characters (got 26)" in out.stderr
    out = cli.fails(1, "--output", "json", "workspaces", "create", "1st")
    assert out.stdout == ""  # errors never pollute machine-readable stdout


def test_unknown_workspace_is_reported_with_a_hint(cli: Cli) -> None:
    out = cli.fails(1, "workspaces", "show", "nosuchws")
    assert "error: workspace 'nosuchws' not found" in out.stderr
    assert "hint: `hangar workspaces list`" in out.stderr
    assert cli.fails(1, "members", "list", "-w", "nosuchws").stderr.startswith("error:")


def test_default_workspace_cannot_be_deleted(cli: Cli) -> None:
    out = cli.fails(1, "workspaces", "delete", "default", "--yes")
    assert "error: the default workspace cannot be deleted" in out.stderr


def test_bad_tag_and_empty_update_are_usage_errors(cli: Cli) -> None:
    out = cli.fails(2, "workspaces", "create", "tagged", "--tag", "novalue")
    assert "KEY=VALUE" in flat(out.stderr)
    assert "nothing to change" in flat(cli.fails(2, "workspaces", "update", "default").stderr)


def test_members_lifecycle(cli: Cli, admin_client: HangarClient) -> None:
    cli.ok("workspaces", "create", "nlp")
    cli.ok("users", "create", "jane", "--password-stdin", input=USER_PASSWORD + "\n")

    added = cli.json("members", "add", "jane", "-w", "nlp", "--role", "developer")
    assert added["username"] == "jane" and added["roles"] == ["developer"]

    members = cli.json("members", "list", "--workspace", "nlp")
    by_name = {m["username"]: m for m in members}
    assert by_name["jane"]["implicit"] is False
    assert by_name["admin"]["implicit"] is True  # tenant admins are admins everywhere
    assert "jane" in cli.ok("members", "list", "-w", "nlp").stdout

    changed = cli.json("members", "set-roles", "jane", "-w", "nlp", "-r", "operator", "-r", "admin")
    assert sorted(changed["roles"]) == ["admin", "operator"]

    out = cli.fails(1, "members", "add", "jane", "-w", "nlp", "-r", "developer")
    assert "already a member of workspace 'nlp'" in out.stderr

    cli.ok("members", "remove", "jane", "-w", "nlp")
    ws = admin_client.workspaces.find("nlp")
    assert "jane" not in [m.username for m in admin_client.workspaces.list_members(ws.id)]

    out = cli.fails(1, "members", "remove", "admin", "-w", "nlp")
    assert "tenant admin" in out.stderr

    out = cli.fails(2, "members", "add", "jane", "-w", "nlp", "-r", "owner")
    assert "owner" in flat(out.stderr)


def test_member_of_a_workspace_sees_only_it(cli: Cli, fresh_cli: Cli, server_url: str) -> None:
    cli.ok("workspaces", "create", "secret_ws")
    cli.ok("workspaces", "create", "shared_ws")
    cli.ok("users", "create", "kate", "--password-stdin", input=USER_PASSWORD + "\n")
    cli.ok("members", "add", "kate", "-w", "shared_ws", "-r", "developer")
    fresh_cli.ok(
        "login", "--server", server_url, "-u", "kate", "--password-stdin",
        input=USER_PASSWORD + "\n",
    )  # fmt: skip
    names = [w["name"] for w in fresh_cli.json("workspaces", "list")]
    assert names == ["shared_ws"]
    assert "not found" in fresh_cli.fails(1, "workspaces", "show", "secret_ws").stderr
    out = fresh_cli.fails(1, "workspaces", "delete", "shared_ws", "--yes")
    assert out.stderr.startswith("error:")


def test_json_output_is_exactly_the_api_json(
    cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    cli.ok("workspaces", "create", "raw_json")
    assert admin_client.token is not None
    raw = httpx.get(
        f"{server_url}/api/v1/workspaces",
        headers={"Authorization": f"Bearer {admin_client.token}"},
    )
    assert cli.json("workspaces", "list") == raw.json()
    # A 204 has no body: JSON mode keeps stdout empty and says what happened on stderr.
    deleted = cli.ok("--output", "json", "workspaces", "delete", "raw_json", "--yes")
    assert deleted.stdout == "" and "Deleted workspace 'raw_json'" in deleted.stderr
