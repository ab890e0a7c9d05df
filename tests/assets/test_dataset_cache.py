"""Push to cache (spec 07 §2.3, row 18): a published version copied whole onto the cache tier,
mounted from there, refused for drafts or without a cache tier, removed with the version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.workloads.orm import Run, Workload
from hangar.workloads.runspec import build_run_spec
from tests.assets.test_datasets import DATASETS, SFT_ROWS, import_files, jsonl, sft_dataset
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar, assert_error
from tests.web.console import logged_in


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url, dataset_cache_dir=tmp_path / "nvme") as hangar:
        yield hangar


def test_a_pushed_version_is_mounted_from_the_cache(h: Hangar, tmp_path: Path) -> None:
    ds = sft_dataset(h)
    import_files(h.admin, ds["id"], {"a.jsonl": jsonl(SFT_ROWS)})
    draft = h.admin.post(f"{DATASETS}/{ds['id']}/versions/1.0/cache")
    assert "publish it" in assert_error(draft, 409)["message"]
    h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/publish")
    pushed = h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/cache")
    assert pushed["cached"] is True
    assert h.admin.call("GET", f"{DATASETS}/{ds['id']}/versions/1.0")["cached"] is True
    copy = tmp_path / "nvme" / "datasets" / pushed["id"] / "data.jsonl"
    assert len(copy.read_text().splitlines()) == 2
    ws = h.default_workspace()["id"]
    job = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, "fast", mounts=[{"kind": "dataset", "id": ds["id"]}]))  # fmt: skip
    with h.state.sessions() as session:
        workload = session.get(Workload, job["id"])
        assert workload is not None
        spec = build_run_spec(home=h.settings.home, workload=workload,
                              run=Run(id="r", workload_id=workload.id, number=1, restarts=0),
                              api_url="http://127.0.0.1:1", run_token="t")  # fmt: skip
    assert spec.mounts[0].host_path == copy.parent
    h.admin.call("DELETE", f"{DATASETS}/{ds['id']}/versions/1.0", 204)
    assert not copy.parent.exists()


def test_without_a_cache_tier_push_is_refused(tmp_path: Path, db_url: str) -> None:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        ds = sft_dataset(h)
        import_files(h.admin, ds["id"], {"a.jsonl": jsonl(SFT_ROWS)})
        h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/publish")
        refused = h.admin.post(f"{DATASETS}/{ds['id']}/versions/1.0/cache")
        assert "dataset_cache_dir" in assert_error(refused, 409)["message"]


def test_cli_and_console_push_to_cache(h: Hangar, tmp_path: Path) -> None:
    ds = sft_dataset(h)
    import_files(h.admin, ds["id"], {"a.jsonl": jsonl(SFT_ROWS)})
    h.admin.call("POST", f"{DATASETS}/{ds['id']}/versions/1.0/publish")
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    page = console.get(f"/datasets/{ds['id']}").text
    assert f'hx-post="/datasets/{ds["id"]}/versions/1.0/cache"' in page
    pushed = console.htmx("POST", f"/datasets/{ds['id']}/versions/1.0/cache")
    assert pushed.status_code == 200 and "is in the cache" in pushed.text
