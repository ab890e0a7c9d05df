"""Console: a file sent with a relative multipart filename (what a browser folder upload
sends, ``File.webkitRelativePath``) keeps its sub-folder in the package; a filename that
climbs out (``..``) is refused and keeps nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar
from tests.web.console import logged_in
from tests.web.test_console_code_packages import post_files


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def test_relative_filenames_keep_their_sub_folders(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    console.get("/code")
    ws = h.default_workspace()["id"]
    made = post_files(console, "/code", "create-code-form",
                      {"workspace_id": ws, "name": "nested", "start_file": "proj/src/train.py"},
                      {"proj/src/train.py": b"print(1)\n", "proj/README.md": b"# hi\n"})  # fmt: skip
    assert made.status_code == 204, made.text
    package_id = made.headers["HX-Redirect"].rsplit("/", 1)[-1]
    got = h.admin.call("GET", f"/api/v1/code-packages/{package_id}")
    assert sorted(f["path"] for f in got["manifest"]) == ["proj/README.md", "proj/src/train.py"]
    assert got["start_file"] == "proj/src/train.py"
    climbing = post_files(console, "/code", "create-code-form",
                          {"workspace_id": ws, "name": "climbing"},
                          {"../evil.py": b"1"})  # fmt: skip
    assert climbing.status_code == 422 and "not a usable file name" in climbing.text
