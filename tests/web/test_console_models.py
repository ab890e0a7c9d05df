"""Console: the Models pages — create, list with search, upload a version through the form
(a multipart file larger than the 1 MiB body limit), download, and the share dialog."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.assets.link_server import serving
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar
from tests.web.console import logged_in
from tests.web.test_console_pages import assert_no_inline_code


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def test_create_upload_download_and_share_from_the_console(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    page = console.get("/models")
    assert page.status_code == 200 and 'id="create-model-form"' in page.text
    assert_no_inline_code(page.text, "/models")
    ws = h.default_workspace()["id"]
    made = console.htmx("POST", "/models", {"workspace_id": ws, "name": "vit-small"},
                        form="create-model-form")  # fmt: skip
    assert made.status_code == 204
    model_url = made.headers["HX-Redirect"]
    bad = console.htmx("POST", "/models", {"workspace_id": ws, "name": "vit-small"},
                       form="create-model-form")  # fmt: skip
    assert bad.status_code == 409 and bad.headers["HX-Retarget"] == "#create-model-form-errors"
    listed = console.get("/models?q=vit").text
    assert "vit-small" in listed and "No models" not in console.get("/models").text
    assert "No models match" in console.get("/models?q=bert").text
    weights = b"\x05" * 1_500_000  # over the 1 MiB body limit of ordinary forms
    headers = {
        "HX-Request": "true",
        "X-CSRF-Token": console.csrf,
        "HX-Trigger": "upload-model-form",
    }
    uploaded = console.client.post(
        f"{model_url}/upload", files={"file": ("vit.safetensors", weights)},
        data={"description": "first"}, headers=headers,
    )  # fmt: skip
    assert uploaded.status_code == 200, uploaded.text
    assert "Uploaded 1 file(s) as V1." in uploaded.text and "vit.safetensors" in uploaded.text
    model_id = model_url.rsplit("/", 1)[-1]
    got = console.client.get(f"/api/v1/models/{model_id}/versions/1/files/vit.safetensors")
    assert got.content == weights
    detail = console.get(model_url).text
    assert "V1" in detail and 'id="upload-model-form"' in detail
    shared = console.htmx("POST", f"{model_url}/versions/1/share", {"validity": "7d"})
    assert shared.status_code == 200 and '<code id="share-token">hms_' in shared.text


def test_link_import_aliases_export_and_free_storage_on_the_model_page(
    h: Hangar, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "m.zip", "w") as zf:
        zf.writestr("weights.bin", os.urandom(4096))
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    ws = h.default_workspace()["id"]
    model = h.admin.call("POST", "/api/v1/models", 201, json={"workspace_id": ws, "name": "m"})
    page = console.get(f"/models/{model['id']}").text
    assert 'id="link-model-form"' in page and "Free platform storage left: 300.00 GiB" in page
    with serving(site) as url:
        made = console.htmx("POST", f"/models/{model['id']}/from-link",
                            {"url": f"{url}/m.zip"}, form="link-model-form")  # fmt: skip
    assert made.status_code == 200 and "Imported 1 file(s) as V1" in made.text
    assert f"/api/v1/models/{model['id']}/versions/1/export" in made.text
    aliased = console.htmx("POST", f"/models/{model['id']}/aliases",
                           {"alias": "prod", "version": "1"}, form="alias-model-form")  # fmt: skip
    assert (
        "prod now points at V1" in aliased.text
        and '<span class="badge">prod</span>' in aliased.text
    )
    bad = console.htmx("POST", f"/models/{model['id']}/aliases",
                       {"alias": "V9", "version": "1"}, form="alias-model-form")  # fmt: skip
    assert bad.status_code == 422
    exported = console.client.get(f"/api/v1/models/{model['id']}/versions/1/export")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        assert zf.namelist() == ["weights.bin"]


def test_a_version_on_tenant_storage_from_the_model_page(h: Hangar, tmp_path: Path) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    (tmp_path / "pfs" / "llama").mkdir(parents=True)
    pfs = h.admin.call("POST", "/api/v1/storages", 201, json={
        "cluster_id": h.admin.call("GET", "/api/v1/clusters")[0]["id"], "name": "pfs",
        "kind": "filesystem", "root": str(tmp_path / "pfs")})  # fmt: skip
    model = h.admin.call("POST", "/api/v1/models", 201,
                         json={"workspace_id": h.default_workspace()["id"], "name": "llama"})  # fmt: skip
    page = console.get(f"/models/{model['id']}").text
    assert 'id="storage-model-form"' in page and "pfs (filesystem)" in page
    bad = console.htmx("POST", f"/models/{model['id']}/from-storage",
                       {"storage_id": pfs["id"], "path": "nope"}, form="storage-model-form")  # fmt: skip
    assert bad.status_code == 422 and "does not exist" in bad.text
    made = console.htmx("POST", f"/models/{model['id']}/from-storage",
                        {"storage_id": pfs["id"], "path": "llama"}, form="storage-model-form")  # fmt: skip
    assert made.status_code == 200 and "V1 is /llama on storage pfs." in made.text
    assert "not shared or exported" in made.text and "Export .zip" not in made.text
