"""Model registry API on a real server: records unique per workspace, versions V1, V2 from
uploads streamed and checksum-verified, files downloaded byte for byte, deletion releasing
the tenant's storage, and the matrix rows (own vs others', developer vs operator)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.assets.usage import used_bytes
from hangar.workloads.orm import Workload
from hangar.workloads.runspec import host_dirs
from tests.jobs.support import JOBS, drive, job_body, quiet_hangar
from tests.support import Api, Hangar, assert_error

MODELS = "/api/v1/models"
WEIGHTS = b"\x00\x01weights" * 50_000  # 450 KB, several chunks


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def tenant_usage(h: Hangar) -> int:
    tid = h.admin.call("GET", "/api/v1/auth/me")["tenant_id"]
    with h.state.sessions() as session:
        return used_bytes(session, tenant_id=tid)


def upload(h: Hangar, model_id: str, data: bytes, name: str = "model.bin", *,
           status: int = 201, sha: str | None = None, api: Api | None = None) -> dict[str, Any]:  # fmt: skip
    client = api or h.admin
    params = {"filename": name, "sha256": sha or hashlib.sha256(data).hexdigest()}
    response = client.put(f"{MODELS}/{model_id}/versions/upload", params=params, content=data)
    assert response.status_code == status, response.text
    return dict(response.json())


def test_versions_from_uploads_download_and_delete(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    model = h.admin.call("POST", MODELS, 201,
                         json={"workspace_id": ws, "name": "resnet", "description": "v"})  # fmt: skip
    v1 = upload(h, model["id"], WEIGHTS)
    assert (v1["label"], v1["size"], v1["files"], v1["source"]) == ("V1", len(WEIGHTS), 1,
                                                                    "upload")  # fmt: skip
    v2 = upload(h, model["id"], WEIGHTS, "weights/final.bin")
    assert v2["label"] == "V2"
    assert tenant_usage(h) == len(WEIGHTS)  # identical bytes: stored and counted once
    got = h.admin.get(f"{MODELS}/{model['id']}/versions/2/files/weights/final.bin")
    assert got.status_code == 200 and got.content == WEIGHTS
    listed = h.admin.call("GET", MODELS, params={"workspace": ws})
    assert [v["label"] for v in listed[0]["versions"]] == ["V1", "V2"]
    h.admin.call("DELETE", f"{MODELS}/{model['id']}/versions/1", 204)
    assert tenant_usage(h) == len(WEIGHTS)  # V2 still holds the blob
    v3 = upload(h, model["id"], b"other")
    assert v3["label"] == "V3"  # numbers are never reused
    h.admin.call("DELETE", f"{MODELS}/{model['id']}", 204)
    assert tenant_usage(h) == 0
    assert_error(h.admin.get(f"{MODELS}/{model['id']}"), 404)


def test_bad_input_is_refused_and_keeps_nothing(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "bert"})
    dup = assert_error(h.admin.post(MODELS, json={"workspace_id": ws, "name": "bert"}), 409)
    assert "already has a model named 'bert'" in dup["message"]
    assert "name" in assert_error(
        h.admin.post(MODELS, json={"workspace_id": ws, "name": "-bad name"}), 422)["fields"]  # fmt: skip
    assert "description" in assert_error(h.admin.post(
        MODELS, json={"workspace_id": ws, "name": "long", "description": "x" * 101}), 422
    )["fields"]  # fmt: skip
    wrong = upload(h, model["id"], WEIGHTS, status=422, sha="0" * 64)
    assert "corrupted or incomplete" in str(wrong["message"])
    escape = upload(h, model["id"], WEIGHTS, "../../etc/evil", status=422)
    assert "path" in escape["fields"]
    assert h.admin.call("GET", f"{MODELS}/{model['id']}")["versions"] == []
    assert tenant_usage(h) == 0
    assert_error(h.admin.get(f"{MODELS}/{model['id']}/versions/9"), 404)


def test_the_matrix_rows_own_and_others(h: Hangar) -> None:
    ws = h.create_workspace("vision")
    dev, dev_api = h.user_api("dora")
    other, other_api = h.user_api("otto")
    op, op_api = h.user_api("opal")
    _, outsider_api = h.user_api("xena")
    h.add_member(ws["id"], dev["id"], "developer")
    h.add_member(ws["id"], other["id"], "developer")
    h.add_member(ws["id"], op["id"], "operator")
    mine = dev_api.call("POST", MODELS, 201, json={"workspace_id": ws["id"], "name": "mine"})
    upload(h, mine["id"], b"dora's", api=dev_api)
    # A developer never acts on others' models (A6); operators neither (rows 30-49: YYYN).
    assert_error(other_api.get(f"{MODELS}/{mine['id']}"), 403)
    assert_error(op_api.delete(f"{MODELS}/{mine['id']}"), 403)
    assert_error(other_api.put(f"{MODELS}/{mine['id']}/versions/upload",
                               params={"filename": "x"}, content=b"x"), 403)  # fmt: skip
    # Outside the workspace the model does not exist; the admin sees and deletes it.
    assert_error(outsider_api.get(f"{MODELS}/{mine['id']}"), 404)
    assert [m["name"] for m in other_api.call("GET", MODELS, params={"workspace": ws["id"]})] == []
    h.admin.call("DELETE", f"{MODELS}/{mine['id']}", 204)


def test_save_to_model_registry_from_a_completed_job_with_lineage(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    job = h.admin.call("POST", JOBS, 201, json=job_body(ws, "train-resnet"))
    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "resnet50"})
    with h.state.sessions() as session:
        workload = session.get(Workload, job["id"])
        assert workload is not None
        output = host_dirs(h.settings.home, workload).output
    (output / "final").mkdir(parents=True)
    (output / "final" / "model.safetensors").write_bytes(WEIGHTS)
    (output / "final" / "config.json").write_text('{"layers": 50}')
    (output / "checkpoints").mkdir()
    (output / "checkpoints" / "step-10.pt").write_bytes(b"ckpt")
    body = {"workload_id": job["id"], "path": "final", "description": "epoch 90"}
    early = assert_error(h.admin.post(f"{MODELS}/{model['id']}/versions/from-workload", json=body),
                         409)  # fmt: skip
    assert "only a completed job's output" in early["message"]
    drive(h, job["id"], "queue", "admit", "launched", "succeed")
    v1 = h.admin.call("POST", f"{MODELS}/{model['id']}/versions/from-workload", 201, json=body)
    assert (v1["label"], v1["source"], v1["files"]) == ("V1", "training", 2)
    assert v1["lineage"]["workload_id"] == job["id"] and v1["lineage"]["run_number"] == 1
    assert sorted(f["path"] for f in v1["manifest"]) == ["config.json", "model.safetensors"]
    got = h.admin.get(f"{MODELS}/{model['id']}/versions/1/files/model.safetensors")
    assert got.content == WEIGHTS
    escape = {"workload_id": job["id"], "path": "../../../etc"}
    assert_error(h.admin.post(f"{MODELS}/{model['id']}/versions/from-workload", json=escape),
                 422)  # fmt: skip
