"""Tenant object storage (spec 07 §0) against a real S3-compatible server on loopback:
registration checked with a request to the bucket, the secret sealed and never returned,
paths checked in the bucket, basic datasets and code packages on it, and workloads that
mount them from a staged, incrementally refreshed copy, or fail with the store's answer."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.assets import object_store
from hangar.assets.dataset_orm import ExternalStorage
from tests.assets.s3_server import KEY_ID, SECRET, S3Server, s3_server
from tests.assets.test_asset_flow import wait_for
from tests.assets.test_datasets import DATASETS, cluster_id
from tests.jobs.support import quiet_hangar
from tests.support import Hangar, assert_error, refusing_port

STORAGES = "/api/v1/storages"
READER = r"""
import os, pathlib
work = pathlib.Path(os.environ["HANGAR_WORK_DIR"])
data = work / "mount/dataset/corpus"
for path in sorted(p for p in data.rglob("*") if p.is_file()):
    print("FILE", path.relative_to(data), path.read_text())
try:
    (data / "new.txt").write_text("x")
    print("WROTE")
except OSError:
    print("read-only")
"""


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with s3_server("lab-data") as server:
        yield server


def register(h: Hangar, s3: S3Server, bucket: str = "lab-data") -> dict[str, Any]:
    made: dict[str, Any] = h.admin.call(
        "POST", STORAGES, 201, json=s3.storage_body(cluster_id(h), bucket)
    )
    return made


def test_registration_is_checked_and_the_secret_never_leaves(h: Hangar, s3: S3Server) -> None:
    body = s3.storage_body(cluster_id(h), "lab-data")
    bad_name = h.admin.post(STORAGES, json={**body, "root": "Lab_Data"})
    assert "bucket name" in assert_error(bad_name, 422)["fields"]["root"]
    missing = h.admin.post(STORAGES, json={**body, "root": "no-such-bucket"})
    assert "does not exist" in assert_error(missing, 422)["fields"]["root"]
    with refusing_port() as port:
        down = h.admin.post(STORAGES, json={**body, "endpoint_url": f"http://127.0.0.1:{port}"})
    assert "could not reach" in assert_error(down, 422)["fields"]["root"]
    scheme = h.admin.post(STORAGES, json={**body, "endpoint_url": "ftp://127.0.0.1"})
    assert "http(s) URL" in assert_error(scheme, 422)["fields"]["endpoint_url"]
    no_secret = h.admin.post(STORAGES, json={**body, "secret_access_key": ""})
    assert "required" in assert_error(no_secret, 422)["fields"]["secret_access_key"]
    assert h.admin.call("GET", STORAGES) == []  # nothing half-registered

    made = register(h, s3)
    assert (made["kind"], made["root"], made["access_key_id"]) == ("s3", "lab-data", KEY_ID)
    listed = h.admin.get(STORAGES)
    assert SECRET not in listed.text and SECRET not in str(made)
    with h.state.sessions() as session:
        row = session.get(ExternalStorage, made["id"])
        assert row is not None and row.sealed_secret and SECRET not in row.sealed_secret
    key_file = h.settings.home / "keys" / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_dataset_paths_are_checked_in_the_bucket_and_its_files_listed(
    h: Hangar, s3: S3Server
) -> None:
    s3.put("lab-data", {"corpus/a.txt": b"alpha", "corpus/sub/b.txt": b"beta"})
    made = register(h, s3)
    ok = h.admin.call("GET", f"{STORAGES}/{made['id']}/check", params={"path": "corpus/"})
    assert ok == {"path": "corpus", "status": "ok"}
    nope = h.admin.get(f"{STORAGES}/{made['id']}/check", params={"path": "nope"})
    assert "holds no objects in bucket 'lab-data'" in assert_error(nope, 422)["fields"]["path"]
    escape = h.admin.get(f"{STORAGES}/{made['id']}/check", params={"path": "../x"})
    assert_error(escape, 422)
    ds = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": h.default_workspace()["id"], "name": "corpus",
        "storage_id": made["id"], "path": "corpus"})  # fmt: skip
    top = h.admin.call("GET", f"{DATASETS}/{ds['id']}/files")
    assert [(e["name"], e["kind"]) for e in top] == [("sub", "folder"), ("a.txt", "file")]
    sub = h.admin.call("GET", f"{DATASETS}/{ds['id']}/files", params={"path": "sub"})
    assert [(e["name"], e["size"]) for e in sub] == [("b.txt", 4)]
    output = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": h.default_workspace()["id"], "name": "out-on-s3",
        "storage_id": made["id"], "path": "corpus/sub"})  # fmt: skip
    refused = h.admin.post(DATASETS, json={
        "workspace_id": h.default_workspace()["id"], "name": "secret",
        "storage_id": made["id"], "path": "corpus", "confidential": True, "output_dataset_id": output["id"], "audit_minutes": 5})  # fmt: skip
    assert "mount read-only" in assert_error(refused, 422)["fields"]["output_dataset_id"]


def job_logs(h: Hangar, job_id: str) -> str:
    detail = h.admin.call("GET", f"/api/v1/jobs/{job_id}")
    run_id = detail["runs"][-1]["id"]
    return str(h.admin.call("GET", f"/api/v1/jobs/{job_id}/runs/{run_id}/logs")["data"])


def test_a_job_reads_bucket_data_and_code_staged_incrementally(
    hangar: Hangar, s3: S3Server
) -> None:
    h = hangar
    ws = h.default_workspace()["id"]
    s3.put("lab-data", {"corpus/a.txt": b"alpha", "corpus/sub/b.txt": b"beta",
                        "code/read.py": READER.encode()})  # fmt: skip
    made = register(h, s3)
    ds = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "corpus", "storage_id": made["id"], "path": "corpus"})  # fmt: skip
    missing = h.admin.post("/api/v1/code-packages/from-storage", json={
        "workspace_id": ws, "name": "reader", "description": "", "storage_id": made["id"],
        "path": "code", "start_file": "nope.py"})  # fmt: skip
    assert "not a file" in assert_error(missing, 422)["fields"]["start_file"]
    code = h.admin.call("POST", "/api/v1/code-packages/from-storage", 201, json={
        "workspace_id": ws, "name": "reader", "description": "", "storage_id": made["id"],
        "path": "code", "start_file": "read.py"})  # fmt: skip
    body = {
        "workspace_id": ws, "name": "read-1", "mode": "single",
        "command": 'python "$HANGAR_WORK_DIR/mount/code/reader/read.py"',
        "resources": {"cpu_cores": 0.5, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": ds["id"]}, {"kind": "code", "id": code["id"]}],
    }  # fmt: skip
    first = h.admin.call("POST", "/api/v1/jobs", 201, json=body)
    done = wait_for(h, first["id"], {"SUCCEEDED", "FAILED"})
    text = job_logs(h, first["id"])
    assert done.state == "SUCCEEDED", (done.state_reason, text)
    assert "FILE a.txt alpha" in text and "FILE sub/b.txt beta" in text
    assert "read-only" in text and "WROTE" not in text
    staged = object_store.staged_files(h.settings.home, made["id"], "corpus")
    kept_inode = (staged / "a.txt").stat().st_ino

    s3.client.delete_object(Bucket="lab-data", Key="corpus/sub/b.txt")
    s3.put("lab-data", {"corpus/c.txt": b"gamma"})
    second = h.admin.call("POST", "/api/v1/jobs", 201, json={**body, "name": "read-2"})
    done = wait_for(h, second["id"], {"SUCCEEDED", "FAILED"})
    text = job_logs(h, second["id"])
    assert done.state == "SUCCEEDED", (done.state_reason, text)
    assert "FILE c.txt gamma" in text and "b.txt" not in text
    assert (staged / "a.txt").stat().st_ino == kept_inode  # unchanged: not fetched again


def test_a_job_fails_with_the_stores_answer_when_its_bucket_is_gone(
    hangar: Hangar, s3: S3Server
) -> None:
    h = hangar
    ws = h.default_workspace()["id"]
    s3.put("lab-data", {"corpus/a.txt": b"alpha"})
    made = register(h, s3)
    ds = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "corpus", "storage_id": made["id"], "path": "corpus"})  # fmt: skip
    s3.client.delete_object(Bucket="lab-data", Key="corpus/a.txt")
    s3.client.delete_bucket(Bucket="lab-data")
    job = h.admin.call("POST", "/api/v1/jobs", 201, json={
        "workspace_id": ws, "name": "orphan", "mode": "single", "command": "true",
        "resources": {"cpu_cores": 0.5, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": ds["id"]}]})  # fmt: skip
    done = wait_for(h, job["id"], {"SUCCEEDED", "FAILED"})
    assert done.state == "FAILED"
    assert "/work/mount/dataset/corpus" in done.state_reason
    assert "bucket 'lab-data' does not exist" in done.state_reason


def test_staging_refuses_keys_that_leave_the_folder(s3: S3Server, tmp_path: Path) -> None:
    s3.put("lab-data", {"data/ok.txt": b"ok", "data/../escape.txt": b"no",
                        "data/x": b"file", "data/x/y": b"under a file", "data/dir/": b""})  # fmt: skip
    bucket = object_store.Bucket("lab-data", s3.endpoint_url, "us-east-1", KEY_ID, SECRET)
    root = tmp_path / "stage"
    report = object_store.sync_down(bucket, "data", root)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["files/ok.txt", "files/x", "index.json", "lock"]
    assert report.files == 2 and len(report.skipped) == 2
    assert not (tmp_path / "escape.txt").exists()
    assert repr(bucket).count(SECRET) == 0
    (root / "files" / ".ok.txt.part").write_bytes(b"half")  # a killed server's download
    again = object_store.sync_down(bucket, "data", root)
    assert again.fetched == 0 and again.files == 2
    assert not (root / "files" / ".ok.txt.part").exists()
    assert os.access(root / "files" / "ok.txt", os.R_OK)


def test_backup_to_a_bucket_and_accelerate_from_it(h: Hangar, s3: S3Server, tmp_path: Path) -> None:
    ws = h.default_workspace()["id"]
    made = register(h, s3)
    local = h.admin.call("POST", DATASETS, 201, json={"workspace_id": ws, "name": "notes"})
    folder = h.settings.home / "datasets" / local["id"] / "files"
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.txt").write_text("beta")
    (folder / "link").symlink_to("/etc/hostname")
    url = f"{DATASETS}/{local['id']}"
    no_path = h.admin.post(f"{url}/backup", json={"storage_id": made["id"], "path": ""})
    assert "backups/notes" in assert_error(no_path, 422)["fields"]["path"]
    pfs = tmp_path / "pfs"
    pfs.mkdir()
    fs = h.admin.call("POST", STORAGES, 201, json={
        "cluster_id": cluster_id(h), "name": "pfs", "kind": "filesystem", "root": str(pfs)})  # fmt: skip
    not_s3 = h.admin.post(f"{url}/backup", json={"storage_id": fs["id"], "path": "b"})
    assert "back up to an s3 storage" in assert_error(not_s3, 422)["fields"]["storage_id"]
    first = h.admin.call("POST", f"{url}/backup", json={"storage_id": made["id"],
                                                        "path": "backups/notes"})  # fmt: skip
    assert (first["files"], first["fetched"], first["bytes"]) == (2, 2, 9)  # the link is not
    keys = {o["Key"] for o in s3.client.list_objects_v2(Bucket="lab-data")["Contents"]}
    assert keys == {"backups/notes/a.txt", "backups/notes/sub/b.txt"}
    again = h.admin.call("POST", f"{url}/backup", json={"storage_id": made["id"],
                                                        "path": "backups/notes"})  # fmt: skip
    assert (again["files"], again["fetched"]) == (2, 0)  # same content: kept

    local_accel = h.admin.post(f"{url}/accelerate")
    assert "already on a file system" in assert_error(local_accel, 409)["message"]
    remote = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "restored", "storage_id": made["id"],
        "path": "backups/notes"})  # fmt: skip
    staged = h.admin.call("POST", f"{DATASETS}/{remote['id']}/accelerate")
    assert (staged["files"], staged["fetched"]) == (2, 2)
    files = object_store.staged_files(h.settings.home, made["id"], "backups/notes")
    assert (files / "sub" / "b.txt").read_text() == "beta"
    in_bucket = h.admin.post(f"{DATASETS}/{remote['id']}/backup",
                             json={"storage_id": made["id"], "path": "x"})  # fmt: skip
    assert "already in a bucket" in assert_error(in_bucket, 409)["message"]
