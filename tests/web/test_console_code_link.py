"""Console: "Link from tenant storage" on the Code page — a folder on a registered storage
becomes a package (the form version of ``POST /api/v1/code-packages/from-storage``); a bad
path or start file is named in the form and links nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.assets.dataset_orm import CodePackage
from tests.assets.test_datasets import storage
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import logged_in
from tests.web.test_console_pages import assert_no_inline_code

FORM = "link-code-form"


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def test_link_a_folder_on_tenant_storage_from_the_console(h: Hangar, tmp_path: Path) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    before = console.get("/code").text
    assert f'id="{FORM}"' in before and "No storage is registered yet" in before
    root = tmp_path / "pfs"
    made = storage(h, root)
    (root / "repos" / "yolo").mkdir(parents=True)
    (root / "repos" / "yolo" / "train.py").write_text("print(1)\n")
    page = console.get("/code")
    assert page.status_code == 200
    assert_no_inline_code(page.text, "/code")
    assert f'<option value="{made["id"]}">pfs (filesystem)</option>' in page.text
    ws = h.default_workspace()["id"]
    form = {"workspace_id": ws, "name": "yolo-repo", "storage_id": made["id"],
            "path": "repos/yolo", "start_file": "train.py", "description": "the repo"}  # fmt: skip

    bad_path = console.htmx("POST", "/code/from-storage", {**form, "path": "repos/nope"}, form=FORM)
    assert bad_path.status_code == 422, bad_path.text
    assert bad_path.headers["HX-Retarget"] == f"#{FORM}-errors"
    assert "does not exist" in bad_path.text
    escape = console.htmx("POST", "/code/from-storage", {**form, "path": "../x"}, form=FORM)
    assert escape.status_code == 422 and escape.headers["HX-Retarget"] == f"#{FORM}-errors"
    no_start = console.htmx("POST", "/code/from-storage", {**form, "start_file": "main.py"},
                            form=FORM)  # fmt: skip
    assert no_start.status_code == 422 and "start_file" in no_start.text
    no_name = console.htmx("POST", "/code/from-storage", {**form, "name": ""}, form=FORM)
    assert no_name.status_code == 422 and "name" in no_name.text
    with h.state.sessions() as session:
        assert session.query(CodePackage).count() == 0

    linked = console.htmx("POST", "/code/from-storage", form, form=FORM)
    assert linked.status_code == 204, linked.text
    url = linked.headers["HX-Redirect"]
    listed = console.get(f"/code?workspace_id={ws}").text
    assert "yolo-repo" in listed and f'href="{url}"' in listed
    row = listed.split(f'href="{url}"', 1)[1].split("</tr>", 1)[0]
    assert "Tenant storage" in row and "train.py" in row
    assert console.get(url).status_code == 200
    got = h.admin.call("GET", f"/api/v1/code-packages/{url.rsplit('/', 1)[-1]}")
    assert (got["storage_id"], got["path"], got["start_file"], got["description"]) == (
        made["id"], "repos/yolo", "train.py", "the repo")  # fmt: skip


def test_a_developer_links_a_folder_but_not_the_whole_storage(h: Hangar, tmp_path: Path) -> None:
    root = tmp_path / "pfs"
    made = storage(h, root)
    (root / "mine").mkdir()
    ws = h.default_workspace()["id"]
    user, _api = h.user_api("alice")
    h.add_member(ws, user["id"], "developer")
    alice = logged_in(h, "alice", USER_PASSWORD)
    page = alice.get(f"/code?workspace_id={ws}")
    assert page.status_code == 200 and f'<option value="{made["id"]}">' in page.text
    form = {"workspace_id": ws, "name": "mine", "storage_id": made["id"], "path": ""}
    whole = alice.htmx("POST", "/code/from-storage", form, form=FORM)
    assert whole.status_code == 422 and "only admins" in whole.text
    linked = alice.htmx("POST", "/code/from-storage", {**form, "path": "mine"}, form=FORM)
    assert linked.status_code == 204, linked.text
    assert f'href="{linked.headers["HX-Redirect"]}"' in alice.get(f"/code?workspace_id={ws}").text
