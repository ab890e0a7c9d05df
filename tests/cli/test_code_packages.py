"""``hangar code``: create from several files (one multipart upload, streamed), list with
search, show, re-upload, download, delete — against a live server; ``save`` from a dev
environment's home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.client import HangarClient
from tests import support
from tests.cli.conftest import Cli, flat


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("code-cli-server")


@pytest.fixture(scope="module")
def server_url(server_home: Path) -> Iterator[str]:
    """The module's server, with a home this module knows (dev environment homes live there)."""
    home, db = server_home / "home", f"sqlite:///{server_home}/h.db"
    with support.live_server(support.test_settings(home, db)) as url:
        yield url


def test_code_packages_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    train = tmp_path / "train.py"
    train.write_text("print('hello')\n")
    archive = tmp_path / "data.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + b"\x07" * 2_500_000)  # several chunks
    made = cli.json("code", "create", "cli-code", str(train), str(archive), "-d", "from the CLI",
                    "--start-file", "train.py")  # fmt: skip
    assert (made["name"], made["files"], made["start_file"]) == ("cli-code", 2, "train.py")
    assert made["size"] == train.stat().st_size + archive.stat().st_size
    shown = cli.ok("code", "show", "cli-code").stdout
    assert "data.tar.gz" in shown and "import to platform storage" in shown
    assert "2.38 MiB" in shown
    listed = cli.ok("code", "list", "--search", "cli-c").stdout
    assert "cli-code" in listed and "train.py" in listed
    assert cli.json("code", "list", "--search", "nothing-like-it") == []
    out = tmp_path / "back.tar.gz"
    done = cli.ok("code", "download", "cli-code", "data.tar.gz", "-o", str(out))
    assert out.read_bytes() == archive.read_bytes() and "2,500,002 bytes" in done.stdout
    v2 = tmp_path / "main.py"
    v2.write_text("print('v2')\n")
    again = cli.ok("code", "upload", "cli-code", str(v2)).stdout
    assert "cli-code: 1 file(s)" in again
    after = cli.json("code", "show", "cli-code")
    assert [f["path"] for f in after["manifest"]] == ["main.py"] and after["start_file"] == ""
    six = [str(train)] * 6
    refused = cli.fails(2, "code", "upload", "cli-code", *six)
    assert "give 1 to 5" in flat(refused.stderr)
    dup = cli.fails(1, "code", "create", "cli-code", str(train))
    assert "already has a code package named 'cli-code'" in flat(dup.stderr)
    cli.ok("code", "delete", "cli-code", "--yes")
    missing = cli.fails(1, "code", "show", "cli-code")
    assert "cli-code" in flat(missing.stderr)


def test_save_from_a_dev_environment(
    cli: Cli, admin_client: HangarClient, server_home: Path
) -> None:
    ws = next(w for w in admin_client.workspaces.list() if w.is_default)
    env = admin_client.devenvs.create(
        workspace_id=ws.id, name="cli-nb", resources={"cpu_cores": 1, "mem_gib": 1}
    )
    # Nothing in its home yet: the server names the missing folder.
    gone = cli.fails(1, "code", "save", "cli-saved", "--from", env.id, "--path", "project")
    assert "project" in flat(gone.stderr)
    me = admin_client.whoami()
    project = server_home / "home" / "users" / me.id / "home" / "project"
    project.mkdir(parents=True)
    (project / "train.py").write_text("print('saved')\n")
    saved = cli.json("code", "save", "cli-saved", "--from", env.id, "--path", "project",
                     "--start-file", "train.py")  # fmt: skip
    assert (saved["source"], saved["source_ref"], saved["files"]) == ("ide", env.id, 1)
    assert "dev environment" in cli.ok("code", "list").stdout
    admin_client.devenvs.delete(env.id)


def test_a_package_on_tenant_storage_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "pfs"
    (root / "repo").mkdir(parents=True)
    (root / "repo" / "main.py").write_text("print(1)\n")
    cli.ok("storage", "add", "cli-code-pfs", str(root))
    made = cli.json("code", "link", "cli-repo", "--storage", "cli-code-pfs", "--path", "repo",
                    "--start-file", "main.py")  # fmt: skip
    assert (made["source"], made["storage"], made["path"]) == ("storage", "tenant", "repo")
    bad = cli.fails(1, "code", "link", "cli-bad", "--storage", "cli-code-pfs", "--path", "nope")
    assert "does not exist" in flat(bad.stderr)
