"""``hangar dataset cache``: a published annotated version pushed to the cache tier
(``dataset_cache_dir``), reported cached by the server and copied there; a draft is refused
naming the fix — through the real CLI against a live server that has a cache tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.client import HangarClient
from tests import support  # not `import test_settings`: pytest would collect it
from tests.cli.conftest import Cli, flat
from tests.cli.test_datasets import ROWS, jsonl


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nvme")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[str]:
    """This module's server has a cache tier (the shared one in conftest has none)."""
    tmp = tmp_path_factory.mktemp("cli-cache-server")
    settings = support.test_settings(
        tmp / "home", f"sqlite:///{tmp}/h.db", dataset_cache_dir=cache_dir
    )
    with support.live_server(settings) as url:
        yield url


def test_push_a_published_version_to_the_cache(
    cli: Cli, admin_client: HangarClient, tmp_path: Path, cache_dir: Path
) -> None:
    cli.ok("dataset", "create-annotated", "cli-cached", "--template", "sft")
    folder = tmp_path / "rows"
    folder.mkdir()
    (folder / "train.jsonl").write_text(jsonl(ROWS))
    cli.ok("dataset", "import", "cli-cached", str(folder))
    draft = cli.fails(1, "dataset", "cache", "cli-cached")
    assert "publish it" in flat(draft.stderr)
    assert not any(cache_dir.rglob("*.jsonl"))  # nothing copied for a draft

    cli.ok("dataset", "publish", "cli-cached")
    pushed = cli.ok("dataset", "cache", "cli-cached", "--version", "1.0").stdout
    assert "cli-cached 1.0 is in the cache" in pushed
    shown = cli.json("dataset", "show", "cli-cached")
    assert [(v["label"], v["cached"]) for v in shown["versions"]] == [("1.0", True)]
    dataset_id = shown["id"]
    version = admin_client.datasets.version(dataset_id, "1.0")  # the server's own report
    assert (version.status, version.cached) == ("published", True)
    copy = cache_dir / "datasets" / version.id / "data.jsonl"
    assert len(copy.read_text().splitlines()) == len(ROWS)
    again = cli.json("dataset", "cache", "cli-cached")  # the latest version; pushing twice is fine
    assert (again["label"], again["cached"]) == ("1.0", True)
