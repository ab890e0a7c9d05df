"""Console: the job and dev-environment forms offer the workspace's mountable assets, submit
the chosen ones, and the detail pages list the mounts; a code package's Start training and
Online coding open those forms with the package chosen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.support import JOBS, quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar
from tests.web.console import logged_in


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def test_forms_pick_mounts_and_details_list_them(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    data = h.admin.call("POST", "/api/v1/datasets", 201, json={"workspace_id": ws,
                                                              "name": "corpus"})  # fmt: skip
    draft_only = h.admin.call("POST", "/api/v1/datasets/annotated", 201, json={
        "workspace_id": ws, "name": "unpublished", "data_type": "llm", "template": "sft"})  # fmt: skip
    code = h.admin.post("/api/v1/code-packages", data={"workspace_id": ws, "name": "trainer",
                        "start_file": "train.py"}, files=[("files", ("train.py", b"print(1)"))])  # fmt: skip
    package = code.json()
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    form = console.get(f"/jobs/new?workspace_id={ws}").text
    assert f'value="dataset:{data["id"]}"' in form and f'value="code:{package["id"]}"' in form
    assert draft_only["id"] not in form  # nothing published: not mountable
    fields = {
        "workspace_id": ws, "name": "web-mounts", "command": "python train.py",
        "mode": "single", "resource_kind": "custom", "cpu_cores": "1", "mem_gib": "1",
        "mount": [f"dataset:{data['id']}", f"code:{package['id']}"],
    }  # fmt: skip
    made = console.htmx("POST", "/jobs", fields, form="create-job-form")
    assert made.status_code == 200, made.text
    job_id = made.headers["hx-redirect"].rsplit("/", 1)[1]
    job = h.admin.call("GET", f"{JOBS}/{job_id}")
    assert {m["path"] for m in job["mounts"]} == {"/work/mount/dataset/corpus",
                                                  "/work/mount/code/trainer"}  # fmt: skip
    detail = console.get(f"/jobs/{job_id}").text
    assert "<h2>Mounts</h2>" in detail and "<code>/work/mount/dataset/corpus</code>" in detail
    started = console.get(f"/jobs/new?workspace_id={ws}&code={package['id']}").text
    assert "cd /work/mount/code/trainer &amp;&amp; python train.py" in started
    assert f'value="code:{package["id"]}" checked' in started
    coding = console.get(f"/devenvs/new?workspace_id={ws}&code={package['id']}").text
    assert f'value="code:{package["id"]}" checked' in coding and "trainer-dev" in coding
    page = console.get(f"/code/{package['id']}").text
    assert f"/jobs/new?workspace_id={ws}&amp;code={package['id']}" in page
