"""``--mount`` on ``hangar jobs create`` and ``hangar dev create``: assets by name, shown by
``show``; a bad spelling is refused before anything is submitted."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli, flat

SMALL = ("--cpu", "0.5", "--mem-gib", "0.25")


def test_jobs_and_dev_environments_mount_assets_by_name(cli: Cli, tmp_path: Path) -> None:
    cli.ok("dataset", "create", "cli-corpus")
    train = tmp_path / "train.py"
    train.write_text("print('hi')\n")
    cli.ok("code", "create", "cli-trainer", str(train), "--start-file", "train.py")
    job = cli.json("jobs", "create", "cli-mounted", "-c", "true", "--mode", "single", *SMALL,
                   "--mount", "dataset:cli-corpus", "-m", "code:cli-trainer")  # fmt: skip
    assert {m["path"] for m in job["mounts"]} == {"/work/mount/dataset/cli-corpus",
                                                  "/work/mount/code/cli-trainer"}  # fmt: skip
    shown = cli.ok("jobs", "show", job["id"]).stdout
    assert "/work/mount/code/cli-trainer" in shown
    env = cli.json("dev", "create", "cli-lab", *SMALL, "--mount", "dataset:cli-corpus")
    assert [(m["path"], m["read_only"]) for m in env["mounts"]] == [
        ("/work/mount/dataset/cli-corpus", False)]  # fmt: skip
    bad = cli.fails(2, "jobs", "create", "x", "-c", "true", *SMALL, "--mount", "disk:x")
    assert "dataset|model|code:NAME" in flat(bad.stderr)
    missing = cli.fails(1, "jobs", "create", "y", "-c", "true", *SMALL, "--mount", "model:nope")
    assert "nope" in flat(missing.stderr)
