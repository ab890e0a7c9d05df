"""``hangar dataset`` and ``hangar storage``: an annotated dataset imported from a folder (a
bad row refuses the whole import, listed with exit code 1), annotated, published and exported
to a zip; a basic dataset on a registered storage — against a live server."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from hangar.client import HangarClient
from tests.assets.s3_server import KEY_ID, SECRET, s3_server
from tests.cli.conftest import Cli, flat

ROWS = [
    {"instruction": "Add", "input": "1+1", "output": "2"},
    {"instruction": "Greet", "input": "", "output": "hello"},
]


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def test_an_annotated_dataset_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    made = cli.json("dataset", "create-annotated", "cli-sft", "--template", "sft")
    assert (made["kind"], made["data_type"], made["versions"][0]["label"]) == (
        "annotated", "llm", "1.0",
    )  # fmt: skip
    bad = tmp_path / "bad"
    (bad / "part").mkdir(parents=True)
    (bad / "part" / "train.jsonl").write_text(jsonl([ROWS[0], {"instruction": "no output"}]))
    refused = cli.fails(1, "dataset", "import", "cli-sft", "--version", "1.0", str(bad))
    out = flat(refused.stdout)
    assert "part/train.jsonl" in out and "output" in out and " 2 " in out
    assert "import refused" in flat(refused.stderr)
    assert cli.json("dataset", "show", "cli-sft")["status"] == "import_failed"

    good = tmp_path / "good"
    good.mkdir()
    (good / "train.jsonl").write_text(jsonl(ROWS))
    (good / ".hidden").write_text("not sent")
    imported = cli.ok("dataset", "import", "cli-sft", str(good)).stdout
    assert "2 record(s) in the version" in imported
    records = cli.json("dataset", "records", "cli-sft")
    assert [r["data"]["output"] for r in records] == ["2", "hello"]
    cli.ok("dataset", "annotate", "cli-sft", records[0]["id"], "--annotation",
           '{"review": "ok"}', "--edits", '{"output": "two"}')  # fmt: skip
    wrong = cli.fails(1, "dataset", "annotate", "cli-sft", records[0]["id"], "--annotation",
                      '{"review": ["a", "b"]}')  # fmt: skip
    assert "one label per item" in flat(wrong.stderr)
    published = cli.ok("dataset", "publish", "cli-sft").stdout
    assert "published cli-sft 1.0: 2 record(s)" in published
    shown = cli.ok("dataset", "show", "cli-sft").stdout
    assert "published" in shown and "/work/mount/dataset/" in shown

    data = tmp_path / "data.jsonl"
    cli.ok("dataset", "download", "cli-sft", "data.jsonl", "-o", str(data))
    lines = [json.loads(x) for x in data.read_text().splitlines()]
    assert lines[0]["output"] == "two" and lines[0]["annotation"] == {"review": "ok"}
    archive = tmp_path / "export.zip"
    done = cli.ok("dataset", "export", "cli-sft", "--version", "1.0", "-o", str(archive))
    assert "wrote" in done.stdout
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as zf:
        assert zf.namelist() == ["data.jsonl"] and zf.read("data.jsonl") == data.read_bytes()

    v2 = cli.json("dataset", "version", "cli-sft", "2.0", "--from", "1.0")
    assert (v2["status"], v2["records"]) == ("draft", 2)
    copied = cli.json("dataset", "copy", "cli-sft", "cli-sft-copy")
    assert [v["label"] for v in copied["versions"]] == ["1.0", "2.0"]
    assert cli.json("dataset", "share", "cli-sft")["visibility"] == "workspace"
    assert cli.json("dataset", "unshare", "cli-sft")["visibility"] == "owner"
    listed = cli.ok("dataset", "list", "--kind", "annotated", "--search", "cli-sft").stdout
    assert "cli-sft-copy" in listed and "annotated (sft)" in listed
    cli.ok("dataset", "delete", "cli-sft", "--version", "2.0", "--yes")
    cli.ok("dataset", "delete", "cli-sft", "--yes")
    assert "cli-sft" in flat(cli.fails(1, "dataset", "show", "cli-sft").stderr)


def test_archives_links_and_usage_errors(cli: Cli, tmp_path: Path) -> None:
    cli.ok("dataset", "create-annotated", "cli-arch", "--template", "sft")
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/train.jsonl", jsonl(ROWS))
    done = cli.json("dataset", "import", "cli-arch", str(archive))
    assert done["records"] == 2 and done["report"]["method"] == "archive"
    big = tmp_path / "big.jsonl"  # over the 1 MiB body limit of ordinary requests
    big.write_text(jsonl([{**ROWS[0], "output": f"{i} " + "x" * 500} for i in range(3000)]))
    assert big.stat().st_size > 1_500_000
    more = cli.json("dataset", "import", "cli-arch", str(big))
    assert more["records"] == 3002
    both = cli.fails(2, "dataset", "import", "cli-arch")
    assert "--link" in flat(both.stderr)
    bad_link = cli.fails(1, "dataset", "import", "cli-arch", "--link", "ftp://example/x.zip")
    assert "http" in flat(bad_link.stderr)


def test_storages_and_a_basic_dataset(cli: Cli, admin_client: HangarClient, tmp_path: Path) -> None:
    root = tmp_path / "pfs"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.txt").write_text("keep me")
    made = cli.json("storage", "add", "cli-pfs", str(root))
    assert made["root"] == str(root.resolve())
    assert "cli-pfs" in cli.ok("storage", "list").stdout
    usage = cli.json("storage", "usage")
    assert usage["quota_bytes"] == 300 * 1024**3 and "Free" in cli.ok("storage", "usage").stdout
    assert "301 GiB" in cli.ok("storage", "quota", "default", "301").stdout
    assert cli.json("storage", "usage")["quota_bytes"] == 301 * 1024**3
    cli.ok("storage", "quota", "default", "300")
    assert "no tenant" in flat(cli.fails(2, "storage", "quota", "nope", "1").stderr)
    assert "ok: /images" in cli.ok("storage", "check", "cli-pfs", "images/").stdout
    missing = cli.fails(1, "storage", "check", "cli-pfs", "nope")
    assert "does not exist" in flat(missing.stderr)
    ds = cli.json("dataset", "create", "cli-imgs", "--storage", "cli-pfs", "--path", "images",
                  "--share")  # fmt: skip
    assert (ds["kind"], ds["path"], ds["visibility"]) == ("basic", "images", "workspace")
    files = cli.ok("dataset", "files", "cli-imgs").stdout
    assert "a.txt" in files
    in_use = cli.fails(1, "storage", "remove", "cli-pfs", "--yes")
    assert "cli-imgs" in flat(in_use.stderr)
    env = admin_client._t.request("POST", "/api/v1/devenvs", json={
        "workspace_id": ds["workspace_id"], "name": "cli-uses-imgs",
        "resources": {"cpu_cores": 1, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": ds["id"]}]}).json()  # fmt: skip
    admin_client.devenvs.start(env["id"])
    mounted = cli.fails(1, "dataset", "delete", "cli-imgs", "--yes")
    assert "cli-uses-imgs" in flat(mounted.stderr) and "--force" in flat(mounted.stderr)
    cli.ok("dataset", "delete", "cli-imgs", "--yes", "--force")
    admin_client.devenvs.delete(env["id"])
    assert (root / "images" / "a.txt").read_text() == "keep me"
    cli.ok("storage", "remove", "cli-pfs", "--yes")
    assert admin_client.storages.list() == []


def test_an_s3_storage_and_a_dataset_in_its_bucket(cli: Cli, tmp_path: Path) -> None:
    with s3_server("cli-bucket") as s3:
        s3.put("cli-bucket", {"corpus/a.txt": b"alpha"})
        secret_file = tmp_path / "secret"
        secret_file.write_text(SECRET + "\n")
        args = ("storage", "add", "cli-s3", "cli-bucket", "--kind", "s3", "--endpoint-url",
                s3.endpoint_url, "--access-key-id", KEY_ID)  # fmt: skip
        wrong = cli.fails(1, *args[:3], "no-such-bucket", *args[4:], input=SECRET + "\n")
        assert "does not exist" in flat(wrong.stderr)
        made = cli.json(*args, "--secret-file", str(secret_file))
        assert (made["kind"], made["root"], made["access_key_id"]) == ("s3", "cli-bucket", KEY_ID)
        assert SECRET not in cli.ok("--output", "json", "storage", "list").stdout
        assert "ok: /corpus" in cli.ok("storage", "check", "cli-s3", "corpus").stdout
        cli.json("dataset", "create", "cli-corpus", "--storage", "cli-s3", "--path", "corpus")
        assert "a.txt" in cli.ok("dataset", "files", "cli-corpus").stdout


def test_backup_and_accelerate_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    with s3_server("cli-backup") as s3:
        (tmp_path / "secret").write_text(SECRET)
        cli.json("storage", "add", "cli-s3b", "cli-backup", "--kind", "s3", "--endpoint-url",
                 s3.endpoint_url, "--access-key-id", KEY_ID, "--secret-file",
                 str(tmp_path / "secret"))  # fmt: skip
        s3.put("cli-backup", {"corpus/a.txt": b"alpha"})
        cli.json("dataset", "create", "cli-remote", "--storage", "cli-s3b", "--path", "corpus")
        staged = cli.ok("dataset", "accelerate", "cli-remote").stdout
        assert "1 files staged (1 fetched" in flat(staged)
        cli.json("dataset", "create", "cli-local")
        wrong = cli.fails(1, "dataset", "backup", "cli-local", "--storage", "cli-s3b",
                          "--path", "")  # fmt: skip
        assert "name the folder" in flat(wrong.stderr)
        done = cli.json("dataset", "backup", "cli-local", "--storage", "cli-s3b",
                        "--path", "backups/local")  # fmt: skip
        assert done["files"] == 0 and done["skipped"] == []
