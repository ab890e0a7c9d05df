"""Code packages API on a real server: packages from multipart uploads (≤ 5 files, each
within the per-file limit, archives kept as they are), search by name and date, downloads
byte for byte, re-upload replacing the files and releasing the tenant's storage, "save to
code package" from a dev environment's home, deletion, and the matrix rows 55-62 and 76."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hangar.assets import code_packages
from hangar.assets.blobs import BlobStore
from hangar.assets.dataset_orm import CodePackage
from hangar.assets.usage import unreferenced, used_bytes
from hangar.db.engine import transaction
from hangar.workloads.orm import Workload
from hangar.workloads.runspec import host_dirs
from tests.assets.test_datasets import storage
from tests.devenvs.support import DEVENVS, env_body
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.support import Api, Hangar, assert_error

CODE = "/api/v1/code-packages"
TRAIN = b"import sys\nprint('training', sys.argv)\n"
ARCHIVE = (
    b"PK\x03\x04" + b"\x11zipped" * 200_000
)  # 1.4 MB: over the 1 MiB body limit of other requests


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def tenant_usage(h: Hangar) -> int:
    tid = h.admin.call("GET", "/api/v1/auth/me")["tenant_id"]
    with h.state.sessions() as session:
        return used_bytes(session, tenant_id=tid)


def stray_blobs(h: Hangar) -> list[str]:
    with h.state.sessions() as session:
        return unreferenced(session, BlobStore(h.settings.home / "blobs"))


def create(
    h: Hangar, ws: str, name: str, files: dict[str, bytes], *, status: int = 201,
    api: Api | None = None, **fields: str,
) -> dict[str, Any]:  # fmt: skip
    response = (api or h.admin).post(
        CODE, data={"workspace_id": ws, "name": name, **fields},
        files=[("files", (path, data)) for path, data in files.items()],
    )  # fmt: skip
    assert response.status_code == status, response.text
    return dict(response.json())


def reupload(
    h: Hangar, package_id: str, files: dict[str, bytes], *, status: int = 200,
    api: Api | None = None, **fields: str,
) -> dict[str, Any]:  # fmt: skip
    response = (api or h.admin).post(
        f"{CODE}/{package_id}/upload", data=fields,
        files=[("files", (path, data)) for path, data in files.items()],
    )  # fmt: skip
    assert response.status_code == status, response.text
    return dict(response.json())


def test_a_package_from_files_search_download_and_delete(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    made = create(h, ws, "resnet-train", {"train.py": TRAIN, "data.zip": ARCHIVE},
                  description="ResNet on ImageNet", start_file="train.py")  # fmt: skip
    assert (made["source"], made["storage"], made["status"]) == ("upload", "platform", "succeeded")
    assert (made["files"], made["size"], made["start_file"]) == (2, len(TRAIN) + len(ARCHIVE),
                                                                 "train.py")  # fmt: skip
    assert made["creator"] == "admin"
    assert sorted(f["path"] for f in made["manifest"]) == ["data.zip", "train.py"]
    assert tenant_usage(h) == len(TRAIN) + len(ARCHIVE)
    # The archive is stored as it is: the start command unpacks it (spec 07 §4).
    got = h.admin.get(f"{CODE}/{made['id']}/files/data.zip")
    assert got.status_code == 200 and got.content == ARCHIVE
    assert h.admin.get(f"{CODE}/{made['id']}/files/train.py").content == TRAIN
    assert_error(h.admin.get(f"{CODE}/{made['id']}/files/missing.py"), 404)
    create(h, ws, "bert-finetune", {"run.sh": b"#!/bin/sh\n"})
    names = [p["name"] for p in h.admin.call("GET", CODE, params={"workspace": ws})]
    assert names == ["bert-finetune", "resnet-train"]  # newest first
    found = h.admin.call("GET", CODE, params={"workspace": ws, "q": "RESNET"})
    assert [p["name"] for p in found] == ["resnet-train"] and found[0]["manifest"] == []
    today = datetime.now(UTC).date()
    within = {"workspace": ws, "created_from": str(today - timedelta(days=1)),
              "created_to": str(today)}  # fmt: skip
    assert len(h.admin.call("GET", CODE, params=within)) == 2
    later = {"workspace": ws, "created_from": str(today + timedelta(days=1))}
    assert h.admin.call("GET", CODE, params=later) == []
    earlier = {"workspace": ws, "created_to": str(today - timedelta(days=1))}
    assert h.admin.call("GET", CODE, params=earlier) == []
    bad = assert_error(h.admin.get(CODE, params={"workspace": ws, "created_from": "soon"}), 422)
    assert "created_from" in bad["fields"]
    shown = h.admin.call("GET", f"{CODE}/{made['id']}")
    assert shown["description"] == "ResNet on ImageNet" and len(shown["manifest"]) == 2
    h.admin.call("DELETE", f"{CODE}/{made['id']}", 204)
    assert tenant_usage(h) == len(b"#!/bin/sh\n")
    assert_error(h.admin.get(f"{CODE}/{made['id']}"), 404)


def test_refused_uploads_keep_nothing(h: Hangar, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = h.default_workspace()["id"]
    six = {f"part{i}.py": b"x" * (i + 1) for i in range(6)}
    many = assert_error(h.admin.post(CODE, data={"workspace_id": ws, "name": "six"},
                                     files=[("files", (k, v)) for k, v in six.items()]), 422)  # fmt: skip
    assert "at most 5 files per upload" in many["message"] and "archive" in many["message"]
    monkeypatch.setattr(code_packages, "FILE_LIMIT", 1000)
    big = create(h, ws, "big", {"ok.py": b"y" * 10, "huge.bin": b"z" * 2000}, status=422)
    assert "huge.bin" in big["message"] and "1,000 bytes per file" in big["message"]
    assert "tenant storage" in big["message"]
    start = create(h, ws, "start", {"main.py": b"1"}, start_file="train.py", status=422)
    assert "start_file" in start["fields"] and "main.py" in start["fields"]["start_file"]
    none = assert_error(h.admin.post(CODE, data={"workspace_id": ws, "name": "empty"}), 422)
    assert "files" in none["fields"]
    assert "name" in create(h, ws, "-bad name", {"a.py": b"1"}, status=422)["fields"]
    long = create(h, ws, "long", {"a.py": b"1"}, description="d" * 1001, status=422)
    assert "description" in long["fields"]
    escape = create(h, ws, "escape", {"../../evil.py": b"1"}, status=422)
    assert "files" in escape["fields"]
    assert h.admin.call("GET", CODE, params={"workspace": ws}) == []
    assert tenant_usage(h) == 0 and stray_blobs(h) == []
    create(h, ws, "taken", {"a.py": b"1"})
    dup = create(h, ws, "taken", {"b.py": b"2"}, status=409)
    assert "already has a code package named 'taken'" in dup["message"]
    assert "pick another name" in dup["message"]


def test_reupload_replaces_the_files_and_releases_storage(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    made = create(h, ws, "detector", {"train.py": TRAIN, "data.zip": ARCHIVE},
                  start_file="train.py")  # fmt: skip
    new = b"print('v2')\n"
    again = reupload(h, made["id"], {"train.py": new})
    assert [f["path"] for f in again["manifest"]] == ["train.py"]
    assert (again["files"], again["size"], again["start_file"]) == (1, len(new), "train.py")
    assert tenant_usage(h) == len(new)  # the old blobs no longer count
    assert h.admin.get(f"{CODE}/{made['id']}/files/train.py").content == new
    assert_error(h.admin.get(f"{CODE}/{made['id']}/files/data.zip"), 404)
    # A start file the new files lack is dropped; one given must be among them.
    third = reupload(h, made["id"], {"main.py": b"3"})
    assert third["start_file"] == ""
    wrong = reupload(h, made["id"], {"run.py": b"4"}, start_file="main.py", status=422)
    assert "start_file" in wrong["fields"]
    assert h.admin.call("GET", f"{CODE}/{made['id']}")["manifest"][0]["path"] == "main.py"
    assert tenant_usage(h) == 1
    h.admin.call("DELETE", f"{CODE}/{made['id']}", 204)
    assert tenant_usage(h) == 0


def dev_home(h: Hangar, env_id: str) -> Path:
    with h.state.sessions() as session:
        workload = session.get(Workload, env_id)
        assert workload is not None
        return host_dirs(h.settings.home, workload).home


def test_save_to_code_package_from_a_dev_environment_home(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    env = h.admin.call("POST", DEVENVS, 201, json=env_body(ws, "notebook"))
    home = dev_home(h, env["id"])
    (home / "project" / "src").mkdir(parents=True)
    (home / "project" / "train.py").write_bytes(TRAIN)
    (home / "project" / "src" / "model.py").write_text("class Net: ...\n")
    (home / "notes.txt").write_text("not in the package")
    body = {"name": "from-notebook", "workload_id": env["id"], "path": "project",
            "start_file": "train.py", "description": "saved"}  # fmt: skip
    saved = h.admin.call("POST", f"{CODE}/from-workload", 201, json=body)
    assert (saved["source"], saved["source_ref"], saved["status"]) == ("ide", env["id"],
                                                                      "succeeded")  # fmt: skip
    assert (saved["workspace_id"], saved["start_file"]) == (ws, "train.py")
    assert sorted(f["path"] for f in saved["manifest"]) == ["src/model.py", "train.py"]
    assert h.admin.get(f"{CODE}/{saved['id']}/files/src/model.py").text == "class Net: ...\n"
    whole = h.admin.call("POST", f"{CODE}/from-workload", 201,
                         json={"name": "whole-home", "workload_id": env["id"]})  # fmt: skip
    assert whole["files"] == 3
    escape = {"name": "escape", "workload_id": env["id"], "path": "../../../etc"}
    assert_error(h.admin.post(f"{CODE}/from-workload", json=escape), 422)
    missing = {"name": "missing", "workload_id": env["id"], "path": "nowhere"}
    assert "path" in assert_error(h.admin.post(f"{CODE}/from-workload", json=missing),
                                  422)["fields"]  # fmt: skip
    job = h.admin.call("POST", JOBS, 201, json=job_body(ws, "train-a"))
    not_env = {"name": "from-job", "workload_id": job["id"]}
    refused = assert_error(h.admin.post(f"{CODE}/from-workload", json=not_env), 422)
    assert "only a dev environment's /work/home" in refused["message"]
    other = h.create_workspace("elsewhere")
    moved = {"name": "moved", "workload_id": env["id"], "workspace_id": other["id"]}
    assert "workspace_id" in assert_error(h.admin.post(f"{CODE}/from-workload", json=moved),
                                          422)["fields"]  # fmt: skip
    names = {p["name"] for p in h.admin.call("GET", CODE, params={"workspace": ws})}
    assert names == {"from-notebook", "whole-home"}


def test_the_matrix_rows_own_and_others(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    dev, dev_api = h.user_api("dora")
    other, other_api = h.user_api("otto")
    op, op_api = h.user_api("opal")
    boss, boss_api = h.user_api("wanda")
    _, outsider_api = h.user_api("xena")
    h.add_member(ws, dev["id"], "developer")
    h.add_member(ws, other["id"], "developer")
    h.add_member(ws, op["id"], "operator")
    h.add_member(ws, boss["id"], "admin")
    mine = create(h, ws, "doras-code", {"train.py": TRAIN}, api=dev_api)  # row 56
    url = f"{CODE}/{mine['id']}"
    # The creator: list, view, download, re-upload (rows 55, 59, 62, 57).
    assert [p["name"] for p in dev_api.call("GET", CODE, params={"workspace": ws})] == [
        "doras-code"
    ]
    assert dev_api.call("GET", url)["name"] == "doras-code"
    assert dev_api.get(f"{url}/files/train.py").content == TRAIN
    reupload(h, mine["id"], {"train.py": b"v2"}, api=dev_api)
    # Another developer and an operator never act on it (A6; rows 55-62: YYYN).
    for api in (other_api, op_api):
        assert api.call("GET", CODE, params={"workspace": ws}) == []
        assert_error(api.get(url), 403)
        assert_error(api.get(f"{url}/files/train.py"), 403)
        assert_error(api.post(f"{url}/upload", files=[("files", ("x.py", b"x"))]), 403)
        assert_error(api.delete(url), 403)
    # An operator may import their own (row 56: YYY-) and act on it.
    own = create(h, ws, "opals-code", {"a.py": b"1"}, api=op_api)
    op_api.call("DELETE", f"{CODE}/{own['id']}", 204)
    # Outside the workspace the package does not exist.
    assert_error(outsider_api.get(url), 404)
    assert_error(outsider_api.delete(url), 404)
    assert_error(outsider_api.post(CODE, data={"workspace_id": ws, "name": "x"},
                                   files=[("files", ("x.py", b"x"))]), 404)  # fmt: skip
    # A workspace admin acts on everyone's packages.
    assert [p["name"] for p in boss_api.call("GET", CODE, params={"workspace": ws})] == [
        "doras-code"
    ]
    assert boss_api.get(f"{url}/files/train.py").content == b"v2"
    reupload(h, mine["id"], {"train.py": b"v3"}, api=boss_api)
    boss_api.call("DELETE", url, 204)
    assert tenant_usage(h) == 0


def test_save_to_code_package_follows_row_76(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    dev, dev_api = h.user_api("dora")
    other, other_api = h.user_api("otto")
    op, op_api = h.user_api("opal")
    boss, boss_api = h.user_api("wanda")
    for user, role in ((dev, "developer"), (other, "developer"), (op, "operator"),
                       (boss, "admin")):  # fmt: skip
        h.add_member(ws, user["id"], role)
    env = dev_api.call("POST", DEVENVS, 201, json=env_body(ws, "doras-nb"))
    home = dev_home(h, env["id"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "train.py").write_bytes(TRAIN)
    body = {"name": "saved", "workload_id": env["id"]}
    # Others' dev environments: a developer and an operator may not save them (YYYN).
    assert_error(other_api.post(f"{CODE}/from-workload", json=body), 403)
    assert_error(op_api.post(f"{CODE}/from-workload", json=body), 403)
    saved = dev_api.call("POST", f"{CODE}/from-workload", 201, json=body)
    assert saved["created_by"] == dev["id"] and saved["source"] == "ide"
    by_admin = boss_api.call("POST", f"{CODE}/from-workload", 201,
                             json={**body, "name": "saved-by-admin"})  # fmt: skip
    assert by_admin["created_by"] == boss["id"] and by_admin["files"] == 1


def test_start_training_and_online_coding_drafts_mount_the_package(h: Hangar) -> None:
    ws = h.default_workspace()["id"]
    package = create(h, ws, "trainer", {"train.py": TRAIN}, start_file="train.py")
    draft = h.admin.call("GET", f"{CODE}/{package['id']}/training-draft")
    assert draft["command"] == "cd /work/mount/code/trainer && python train.py"
    job = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, draft["name"], command=draft["command"], mounts=draft["mounts"]))  # fmt: skip
    assert [m["path"] for m in job["mounts"]] == ["/work/mount/code/trainer"]
    coding = h.admin.call("GET", f"{CODE}/{package['id']}/devenv-draft")
    env = h.admin.call("POST", DEVENVS, 201, json={
        **env_body(ws, coding["name"]), "mounts": coding["mounts"]})  # fmt: skip
    assert [m["path"] for m in env["mounts"]] == ["/work/mount/code/trainer"]
    user, other = h.user_api("otto")
    h.add_member(ws, user["id"], "developer")
    assert_error(other.get(f"{CODE}/{package['id']}/training-draft"), 403)


def test_an_import_a_killed_server_left_is_marked_failed_at_start(
    tmp_path: Path, db_url: str
) -> None:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        ws = h.default_workspace()["id"]
        package = create(h, ws, "half", {"a.py": b"1"})
        with transaction(h.state.sessions) as session:  # as a kill mid-import leaves it
            row = session.get(CodePackage, package["id"])
            assert row is not None
            row.status = "importing"
    with quiet_hangar(tmp_path / "home", db_url) as h:
        got = h.admin.call("GET", f"{CODE}/{package['id']}")
        assert got["status"] == "failed" and "server stopped" in got["status_reason"]
        reuploaded = reupload(h, package["id"], {"b.py": b"2"})
        assert reuploaded["status"] == "succeeded"


def test_a_package_on_tenant_storage_is_mounted_as_it_is(h: Hangar, tmp_path: Path) -> None:
    root = tmp_path / "pfs"
    made = storage(h, root)
    (root / "repo").mkdir()
    (root / "repo" / "train.py").write_bytes(TRAIN)
    ws = h.default_workspace()["id"]
    body = {"workspace_id": ws, "name": "repo", "storage_id": made["id"], "path": "repo",
            "start_file": "train.py"}  # fmt: skip
    package = h.admin.call("POST", f"{CODE}/from-storage", 201, json=body)
    assert (package["storage"], package["source"], package["status"]) == (
        "tenant", "storage", "succeeded")  # fmt: skip
    missing = h.admin.post(f"{CODE}/from-storage", json={**body, "name": "x", "path": "nope"})
    assert "does not exist" in assert_error(missing, 422)["message"]
    no_start = h.admin.post(f"{CODE}/from-storage", json={**body, "name": "y",
                                                         "start_file": "main.py"})  # fmt: skip
    assert "start_file" in assert_error(no_start, 422)["fields"]
    job = h.admin.call("POST", JOBS, 201, json=job_body(
        ws, "from-repo", mounts=[{"kind": "code", "id": package["id"]}]))  # fmt: skip
    assert job["mounts"][0]["path"] == "/work/mount/code/repo"
    refused = reupload(h, package["id"], {"a.py": b"1"}, status=409)
    assert "tenant storage" in refused["message"]
    h.admin.call("DELETE", f"{CODE}/{package['id']}", 204)
    assert (root / "repo" / "train.py").read_bytes() == TRAIN  # decision G1
