"""Console: the Code pages — list with search by name, the create form uploading several files
(a multipart form larger than the 1 MiB body limit of ordinary forms), the package's page with
download links, re-upload, refusals shown in the form, and delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar
from tests.web.console import Console, logged_in
from tests.web.test_console_pages import assert_no_inline_code


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def post_files(
    console: Console, path: str, form: str, data: dict[str, str], files: dict[str, bytes]
) -> httpx.Response:
    headers = {"HX-Request": "true", "X-CSRF-Token": console.csrf, "HX-Trigger": form}
    return console.client.post(
        path, data=data, files=[("files", (k, v)) for k, v in files.items()], headers=headers,
        follow_redirects=False,
    )  # fmt: skip


def test_create_search_reupload_download_and_delete_from_the_console(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    page = console.get("/code")
    assert page.status_code == 200 and 'id="create-code-form"' in page.text
    assert 'href="/code"' in page.text  # the nav entry
    assert "No code packages yet" in page.text
    assert_no_inline_code(page.text, "/code")
    ws = h.default_workspace()["id"]
    archive = b"\x05" * 1_500_000  # over the 1 MiB body limit of ordinary forms
    made = post_files(console, "/code", "create-code-form",
                      {"workspace_id": ws, "name": "yolo-train", "start_file": "train.py"},
                      {"train.py": b"print(1)\n", "data.zip": archive})  # fmt: skip
    assert made.status_code == 204, made.text
    url = made.headers["HX-Redirect"]
    listed = console.get("/code?q=yolo").text
    assert "yolo-train" in listed and "Import to platform storage" in listed
    assert "No code packages match this search" in console.get("/code?q=bert").text
    six = {f"f{i}.py": b"1" for i in range(6)}
    refused = post_files(console, "/code", "create-code-form",
                         {"workspace_id": ws, "name": "six"}, six)  # fmt: skip
    assert refused.status_code == 422
    assert refused.headers["HX-Retarget"] == "#create-code-form-errors"
    assert "at most 5 files" in refused.text
    detail = console.get(url).text
    package_id = url.rsplit("/", 1)[-1]
    assert f'href="/api/v1/code-packages/{package_id}/files/data.zip"' in detail
    assert 'id="upload-code-form"' in detail and '<code id="start-file">train.py</code>' in detail
    got = console.client.get(f"/api/v1/code-packages/{package_id}/files/data.zip")
    assert got.content == archive
    again = post_files(console, f"{url}/upload", "upload-code-form", {"start_file": "main.py"},
                       {"main.py": b"print(2)\n"})  # fmt: skip
    assert again.status_code == 200, again.text
    assert "Uploaded 1 file(s)" in again.text and "main.py" in again.text
    assert "data.zip" not in again.text
    gone = console.htmx("DELETE", url)
    assert gone.status_code == 200 and gone.headers["HX-Redirect"] == f"/code?workspace_id={ws}"
    assert console.get(url).status_code == 404
