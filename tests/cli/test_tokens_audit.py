"""``hangar tokens`` and ``hangar audit`` against a live server."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hangar.client import AuditQuery, HangarClient
from tests.cli.conftest import Cli, eventually, flat


def test_tokens_create_list_revoke(cli: Cli, server_url: str) -> None:
    created = cli.json("tokens", "create", "ci-bot", "--scope", "*:read", "--expires-in-days", "7")
    secret = created["token"]
    assert secret.startswith("hgr_") and created["scopes"] == ["*:read"]
    with HangarClient(server_url, secret) as client:
        assert client.whoami().scopes == ["*:read"]

    mine = cli.json("tokens", "list")
    assert created["id"] in [t["id"] for t in mine]
    assert all("token" not in t for t in mine)  # secrets are never listed
    everyone = cli.json("tokens", "list", "--all")
    assert {t["id"] for t in mine} <= {t["id"] for t in everyone}
    assert "ci-bot" in cli.ok("tokens", "list", "--all").stdout

    revoked = cli.json("tokens", "revoke", "ci-bot")
    assert revoked["id"] == created["id"] and revoked["revoked_at"] is not None
    out = cli.fails(1, "tokens", "revoke", created["id"])
    assert "already revoked" in out.stderr


def test_token_create_table_prints_the_secret_once(cli: Cli) -> None:
    result = cli.ok("tokens", "create", "shown-once", "--no-expiry")
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("hgr_")
    assert "only now" in result.stderr
    assert "never" in result.stdout


def test_token_bad_scope_names_the_rule(cli: Cli) -> None:
    out = cli.fails(1, "tokens", "create", "bad", "--scope", "root")
    assert "scopes: 'root' is not a scope; use 'all'" in out.stderr
    out = cli.fails(2, "tokens", "create", "x", "--no-expiry", "--expires-in-days", "3")
    assert "not both" in flat(out.stderr)
    assert "token 'nope' not found" in cli.fails(1, "tokens", "revoke", "nope").stderr


def test_audit_list_filters_and_pagination(cli: Cli, admin_client: HangarClient) -> None:
    cli.ok("workspaces", "create", "audited")
    cli.fails(1, "workspaces", "create", "audited")
    eventually(lambda: admin_client.audit.list(AuditQuery(target="audited", result="failed")).total)

    page = cli.json("audit", "list", "--action", "workspace.create", "--target", "audited")
    assert page["total"] == 2 and page["limit"] == 50 and page["offset"] == 0
    assert {r["result"] for r in page["items"]} == {"success", "failed"}

    failed = cli.json(
        "audit", "list", "--target", "audited", "--result", "failed", "--user", "admin",
        "--since", "1h",
    )  # fmt: skip
    assert [r["status_code"] for r in failed["items"]] == [409]

    first = cli.json("audit", "list", "--limit", "1")
    second = cli.json("audit", "list", "--limit", "1", "--offset", "1")
    assert first["total"] >= 2 and first["items"][0]["id"] != second["items"][0]["id"]

    table = cli.ok("audit", "list", "--target", "audited").stdout
    assert "workspace.create" in table and "records 1-2 of 2" in table

    future = cli.json("audit", "list", "--since", "2999-01-01T00:00:00Z")
    assert future["items"] == [] and future["total"] == 0


def test_audit_time_and_choice_errors(cli: Cli) -> None:
    out = cli.fails(2, "audit", "list", "--since", "yesterday")
    assert "--since" in flat(out.stderr) and "ISO 8601" in flat(out.stderr)
    out = cli.fails(2, "audit", "list", "--since", "1h", "--until", "2h")
    assert "--since is after --until" in flat(out.stderr)
    assert cli.fails(2, "audit", "list", "--result", "maybe").exit_code == 2
    assert cli.fails(2, "audit", "list", "--limit", "501").exit_code == 2


def test_audit_export_to_file_and_stdout(
    cli: Cli, tmp_path: Path, admin_client: HangarClient
) -> None:
    cli.ok("workspaces", "create", "exported")
    eventually(lambda: admin_client.audit.list(AuditQuery(target="exported")).total)

    target = tmp_path / "audit.csv"
    result = cli.ok("audit", "export", "--output-file", str(target), "--target", "exported")
    assert str(target) in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["action"] for r in rows] == ["workspace.create"]
    assert rows[0]["target_name"] == "exported"

    piped = cli.ok("audit", "export", "-f", "-", "--action", "workspace.create")
    assert piped.stdout.startswith("at,username,")
    assert "exported" in piped.stdout

    out = cli.fails(2, "audit", "export", "-f", str(tmp_path / "missing" / "a.csv"))
    assert "does not exist" in flat(out.stderr)
