"""Issue 7's end-to-end flow through the running server (scheduler, reconciler, local backend):
a training job reads a published annotated dataset and a code package from its mounts, writes
a model to its output; "save to model registry" makes V1 with lineage; a share token imports
it into another tenant; expired and revoked tokens are refused. Also: a draft dataset cannot
be mounted, the mounts are listed on the job, and the job cannot write into them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from hangar.assets.orm import ModelShareToken
from hangar.db.engine import transaction
from hangar.workloads.orm import Workload
from tests.assets.test_datasets import DATASETS, SFT_ROWS, import_files, jsonl, sft_dataset
from tests.support import Api, Hangar, assert_error, create_tenant

MODELS = "/api/v1/models"
TRAIN = r"""
import json, os, pathlib
work = pathlib.Path(os.environ["HANGAR_WORK_DIR"])
rows = [json.loads(l) for l in (work / "mount/dataset/sft-data/data.jsonl").read_text().splitlines()]
vocab = sorted({w for r in rows for w in (r["instruction"] + " " + r["output"]).split()})
out = work / "output" / "model"
out.mkdir(parents=True, exist_ok=True)
(out / "vocab.json").write_text(json.dumps(vocab))
(out / "config.json").write_text(json.dumps({"rows": len(rows), "trainer": __file__}))
for target in ("mount/dataset/sft-data/hacked.txt", "mount/code/trainer/hacked.txt"):
    try:
        (work / target).write_text("x")
        print("WROTE", target)
    except OSError:
        print("read-only", target)
print("trained on", len(rows), "rows")
"""


def wait_for(h: Hangar, wid: str, states: set[str], timeout: float = 90) -> Workload:
    deadline = time.monotonic() + timeout
    while True:
        with h.state.sessions() as session:
            workload = session.get(Workload, wid)
            assert workload is not None
            if workload.state in states:
                return workload
        assert time.monotonic() < deadline, f"stuck in {workload.state}: {workload.state_reason}"
        time.sleep(0.2)


def code_package(api: Api, ws: str) -> dict[str, Any]:
    response = api.post(
        "/api/v1/code-packages",
        data={"workspace_id": ws, "name": "trainer", "start_file": "train.py"},
        files=[("files", ("train.py", TRAIN.encode()))],
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def published_dataset(h: Hangar) -> dict[str, Any]:
    ds = sft_dataset(h)
    import_files(h.admin, ds["id"], {"train.jsonl": jsonl(SFT_ROWS)})
    h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/publish")
    return ds


def test_job_trains_from_mounts_saves_to_registry_and_shares(hangar: Hangar) -> None:
    h = hangar
    ws = h.default_workspace()["id"]
    draft = sft_dataset(h, name="draft-only")
    import_files(h.admin, draft["id"], {"a.jsonl": jsonl(SFT_ROWS)})
    ds = published_dataset(h)
    code = code_package(h.admin, ws)
    body = {
        "workspace_id": ws, "name": "train-e2e", "mode": "single",
        "command": 'python "$HANGAR_WORK_DIR/mount/code/trainer/train.py"',
        "resources": {"cpu_cores": 0.5, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": ds["id"]}, {"kind": "code", "id": code["id"]}],
    }  # fmt: skip
    refused = h.admin.post("/api/v1/jobs", json={
        **body, "name": "uses-draft", "mounts": [{"kind": "dataset", "id": draft["id"]}]})  # fmt: skip
    assert "no published version" in assert_error(refused, 409)["message"]
    job = h.admin.call("POST", "/api/v1/jobs", 201, json=body)
    done = wait_for(h, job["id"], {"SUCCEEDED", "FAILED"})
    detail = h.admin.call("GET", f"/api/v1/jobs/{job['id']}")
    run_id = detail["runs"][0]["id"]
    text = h.admin.call("GET", f"/api/v1/jobs/{job['id']}/runs/{run_id}/logs")["data"]
    assert done.state == "SUCCEEDED", (done.state_reason, text)
    assert "trained on 2 rows" in text and "WROTE" not in text
    assert {m["path"] for m in detail["mounts"]} == {
        "/work/mount/dataset/sft-data", "/work/mount/code/trainer"}  # fmt: skip

    model = h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": "tiny-lm"})
    v1 = h.admin.call("POST", f"{MODELS}/{model['id']}/versions/from-workload", 201,
                      json={"workload_id": job["id"], "path": "model"})  # fmt: skip
    assert v1["label"] == "V1" and v1["lineage"]["workload_id"] == job["id"]
    assert {m["asset_id"] for m in v1["lineage"]["mounts"]} == {ds["id"], code["id"]}
    assert sorted(f["path"] for f in v1["manifest"]) == ["config.json", "vocab.json"]

    token = h.admin.call("POST", f"{MODELS}/{model['id']}/versions/1/share-tokens", 201,
                         json={"validity": "1d"})  # fmt: skip
    other = create_tenant(h, "acme", "ada")
    other_ws = next(w for w in other.call("GET", "/api/v1/workspaces") if w["is_default"])
    imported = other.call("POST", f"{MODELS}/import", 201, json={
        "token": token["token"], "workspace_id": other_ws["id"], "name": "tiny-lm"})  # fmt: skip
    assert imported["label"] == "V1"
    [mine] = other.call("GET", MODELS, params={"workspace": other_ws["id"]})
    vocab = other.get(f"{MODELS}/{mine['id']}/versions/1/files/vocab.json")
    assert json.loads(vocab.content) == json.loads(
        h.admin.get(f"{MODELS}/{model['id']}/versions/1/files/vocab.json").content)  # fmt: skip

    h.admin.call("DELETE", f"{MODELS}/share-tokens/{token['id']}", 204)
    revoked = other.post(f"{MODELS}/import", json={"token": token["token"],
                                                   "model_id": mine["id"]})  # fmt: skip
    assert "was revoked" in assert_error(revoked, 409)["message"]
    expiring = h.admin.call("POST", f"{MODELS}/{model['id']}/versions/1/share-tokens", 201,
                            json={"validity": "7d"})  # fmt: skip
    with transaction(h.state.sessions) as session:
        session.execute(update(ModelShareToken).where(ModelShareToken.id == expiring["id"])
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
    expired = other.post(f"{MODELS}/import", json={"token": expiring["token"],
                                                   "model_id": mine["id"]})  # fmt: skip
    assert "expired" in assert_error(expired, 409)["message"]
