"""Model versions on tenant storage (spec 07 §1.2 (b)): a folder on a registered file system
or bucket becomes the next version with nothing copied; its path is checked (≤ 4096
characters, it must exist); workloads mount it read-only (a bucket's staged); it cannot be
shared, exported or downloaded through the registry; deleting it keeps the folder, and the
storage cannot be removed while a version points at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.workloads.orm import Workload
from tests.assets.s3_server import s3_server
from tests.assets.test_datasets import storage
from tests.assets.test_mounts import run_spec
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.support import Hangar, assert_error

MODELS = "/api/v1/models"


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def test_a_version_on_a_file_system_is_mounted_and_never_copied(h: Hangar, tmp_path: Path) -> None:
    ws = h.default_workspace()["id"]
    pfs = storage(h, tmp_path / "pfs")
    weights = tmp_path / "pfs" / "models" / "llama"
    weights.mkdir(parents=True)
    (weights / "w.bin").write_bytes(b"w" * 1000)
    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "llama"})
    url = f"{MODELS}/{model['id']}/versions/from-storage"
    missing = h.admin.post(url, json={"storage_id": pfs["id"], "path": "models/nope"})
    assert "does not exist" in assert_error(missing, 422)["fields"]["path"]
    too_long = h.admin.post(url, json={"storage_id": pfs["id"], "path": "a" * 4097})
    assert_error(too_long, 422)
    v1 = h.admin.call("POST", url, 201, json={"storage_id": pfs["id"], "path": "models/llama/",
                                               "description": "7B"})  # fmt: skip
    assert (v1["label"], v1["source"], v1["path"], v1["files"]) == ("V1", "storage",
                                                                     "models/llama", 0)  # fmt: skip
    assert h.admin.call("GET", "/api/v1/storages/platform")["used_bytes"] == 0

    share = h.admin.post(f"{MODELS}/{model['id']}/versions/1/share-tokens", json={"validity": "1d"})
    assert "cannot be shared with a token" in assert_error(share, 409)["message"]
    export = h.admin.get(f"{MODELS}/{model['id']}/versions/1/export")
    assert "cannot be exported" in assert_error(export, 409)["message"]
    download = h.admin.get(f"{MODELS}/{model['id']}/versions/1/files/w.bin")
    assert_error(download, 409)

    job = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, name="uses-llama", mounts=[{"kind": "model", "id": model["id"]}]))  # fmt: skip
    spec = run_spec(h, job["id"])
    [mount] = spec.mounts
    assert (mount.host_path, mount.read_only) == (weights.resolve(), True)
    in_use = h.admin.delete(f"/api/v1/storages/{pfs['id']}")
    assert "llama V1" in assert_error(in_use, 409)["message"]
    h.admin.call("DELETE", f"{MODELS}/{model['id']}/versions/1", 204)
    assert (weights / "w.bin").read_bytes() == b"w" * 1000  # decision G1


def test_a_version_in_a_bucket_is_staged_for_its_runs(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    with s3_server("models") as s3:
        s3.put("models", {"llama/w.bin": b"weights"})
        made = h.admin.call("POST", "/api/v1/storages", 201, json=s3.storage_body(
            h.admin.call("GET", "/api/v1/clusters")[0]["id"], "models"))  # fmt: skip
        model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "llama"})
        url = f"{MODELS}/{model['id']}/versions/from-storage"
        empty = h.admin.post(url, json={"storage_id": made["id"], "path": "nothing-here"})
        assert "holds no objects" in assert_error(empty, 422)["fields"]["path"]
        h.admin.call("POST", url, 201, json={"storage_id": made["id"], "path": "llama"})
        job = h.admin.call("POST", JOBS, 201, json=job_body(
            ws, name="uses-llama", mounts=[{"kind": "model", "id": model["id"]}]))  # fmt: skip
    with h.state.sessions() as session:
        workload = session.get(Workload, job["id"])
        assert workload is not None
        [mount] = workload.spec["mounts"]
    assert mount["stage"] == {"storage_id": made["id"], "path": "llama"}
    assert mount["read_only"] and "object-cache" in mount["host_path"]
