"""Datasets API on a real server: external storage paths checked, basic datasets on the
platform's or a tenant's storage (never deleting tenant data), annotated datasets imported
all-or-nothing with per-row errors, annotated, published immutable and exported."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.support import quiet_hangar
from tests.support import Api, Hangar, assert_error

DATASETS = "/api/v1/datasets"
SFT_ROWS = [
    {"instruction": "Add", "input": "1+1", "output": "2"},
    {"instruction": "Greet", "input": "", "output": "hello"},
]


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def cluster_id(h: Hangar) -> str:
    return str(h.admin.call("GET", "/api/v1/clusters")[0]["id"])


def storage(h: Hangar, root: Path, name: str = "pfs") -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    made: dict[str, Any] = h.admin.call(
        "POST", "/api/v1/storages", 201,
        json={"cluster_id": cluster_id(h), "name": name, "kind": "filesystem", "root": str(root)},
    )  # fmt: skip
    return made


def sft_dataset(h: Hangar, api: Api | None = None, name: str = "sft-data") -> dict[str, Any]:
    made: dict[str, Any] = (api or h.admin).call(
        "POST", f"{DATASETS}/annotated", 201,
        json={"workspace_id": h.default_workspace()["id"], "name": name, "data_type": "llm",
              "template": "sft"},
    )  # fmt: skip
    return made


def import_files(
    api: Api, dataset_id: str, files: dict[str, bytes], *, label: str = "1.0",
    method: str = "folder", status: int = 200,
) -> dict[str, Any]:  # fmt: skip
    response = api.post(
        f"{DATASETS}/{dataset_id}/versions/{label}/import", params={"method": method},
        files=[("files", (name, data)) for name, data in files.items()],
    )  # fmt: skip
    assert response.status_code == status, response.text
    return dict(response.json())


def test_storage_paths_are_checked_and_mandatory_for_non_admins(h: Hangar, tmp_path: Path) -> None:
    root = tmp_path / "tenant-pfs"
    made = storage(h, root)
    (root / "corpus").mkdir()
    ok = h.admin.call("GET", f"/api/v1/storages/{made['id']}/check", params={"path": "corpus/"})
    assert ok["path"] == "corpus"
    missing = h.admin.get(f"/api/v1/storages/{made['id']}/check", params={"path": "nope"})
    assert "does not exist" in assert_error(missing, 422)["message"]
    escape = h.admin.get(f"/api/v1/storages/{made['id']}/check", params={"path": "../x"})
    assert_error(escape, 422)
    h.admin.call("GET", f"/api/v1/storages/{made['id']}/check", params={"path": ""})
    user, alice = h.user_api("alice")
    h.add_member(h.default_workspace()["id"], user["id"], "developer")
    empty = alice.get(f"/api/v1/storages/{made['id']}/check", params={"path": ""})
    assert "only admins" in assert_error(empty, 422)["message"]
    refused = alice.post("/api/v1/storages", json={"cluster_id": cluster_id(h), "name": "x",
                                                   "kind": "filesystem", "root": str(root)})  # fmt: skip
    assert_error(refused, 403)
    bad_root = h.admin.post("/api/v1/storages", json={"cluster_id": cluster_id(h), "name": "y",
                                                      "kind": "filesystem", "root": "/no/such"})  # fmt: skip
    assert "does not exist" in assert_error(bad_root, 422)["message"]


def test_basic_dataset_on_tenant_storage_is_never_deleted(h: Hangar, tmp_path: Path) -> None:
    root = tmp_path / "tenant-pfs"
    made = storage(h, root)
    (root / "images").mkdir()
    (root / "images" / "a.txt").write_text("keep me")
    ws = h.default_workspace()["id"]
    ds = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "imgs*v1", "storage_id": made["id"], "path": "images",
    })  # fmt: skip
    assert ds["status"] == "created" and ds["mount_path"] == f"/work/mount/dataset/{ds['id']}"
    files = h.admin.call("GET", f"{DATASETS}/{ds['id']}/files")
    assert files == [{"name": "a.txt", "kind": "file", "size": 7}]
    long = h.admin.post(DATASETS, json={"workspace_id": ws, "name": "x" * 26})
    assert "at most 25" in assert_error(long, 422)["message"]
    bad = h.admin.post(DATASETS, json={"workspace_id": ws, "name": "a b"})
    assert_error(bad, 422)
    h.admin.call("DELETE", f"{DATASETS}/{ds['id']}", 204)
    assert (root / "images" / "a.txt").read_text() == "keep me"  # decision G1


def test_confidential_needs_admin_storage_and_output(h: Hangar, tmp_path: Path) -> None:
    root = tmp_path / "tenant-pfs"
    made = storage(h, root)
    (root / "secret").mkdir()
    (root / "out").mkdir()
    ws = h.default_workspace()["id"]
    out = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "out", "storage_id": made["id"], "path": "out"})  # fmt: skip
    base = {"workspace_id": ws, "name": "secret", "storage_id": made["id"], "path": "secret",
            "confidential": True}  # fmt: skip
    no_out = h.admin.post(DATASETS, json=base)
    assert "output dataset" in assert_error(no_out, 422)["message"]
    bad_minutes = h.admin.post(DATASETS, json={**base, "output_dataset_id": out["id"],
                                               "audit_minutes": 1441})  # fmt: skip
    assert "1 to 1440" in assert_error(bad_minutes, 422)["message"]
    ds = h.admin.call("POST", DATASETS, 201, json={**base, "output_dataset_id": out["id"],
                                                   "audit_minutes": 30})  # fmt: skip
    assert ds["confidential"] and ds["audit_minutes"] == 30
    in_use = h.admin.delete(f"{DATASETS}/{out['id']}")
    assert "confidential output" in assert_error(in_use, 409)["message"]


def test_sft_import_annotate_publish_export(h: Hangar) -> None:
    ds = sft_dataset(h)
    assert ds["versions"][0]["label"] == "1.0" and ds["versions"][0]["status"] == "draft"
    version = import_files(h.admin, ds["id"], {"train.jsonl": jsonl(SFT_ROWS),
                                               "copy.jsonl": jsonl(SFT_ROWS)})  # fmt: skip
    assert version["records"] == 2 and version["report"]["duplicates_skipped"] == 1
    records = h.admin.call("GET", f"{DATASETS}/{ds['id']}/versions/1.0/records")
    assert [r["data"]["output"] for r in records] == ["2", "hello"]
    rec = records[0]["id"]
    path = f"{DATASETS}/{ds['id']}/versions/1.0/records/{rec}"
    h.admin.call("PATCH", path, json={"edits": {"output": "two"}, "annotation": {"review": "ok"}})
    published = h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/publish")
    assert published["status"] == "published"
    assert [f["path"] for f in published["manifest"]] == ["data.jsonl"]
    frozen = h.admin.patch(path, json={"annotation": {"review": "no"}})
    assert "published" in assert_error(frozen, 409)["message"]
    again = h.admin.post(f"{DATASETS}/{ds['id']}/versions/1.0/import",
                         files=[("files", ("x.jsonl", jsonl(SFT_ROWS)))])  # fmt: skip
    assert_error(again, 409)
    data = h.admin.get(f"{DATASETS}/{ds['id']}/versions/1.0/files/data.jsonl").content
    lines = [json.loads(x) for x in data.decode().splitlines()]
    assert lines[0]["output"] == "two" and len(lines) == 2
    exported = h.admin.get(f"{DATASETS}/{ds['id']}/versions/1.0/export")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        assert zf.read("data.jsonl") == data
    v2 = h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions", 201,
                      json={"label": "2.0", "source": "1.0"})  # fmt: skip
    assert v2["status"] == "draft" and v2["records"] == 2


def test_a_bad_row_refuses_the_whole_import_with_row_errors(h: Hangar) -> None:
    ds = sft_dataset(h)
    import_files(h.admin, ds["id"], {"a.jsonl": jsonl(SFT_ROWS)})
    bad = jsonl([SFT_ROWS[0], {"instruction": "no output"}])
    version = import_files(h.admin, ds["id"], {"b.jsonl": bad})
    assert version["records"] == 2  # unchanged: the import was refused whole
    [error] = version["report"]["errors"]
    assert (error["file"], error["row"], error["field"]) == ("b.jsonl", 2, "output")
    got = h.admin.call("GET", f"{DATASETS}/{ds['id']}")
    assert got["status"] == "import_failed" and "row error" in got["status_reason"]


def test_archive_import_and_archive_attacks(h: Hangar) -> None:
    ds = sft_dataset(h)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("data/train.jsonl", jsonl(SFT_ROWS))
    version = import_files(h.admin, ds["id"], {"d.zip": buffer.getvalue()}, method="archive")
    assert version["records"] == 2
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.jsonl", jsonl(SFT_ROWS))
    response = h.admin.post(f"{DATASETS}/{ds['id']}/versions/1.0/import",
                            params={"method": "archive"},
                            files=[("files", ("evil.zip", evil.getvalue()))])  # fmt: skip
    assert_error(response, 422)
    assert h.admin.call("GET", f"{DATASETS}/{ds['id']}")["status"] == "import_failed"


def test_folder_upload_limits(h: Hangar) -> None:
    ds = sft_dataset(h)
    many = {f"f{i}.jsonl": jsonl([{**SFT_ROWS[0], "output": str(i)}]) for i in range(101)}
    response = h.admin.post(f"{DATASETS}/{ds['id']}/versions/1.0/import",
                            files=[("files", (n, d)) for n, d in many.items()])  # fmt: skip
    assert response.status_code in (400, 422), response.text


def test_templates_are_published(h: Hangar) -> None:
    listed = h.admin.call("GET", f"{DATASETS}/templates")
    assert len(listed) == 8 and all(t["record_schema"] for t in listed)
    wrong = h.admin.post(f"{DATASETS}/annotated", json={
        "workspace_id": h.default_workspace()["id"], "name": "x", "data_type": "image",
        "template": "sft"})  # fmt: skip
    assert "decision G3" in assert_error(wrong, 422)["message"]


def test_import_by_link(h: Hangar, tmp_path: Path) -> None:
    from tests.assets.link_server import serving

    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "sft.zip", "w") as zf:
        zf.writestr("train.jsonl", jsonl(SFT_ROWS))
    ds = sft_dataset(h)
    with serving(site) as url:
        version = h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/import-link",
                               json={"url": f"{url}/sft.zip"})  # fmt: skip
    assert version["records"] == 2 and version["report"]["method"] == "link"
