"""Confidential datasets (spec 07 §2.2) through the running server and the real sandbox: a job
mounting one cannot open a network connection and cannot write to the dataset; what it writes
lands in the confidential output dataset; the mount and the periodic access reports (with
the commands that ran, copies flagged) are in the audit log."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hangar.assets.confidential_audit import ACTION, ConfidentialAudit
from hangar.audit.orm import AuditRecord
from hangar.db.base import utcnow
from tests.assets.test_asset_flow import wait_for
from tests.assets.test_datasets import DATASETS, storage
from tests.support import Hangar, assert_error

SCRIPT = r"""
import os, pathlib, socket, time
work = pathlib.Path(os.environ["HANGAR_WORK_DIR"])
print("secret:", (work / "mount/dataset/secret/records.csv").read_text().strip())
try:
    socket.create_connection(("127.0.0.1", int(os.environ["PROBE_PORT"])), timeout=3)
    print("NETWORK OPEN")
except OSError as exc:
    print("network cut:", type(exc).__name__)
try:
    (work / "mount/dataset/secret/leak.txt").write_text("x")
    print("DATASET WRITABLE")
except OSError:
    print("dataset read-only")
(work / "output" / "summary.txt").write_text("3 rows")
import subprocess
subprocess.Popen(["cp", "-r", str(work / "mount/dataset/secret"), "/tmp/copy"]).wait()
time.sleep(float(os.environ.get("HOLD", "0")))
"""


@pytest.fixture
def listener() -> Any:
    """A loopback TCP server on the host: reachable from an ordinary workload."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def confidential_setup(h: Hangar, root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    made = storage(h, root)
    (root / "secret").mkdir()
    (root / "secret" / "records.csv").write_text("id,diagnosis\n1,x\n")
    (root / "out").mkdir()
    ws = h.default_workspace()["id"]
    out = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "secret-out", "storage_id": made["id"], "path": "out"})  # fmt: skip
    secret = h.admin.call("POST", DATASETS, 201, json={
        "workspace_id": ws, "name": "secret", "storage_id": made["id"], "path": "secret",
        "confidential": True, "output_dataset_id": out["id"], "audit_minutes": 1})  # fmt: skip
    return secret, out


def test_confidential_job_is_cut_off_read_only_and_audited(
    hangar: Hangar, tmp_path: Path, listener: int
) -> None:
    h = hangar
    if not h.state.backend.isolation_enabled:  # pragma: no cover - make test installs bwrap
        pytest.fail("the sandbox (bubblewrap) is needed: make test installs it")
    root = tmp_path / "tenant"
    secret, _out = confidential_setup(h, root)
    ws = h.default_workspace()["id"]
    body = {
        "workspace_id": ws, "name": "analyse", "mode": "single",
        "command": f"python - <<'EOF'\n{SCRIPT}\nEOF",
        "env": {"PROBE_PORT": str(listener), "HOLD": "4"},
        "resources": {"cpu_cores": 0.5, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": secret["id"]}],
    }  # fmt: skip
    job = h.admin.call("POST", "/api/v1/jobs", 201, json=body)
    assert {m["path"] for m in job["mounts"]} == {
        "/work/mount/dataset/secret", "/work/mount/dataset/secret-out"}  # fmt: skip
    wait_for(h, job["id"], {"RUNNING", "SUCCEEDED", "FAILED"})
    auditor = ConfidentialAudit(h.state.sessions, h.state.backend)
    reported = 0
    for _ in range(40):  # the cp runs early: report while it is alive or right after
        reported += auditor.step(utcnow() + timedelta(minutes=2 * (reported + 1)))
        if reported >= 2:
            break
    done = wait_for(h, job["id"], {"SUCCEEDED", "FAILED"})
    detail = h.admin.call("GET", f"/api/v1/jobs/{job['id']}")
    log = h.admin.call("GET", f"/api/v1/jobs/{job['id']}/runs/{detail['runs'][0]['id']}/logs")
    text = log["data"]
    assert done.state == "SUCCEEDED", (done.state_reason, text)
    assert "secret: id,diagnosis" in text
    assert "network cut" in text and "NETWORK OPEN" not in text
    assert "dataset read-only" in text and not (root / "secret" / "leak.txt").exists()
    outputs = list((root / "out").rglob("summary.txt"))
    assert [p.read_text() for p in outputs] == ["3 rows"]  # /work/output is the output dataset
    with h.state.sessions() as session:
        mounted = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "dataset.confidential_mount")
        ).all()
        assert [r.target_name for r in mounted] == ["secret"]
        reports = session.scalars(select(AuditRecord).where(AuditRecord.action == ACTION)).all()
    assert reports and reports[0].target_id == job["id"]
    assert reports[0].details["dataset"] == "secret"


def test_confidential_rules(hangar: Hangar, tmp_path: Path) -> None:
    h = hangar
    secret, out = confidential_setup(h, tmp_path / "tenant")
    user, dev = h.user_api("dora")
    ws = h.default_workspace()["id"]
    h.add_member(ws, user["id"], "developer")
    refused = dev.post(DATASETS, json={"workspace_id": ws, "name": "mine", "confidential": True})
    assert_error(refused, 403)  # admins only (spec 01 §1.1)
    h.admin.call("PATCH", f"{DATASETS}/{secret['id']}", json={"visibility": "workspace"})
    assert_error(dev.delete(f"{DATASETS}/{secret['id']}"), 403)
    multi = h.admin.post("/api/v1/jobs", json={
        "workspace_id": ws, "name": "two-nodes", "mode": "ddp", "worker_count": 1,
        "command": "true", "resources": {"cpu_cores": 0.5, "mem_gib": 1},
        "mounts": [{"kind": "dataset", "id": secret["id"]}]})  # fmt: skip
    assert "use mode 'single'" in assert_error(multi, 422)["message"]
    assert out["confidential"] is False
