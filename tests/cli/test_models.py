"""``hangar model``: create, upload (streamed, checksum-verified), show, download, share and
import by token, delete — against a live server."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from tests.assets.link_server import serving
from tests.cli.conftest import Cli, flat


def test_the_model_registry_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\x07" * 3_000_000)  # three chunks
    made = cli.json("model", "create", "cli-resnet", "-d", "from the CLI")
    assert made["name"] == "cli-resnet" and made["versions"] == []
    v1 = cli.json("model", "upload", "cli-resnet", str(weights))
    assert (v1["label"], v1["size"]) == ("V1", 3_000_000)
    shown = cli.ok("model", "show", "cli-resnet").stdout
    assert "V1" in shown and "upload" in shown and "2.9 MiB" in shown
    assert "cli-resnet" in cli.ok("model", "list").stdout
    out = tmp_path / "back.bin"
    done = cli.ok("model", "download", "cli-resnet", "1", "weights.bin", "-o", str(out))
    assert out.read_bytes() == weights.read_bytes() and "3,000,000 bytes" in done.stdout
    token = cli.json("model", "share", "cli-resnet", "1", "--validity", "7d")
    assert token["token"].startswith("hms_") and token["version"] == "V1"
    imported = cli.json("model", "import", token["token"], "--name", "cli-resnet-copy")
    assert imported["label"] == "V1" and imported["source"] == "token"
    refused = cli.fails(2, "model", "import", token["token"])
    assert "--name" in flat(refused.stderr)
    cli.ok("model", "revoke", token["id"])
    gone = cli.fails(1, "model", "import", token["token"], "--into", "cli-resnet")
    assert "was revoked" in flat(gone.stderr)
    dup = cli.fails(1, "model", "create", "cli-resnet")
    assert "already has a model named 'cli-resnet'" in flat(dup.stderr)
    cli.ok("model", "delete", "cli-resnet", "--version", "1", "--yes")
    assert cli.json("model", "show", "cli-resnet")["versions"] == []
    cli.ok("model", "delete", "cli-resnet", "--yes")
    missing = cli.fails(1, "model", "show", "cli-resnet")
    assert "cli-resnet" in flat(missing.stderr)


def test_export_link_import_and_aliases_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    payload = os.urandom(200_000)
    with zipfile.ZipFile(site / "m.zip", "w") as zf:
        zf.writestr("model/w.bin", payload)
    cli.ok("model", "create", "cli-linked")
    with serving(site) as url:
        made = cli.json("model", "import-link", "cli-linked", f"{url}/m.zip")
    assert made["label"] == "V1" and made["source"] == "link"
    out = tmp_path / "export.zip"
    cli.ok("model", "export", "cli-linked", "1", "-o", str(out))
    with zipfile.ZipFile(out) as zf:
        assert zf.read("model/w.bin") == payload
    listed = cli.ok("model", "alias", "cli-linked", "prod", "1").stdout
    assert "prod\tV1" in listed
    assert cli.ok("model", "alias", "cli-linked", "prod", "--remove").stdout == ""
    bad = cli.fails(1, "model", "alias", "cli-linked", "V2", "1")
    assert "alias" in flat(bad.stderr)


def test_a_version_on_tenant_storage_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "pfs" / "llama").mkdir(parents=True)
    (tmp_path / "pfs" / "llama" / "w.bin").write_bytes(b"w")
    cli.json("storage", "add", "cli-model-pfs", str(tmp_path / "pfs"))
    cli.json("model", "create", "cli-llama")
    missing = cli.fails(1, "model", "link", "cli-llama", "--storage", "cli-model-pfs",
                        "--path", "nope")  # fmt: skip
    assert "does not exist" in flat(missing.stderr)
    made = cli.ok("model", "link", "cli-llama", "--storage", "cli-model-pfs", "--path", "llama")
    assert "cli-llama V1 is cli-model-pfs:/llama" in flat(made.stdout)
    refused = cli.fails(1, "model", "share", "cli-llama", "1", "--validity", "1d")
    assert "cannot be shared" in flat(refused.stderr)
