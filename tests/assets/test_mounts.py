"""Mount requests of jobs and dev environments, checked at submit and turned into the run's
mounts: limits, names, permissions, write-back for a dataset's owner in a dev environment,
read-only trees for immutable versions, and the listing on the workload's detail."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.workloads.orm import Run, Workload
from hangar.workloads.runspec import build_run_spec
from tests.assets.test_datasets import DATASETS
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.support import Hangar, assert_error

MODELS = "/api/v1/models"


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def basic(h: Hangar, name: str, api: Any = None) -> dict[str, Any]:
    made: dict[str, Any] = (api or h.admin).call(
        "POST", DATASETS, 201, json={"workspace_id": h.default_workspace()["id"], "name": name}
    )
    return made


def model_v1(h: Hangar) -> dict[str, Any]:
    ws = h.default_workspace()["id"]
    model: dict[str, Any] = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws,
                                                                   "name": "base"})  # fmt: skip
    data = b"weights" * 1000
    h.admin.call("PUT", f"{MODELS}/{model['id']}/versions/upload", 201,
                 params={"filename": "w.bin", "sha256": hashlib.sha256(data).hexdigest()},
                 content=data)  # fmt: skip
    return model


def run_spec(h: Hangar, workload_id: str) -> Any:
    with h.state.sessions() as session:
        workload = session.get(Workload, workload_id)
        assert workload is not None
        run = Run(id="r1", workload_id=workload.id, number=1, restarts=0)
        return build_run_spec(home=h.settings.home, workload=workload, run=run,
                              api_url="http://127.0.0.1:1", run_token="t")  # fmt: skip


def test_dev_environment_writes_back_to_its_owners_dataset(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    data = basic(h, "notes")
    model = model_v1(h)
    env = h.admin.call("POST", "/api/v1/devenvs", 201, json={
        "workspace_id": ws, "name": "lab", "resources": {"cpu_cores": 1, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": data["id"]}, {"kind": "model", "id": model["id"]}],
    })  # fmt: skip
    assert {(m["path"], m["read_only"]) for m in env["mounts"]} == {
        ("/work/mount/dataset/notes", False), ("/work/mount/model/base", True)}  # fmt: skip
    spec = run_spec(h, env["id"])
    by_kind = {m.kind.value: m for m in spec.mounts}
    assert by_kind["dataset"].host_path == h.settings.home / "datasets" / data["id"] / "files"
    tree = by_kind["model"].host_path
    assert (tree / "w.bin").read_bytes() == b"weights" * 1000
    assert (tree / "w.bin").stat().st_mode & 0o222 == 0  # read-only files
    assert not spec.network_isolated
    draft = h.admin.call("GET", f"/api/v1/devenvs/{env['id']}/training-draft")
    assert [m["id"] for m in draft["mounts"]] == [data["id"], model["id"]]


def test_a_job_mounts_read_only_and_within_the_limits(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    data = basic(h, "corpus")
    job = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, "reads", mounts=[{"kind": "dataset", "id": data["id"]}]))  # fmt: skip
    assert job["mounts"] == [{"kind": "dataset", "path": "/work/mount/dataset/corpus",
                              "asset_id": data["id"], "asset_name": "corpus", "version": None,
                              "read_only": True, "confidential": False}]  # fmt: skip
    copy = h.admin.call("POST", f"{JOBS}/{job['id']}/copy", 201)
    assert [m["asset_id"] for m in copy["mounts"]] == [data["id"]]
    eleven = [{"kind": "dataset", "id": data["id"], "name": f"d{i}"} for i in range(11)]
    too_many = h.admin.post(JOBS, json=job_body(ws, "many", mounts=eleven))
    assert "at most 10 datasets" in assert_error(too_many, 422)["message"]
    twice = [{"kind": "dataset", "id": data["id"]}] * 2
    clash = h.admin.post(JOBS, json=job_body(ws, "twice", mounts=twice))
    assert "give one a 'name'" in assert_error(clash, 422)["message"]
    unknown = h.admin.post(JOBS, json=job_body(ws, "x", mounts=[{"kind": "disk", "id": "x"}]))
    assert "mounts[0].kind" in assert_error(unknown, 422)["fields"]
    missing = h.admin.post(JOBS, json=job_body(ws, "y", mounts=[{"kind": "model", "id": "no"}]))
    assert_error(missing, 404)


def test_others_private_datasets_cannot_be_mounted_shared_ones_can(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    dora, dora_api = h.user_api("dora")
    otto, otto_api = h.user_api("otto")
    h.add_member(ws, dora["id"], "developer")
    h.add_member(ws, otto["id"], "developer")
    private = basic(h, "private", dora_api)
    body = job_body(ws, "steal", mounts=[{"kind": "dataset", "id": private["id"]}])
    assert_error(otto_api.post(JOBS, json=body), 403)
    dora_api.call("PATCH", f"{DATASETS}/{private['id']}", json={"visibility": "workspace"})
    shared = otto_api.call("POST", JOBS, 201, json=body)
    assert shared["mounts"][0]["read_only"] is True
    in_use = dora_api.delete(f"{DATASETS}/{private['id']}")
    assert "mounted by running work" in assert_error(in_use, 409)["message"]
    dora_api.call("DELETE", f"{DATASETS}/{private['id']}", 204, params={"confirm": "true"})
