"""Console: the Datasets pages — list with search and filters, the create forms (basic on a
registered storage, annotated with a template), a dataset's page (file browser; import form with
the import report, publish, export, new version, delete), the annotation page (saving through
the console's PATCH route, per template kind), ``/storages``, and what another developer gets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.assets.s3_server import KEY_ID, SECRET, s3_server
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in
from tests.web.test_console_pages import assert_no_inline_code

DATASETS = "/api/v1/datasets"
SFT_ROWS = [
    {"instruction": "Add", "input": "1+1", "output": "2"},
    {"instruction": "Greet", "input": "", "output": "hello"},
]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def create_annotated(console: Console, h: Hangar, name: str, data_type: str, template: str) -> str:
    made = console.htmx("POST", "/datasets/annotated", {
        "workspace_id": h.default_workspace()["id"], "name": name, "data_type": data_type,
        "template": template, "version": "1.0"}, form="create-annotated-form")  # fmt: skip
    assert made.status_code == 204, made.text
    return str(made.headers["HX-Redirect"]).rsplit("/", 1)[-1]


def upload(
    console: Console, dataset_id: str, files: dict[str, bytes], method: str = "folder"
) -> Any:
    headers = {"HX-Request": "true", "X-CSRF-Token": console.csrf,
               "HX-Trigger": "import-dataset-form"}  # fmt: skip
    return console.client.post(
        f"/datasets/{dataset_id}/versions/1.0/import", data={"method": method},
        files=[("files", (n, d)) for n, d in files.items()], headers=headers,
    )  # fmt: skip


def record_ids(page: str) -> list[str]:
    return re.findall(r'<form id="record-([0-9a-f]+)-form"', page)


def test_annotated_dataset_import_annotate_publish_in_the_console(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    page = console.get("/datasets")
    assert page.status_code == 200
    assert 'id="create-dataset-form"' in page.text and 'id="create-annotated-form"' in page.text
    assert_no_inline_code(page.text, "/datasets")
    wrong = console.htmx("POST", "/datasets/annotated", {
        "workspace_id": h.default_workspace()["id"], "name": "x", "data_type": "image",
        "template": "sft"}, form="create-annotated-form")  # fmt: skip
    assert wrong.status_code == 422
    assert wrong.headers["HX-Retarget"] == "#create-annotated-form-errors"
    ds = create_annotated(console, h, "console-sft", "llm", "sft")
    detail = console.get(f"/datasets/{ds}")
    assert detail.status_code == 200 and 'id="import-dataset-form"' in detail.text
    assert 'data-progress="import-progress"' in detail.text
    assert '<script src="/static/dataset-upload.js" defer></script>' in detail.text
    assert_no_inline_code(detail.text, "/datasets/{id}")
    assert console.client.get("/static/dataset-upload.js").status_code == 200

    bad = upload(console, ds, {"b.jsonl": jsonl([SFT_ROWS[0], {"instruction": "no output"}])})
    assert bad.status_code == 200, bad.text
    assert "Import refused: 1 row error(s)" in bad.text and 'id="import-errors"' in bad.text
    assert '<td>b.jsonl</td><td class="num">2</td><td><code>output</code></td>' in bad.text
    assert "import_failed" in console.get(f"/datasets/{ds}").text
    good = upload(console, ds, {"train.jsonl": jsonl(SFT_ROWS)})
    assert "Imported 2 record(s) into 1.0." in good.text

    annotate = console.get(f"/datasets/{ds}/versions/1.0/annotate")
    assert annotate.status_code == 200
    assert_no_inline_code(annotate.text, "annotate")
    first, second = record_ids(annotate.text)
    assert 'name="edit.output"' in annotate.text and 'name="review"' in annotate.text
    url = f"/datasets/{ds}/versions/1.0/records/{first}"
    saved = console.htmx("PATCH", url, {"edit.instruction": "Add", "edit.input": "1+1",
                                        "edit.output": "two", "review": "pass"},
                         form=f"record-{first}-form")  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert "Saved record 1." in saved.text and f'id="record-{first}"' in saved.text
    got = h.admin.call("GET", f"{DATASETS}/{ds}/versions/1.0/records")
    assert got[0]["data"]["output"] == "two" and got[0]["annotation"] == {"review": "pass"}
    too_long = console.htmx("PATCH", url, {"review": "x" * 65}, form=f"record-{first}-form")
    assert too_long.status_code == 422
    assert too_long.headers["HX-Retarget"] == f"#record-{first}-form-errors"
    gone = console.htmx("DELETE", f"/datasets/{ds}/versions/1.0/records/{second}")
    assert gone.status_code == 200
    assert len(h.admin.call("GET", f"{DATASETS}/{ds}/versions/1.0/records")) == 1

    published = console.htmx("POST", f"/datasets/{ds}/versions/1.0/publish")
    assert "Published 1.0: 1 record(s)" in published.text
    assert f"/api/v1/datasets/{ds}/versions/1.0/export" in published.text
    exported = console.client.get(f"/api/v1/datasets/{ds}/versions/1.0/export")
    assert exported.status_code == 200 and exported.content[:2] == b"PK"
    frozen = console.get(f"/datasets/{ds}/versions/1.0/annotate").text
    assert "is published" in frozen and ">Save</button>" not in frozen
    v2 = console.htmx("POST", f"/datasets/{ds}/versions", {"label": "2.0", "source": "1.0"},
                      form="new-version-form")  # fmt: skip
    assert "Version 2.0 created from 1.0." in v2.text and 'id="version-2-0"' in v2.text
    listed = console.get("/datasets?kind=annotated&q=console").text
    assert "console-sft" in listed
    assert "No datasets match" in console.get("/datasets?kind=basic").text
    assert "console-sft" in console.get(f"/datasets?q={ds}").text
    assert "No datasets match" in console.get("/datasets?status=importing").text
    deleted = console.htmx("DELETE", f"/datasets/{ds}")
    assert deleted.status_code == 204 and deleted.headers["HX-Redirect"].startswith("/datasets")


def test_ranking_and_image_annotation(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    ds = create_annotated(console, h, "console-rank", "llm", "ranking")
    row = {"prompt": "Hi", "response_0": "a", "response_1": "b", "response_2": "c",
           "is_response_0_safe": True, "is_response_1_safe": True, "is_response_2_safe": False}  # fmt: skip
    assert "Imported 1 record(s)" in upload(console, ds, {"r.jsonl": jsonl([row])}).text
    page = console.get(f"/datasets/{ds}/versions/1.0/annotate").text
    [rid] = record_ids(page)
    assert "Not annotated" in page and 'value="relevance:1:up"' in page
    url = f"/datasets/{ds}/versions/1.0/records/{rid}"
    order = {"relevance": ["0", "1", "2"], "safety": ["0", "1", "2"]}
    moved = console.htmx("PATCH", url, {**order, "move": "relevance:1:up"},
                         form=f"record-{rid}-form")  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert "No safety ranking" in moved.text
    got = h.admin.call("GET", f"{DATASETS}/{ds}/versions/1.0/records")[0]
    assert got["annotation"]["relevance"] == [1, 0, 2] and got["bucket"] == "no_safety_ranking"
    both = console.htmx("PATCH", url, {"relevance": ["1", "0", "2"], "relevance_ranked": "1",
                                       "safety": ["0", "1", "2"], "move": "safety:2:up",
                                       "removed": []}, form=f"record-{rid}-form")  # fmt: skip
    assert ">Ranked</span>" in both.text
    got = h.admin.call("GET", f"{DATASETS}/{ds}/versions/1.0/records")[0]
    assert got["annotation"] == {"relevance": [1, 0, 2], "safety": [0, 2, 1], "removed": []}

    img = create_annotated(console, h, "console-img", "image", "image_multilabel")
    assert "Imported 1 record(s)" in upload(console, img, {"cats/a.png": PNG}).text
    page = console.get(f"/datasets/{img}/versions/1.0/annotate").text
    src = f"/api/v1/datasets/{img}/versions/1.0/files/cats/a.png"
    assert f'src="{src}"' in page and console.client.get(src).content == PNG
    [rid] = record_ids(page)
    saved = console.htmx("PATCH", f"/datasets/{img}/versions/1.0/records/{rid}",
                         {"labels": "cat, outdoor"}, form=f"record-{rid}-form")  # fmt: skip
    assert '<span class="badge">cat</span>' in saved.text
    got = h.admin.call("GET", f"{DATASETS}/{img}/versions/1.0/records")[0]
    assert got["annotation"] == {"labels": ["cat", "outdoor"]}


def test_basic_datasets_storages_and_another_developer(h: Hangar, tmp_path: Path) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    root = tmp_path / "pfs"
    (root / "images" / "sub").mkdir(parents=True)
    (root / "images" / "a.txt").write_text("keep me")
    storages = console.get("/storages")
    assert storages.status_code == 200 and 'id="create-storage-form"' in storages.text
    assert_no_inline_code(storages.text, "/storages")
    cluster = h.admin.call("GET", "/api/v1/clusters")[0]["id"]
    added = console.htmx("POST", "/storages", {"name": "pfs", "cluster_id": cluster,
                                               "root": str(root)}, form="create-storage-form")  # fmt: skip
    assert added.status_code == 200 and "Registered storage pfs." in added.text
    storage = h.admin.call("GET", "/api/v1/storages")[0]["id"]
    ws = h.default_workspace()["id"]
    missing = console.htmx("POST", "/datasets", {"workspace_id": ws, "name": "imgs",
                                                 "storage_id": storage, "path": "nope"},
                           form="create-dataset-form")  # fmt: skip
    assert missing.status_code == 422 and "does not exist" in missing.text
    made = console.htmx("POST", "/datasets", {"workspace_id": ws, "name": "imgs",
                                              "storage_id": storage, "path": "images",
                                              "visibility": "owner"},
                        form="create-dataset-form")  # fmt: skip
    assert made.status_code == 204, made.text
    url = made.headers["HX-Redirect"]
    detail = console.get(url).text
    assert "a.txt" in detail and "sub/</a>" in detail and "/work/mount/dataset/" in detail
    assert "This folder is empty." in console.get(f"{url}?path=sub").text
    assert "pfs" in console.get("/datasets").text
    in_use = console.htmx("DELETE", f"/storages/{storage}")
    assert in_use.status_code == 409 and "imgs" in in_use.text

    user, _ = h.user_api("alice")
    h.add_member(ws, user["id"], "developer")
    alice = logged_in(h, "alice", USER_PASSWORD)
    assert "imgs" not in alice.get("/datasets").text
    denied = alice.get(url)
    assert denied.status_code in (403, 404) and "a.txt" not in denied.text
    sft = create_annotated(console, h, "private-sft", "llm", "sft")
    upload(console, sft, {"t.jsonl": jsonl(SFT_ROWS)})
    rid = h.admin.call("GET", f"{DATASETS}/{sft}/versions/1.0/records")[0]["id"]
    assert alice.get(f"/datasets/{sft}/versions/1.0/annotate").status_code in (403, 404)
    refused = alice.htmx("PATCH", f"/datasets/{sft}/versions/1.0/records/{rid}",
                         {"review": "bad"})  # fmt: skip
    assert refused.status_code in (403, 404)
    assert h.admin.call("GET", f"{DATASETS}/{sft}/versions/1.0/records")[0]["annotation"] == {}
    assert alice.get("/storages").status_code == 200
    assert 'id="create-storage-form"' not in alice.get("/storages").text

    ds_id = url.rsplit("/", 1)[-1]
    env = h.admin.call("POST", "/api/v1/devenvs", 201, json={
        "workspace_id": ws, "name": "uses-imgs", "resources": {"cpu_cores": 1, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": ds_id}]})  # fmt: skip
    h.admin.call("POST", f"/api/v1/devenvs/{env['id']}/start")  # running work mounts it
    asked = console.htmx("DELETE", url)
    assert asked.status_code == 409 and asked.headers["HX-Retarget"] == "#delete-dialog"
    assert "uses-imgs" in asked.text and f'hx-delete="{url}?confirm=true"' in asked.text
    deleted = console.htmx("DELETE", f"{url}?confirm=true")
    assert deleted.status_code == 204
    h.admin.call("DELETE", f"/api/v1/devenvs/{env['id']}", 202)
    assert (root / "images" / "a.txt").read_text() == "keep me"
    removed = console.htmx("DELETE", f"/storages/{storage}")
    assert "Removed storage pfs." in removed.text


def test_an_s3_storage_from_the_console(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    cluster = h.admin.call("GET", "/api/v1/clusters")[0]["id"]
    with s3_server("console-bucket") as s3:
        s3.put("console-bucket", {"corpus/a.txt": b"alpha", "corpus/sub/b.txt": b"beta"})
        form = {"name": "lab-s3", "cluster_id": cluster, "kind": "s3", "root": "console-bucket",
                "endpoint_url": s3.endpoint_url, "access_key_id": KEY_ID,
                "secret_access_key": SECRET}  # fmt: skip
        no_secret = console.htmx("POST", "/storages", {**form, "secret_access_key": ""},
                                 form="create-storage-form")  # fmt: skip
        assert no_secret.status_code == 422 and "secret_access_key" in no_secret.text
        added = console.htmx("POST", "/storages", form, form="create-storage-form")
        assert added.status_code == 200 and "Registered storage lab-s3." in added.text
        assert SECRET not in added.text and s3.endpoint_url in added.text
        storage = h.admin.call("GET", "/api/v1/storages")[0]["id"]
        made = console.htmx("POST", "/datasets", {"workspace_id": h.default_workspace()["id"],
                                                  "name": "corpus", "storage_id": storage,
                                                  "path": "corpus", "visibility": "owner"},
                            form="create-dataset-form")  # fmt: skip
        assert made.status_code == 204, made.text
        detail = console.get(made.headers["HX-Redirect"]).text
        assert "a.txt" in detail and "sub/</a>" in detail


def test_back_up_and_accelerate_from_a_datasets_page(h: Hangar) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    ws = h.default_workspace()["id"]
    with s3_server("console-copies") as s3:
        body = s3.storage_body(h.admin.call("GET", "/api/v1/clusters")[0]["id"], "console-copies")
        storage = h.admin.call("POST", "/api/v1/storages", 201, json=body)["id"]
        local = h.admin.call("POST", DATASETS, 201, json={"workspace_id": ws, "name": "notes"})
        (h.settings.home / "datasets" / local["id"] / "files" / "a.txt").write_text("alpha")
        page = console.get(f"/datasets/{local['id']}").text
        assert 'id="backup-form"' in page and "console-copies" in page
        assert 'id="accelerate-form"' not in page
        empty = console.htmx("POST", f"/datasets/{local['id']}/backup",
                             {"storage_id": storage, "path": ""}, form="backup-form")  # fmt: skip
        assert empty.status_code == 422 and "name the folder" in empty.text
        done = console.htmx("POST", f"/datasets/{local['id']}/backup",
                            {"storage_id": storage, "path": "b/notes"}, form="backup-form")  # fmt: skip
        assert done.status_code == 200 and "Backed up 1 files to /b/notes (1 copied" in done.text
        remote = h.admin.call("POST", DATASETS, 201, json={
            "workspace_id": ws, "name": "remote", "storage_id": storage, "path": "b/notes"})  # fmt: skip
        page = console.get(f"/datasets/{remote['id']}").text
        assert 'id="accelerate-form"' in page and 'id="backup-form"' not in page
        staged = console.htmx("POST", f"/datasets/{remote['id']}/accelerate", {},
                              form="accelerate-form")  # fmt: skip
        assert staged.status_code == 200 and "Staged 1 files (1 fetched" in staged.text
