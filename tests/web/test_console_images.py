"""Console: the Images page (preset, own and shared images, cancelling one being made, a
name's versions and its share dialog), the
"Make image" form of a dev environment, and the workspace's idle-policy card on the
Dev environments page.

The app's loops stay still (``quiet_hangar``): an environment's software layer is made on
the host the way a first start leaves it, and the image builder is stepped by the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.db.engine import transaction
from hangar.images.layers import software_host_dir
from hangar.images.making import ImageBuilder
from hangar.images.orm import Image
from hangar.runtimes.software import layer_site_packages
from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in

DEVENVS = "/api/v1/devenvs"
IMAGES = "/api/v1/images"
POLICY_FORM = "idle-policy-form"


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", f"sqlite:///{tmp_path}/h.db") as hangar:
        yield hangar


@pytest.fixture
def admin(h: Hangar) -> Console:
    return logged_in(h, "admin", ADMIN_PASSWORD)


def create_env(h: Hangar, name: str = "img-lab") -> dict[str, Any]:
    body = {"workspace_id": h.default_workspace()["id"], "name": name,
            "resources": {"cpu_cores": 0.5, "mem_gib": 0.25}}  # fmt: skip
    env: dict[str, Any] = h.admin.call("POST", DEVENVS, 201, json=body)
    return env


def with_software(h: Hangar, env_id: str) -> Path:
    """What a first start leaves: the environment's software layer, here with one package."""
    packages = layer_site_packages(software_host_dir(h.settings.home, env_id))
    (packages / "tinypkg").mkdir(parents=True)
    (packages / "tinypkg" / "__init__.py").write_text("X = 42\n")
    return packages


def make_image(admin: Console, env_id: str, name: str) -> Any:
    admin.get(f"/devenvs/{env_id}")
    return admin.htmx("POST", f"/devenvs/{env_id}/image", {"name": name, "description": "d"},
                      form="make-image-form")  # fmt: skip


def image_row(page: str, image_id: str) -> str:
    row = re.search(rf'<tr id="image-{image_id}">.*?</tr>', page, re.S)
    assert row is not None, page
    return row.group(0)


def test_the_images_page_lists_the_preset_and_custom_images_with_their_status(
    h: Hangar, admin: Console
) -> None:
    page = admin.get("/images")
    assert page.status_code == 200, page.text
    assert "python-3.11-jupyterlab:V1" in page.text and "preset" in page.text
    assert 'hx-trigger="every 3s"' not in page.text  # nothing is being made

    env = create_env(h)
    with_software(h, env["id"])
    made = make_image(admin, env["id"], "tiny-env")
    assert made.status_code == 200, made.text
    assert "Making image tiny-env:V1: follow it on the Images page." in made.text
    assert '<section id="devenv"' in made.text and 'hx-swap-oob="true"' in made.text
    [image] = [i for i in h.admin.call("GET", IMAGES) if i["name"] == "tiny-env"]
    assert image["status"] == "building" and image["source_workload_id"] == env["id"]

    building = admin.get("/images")
    row = image_row(building.text, image["id"])
    assert "tiny-env:V1" in row and "building" in row and "custom" in row
    assert f'href="/devenvs/{env["id"]}"' in row  # the environment it comes from
    assert 'hx-get="/images/section" hx-trigger="every 3s"' in building.text

    assert ImageBuilder(h.state.sessions, h.settings.home).step().built == 1
    section = admin.get("/images/section")
    assert section.text.lstrip().startswith('<section id="images"')
    row = image_row(section.text, image["id"])
    assert '<span class="badge ok">ready</span>' in row and "1 files" in row
    assert "Cancel</button>" not in row and 'hx-trigger="every 3s"' not in section.text


def test_the_make_image_form_shows_the_services_refusals_in_its_error_box(
    h: Hangar, admin: Console
) -> None:
    env = create_env(h, "never-started")
    page = admin.get(f"/devenvs/{env['id']}")
    assert 'id="make-image-form"' in page.text and 'id="make-image-form-errors"' in page.text

    never = make_image(admin, env["id"], "never")
    assert never.status_code == 409, never.text
    assert never.headers["hx-retarget"] == "#make-image-form-errors"
    assert never.headers["hx-reswap"] == "innerHTML" and "<html" not in never.text
    assert "dev environment &#39;never-started&#39; has no software of its own yet: start it " in (
        never.text
    )
    bad_name = make_image(admin, env["id"], "-bad")
    assert bad_name.status_code == 422, bad_name.text
    assert bad_name.headers["hx-retarget"] == "#make-image-form-errors"
    assert "name" in bad_name.text and "rule N1" in bad_name.text
    empty = make_image(admin, env["id"], "")
    assert empty.status_code == 422 and "name" in empty.text
    assert [i["kind"] for i in h.admin.call("GET", IMAGES)] == ["preset"]

    with_software(h, env["id"])
    assert make_image(admin, env["id"], "first").status_code == 200
    second = make_image(admin, env["id"], "second")
    assert second.status_code == 409, second.text
    assert "is already being made" in second.text
    assert second.headers["hx-retarget"] == "#make-image-form-errors"


def test_cancelling_an_image_being_made_from_the_images_page(h: Hangar, admin: Console) -> None:
    env = create_env(h)
    with_software(h, env["id"])
    make_image(admin, env["id"], "to-cancel")
    [image] = [i for i in h.admin.call("GET", IMAGES) if i["name"] == "to-cancel"]
    page = admin.get("/images")
    row = image_row(page.text, image["id"])
    assert f'hx-post="/images/{image["id"]}/cancel"' in row and "Cancel</button>" in row

    cancelled = admin.htmx("POST", f"/images/{image['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    row = image_row(cancelled.text, image["id"])
    assert '<span class="badge danger">cancelled</span>' in row and "cancelled by admin" in row
    assert "Cancel</button>" not in row
    assert "Cancelled making to-cancel:V1." in cancelled.text and 'id="flash"' in cancelled.text
    assert h.admin.call("GET", f"{IMAGES}/{image['id']}")["status"] == "cancelled"
    again = admin.htmx("POST", f"/images/{image['id']}/cancel")
    assert again.status_code == 409 and again.headers["hx-retarget"] == "#flash"
    assert "only an image being made can be cancelled" in again.text
    ImageBuilder(h.state.sessions, h.settings.home).step()  # removes what was copied
    assert not (h.settings.home / "images" / image["id"]).exists()


def test_the_idle_policy_card_admins_set_and_clear_others_read(h: Hangar, admin: Console) -> None:
    ws = h.default_workspace()

    def set_policy(console: Console, **boxes: str) -> Any:
        data = {"workspace_id": ws["id"], **boxes}
        return console.htmx("POST", "/devenvs/idle-policy", data, form=POLICY_FORM)

    page = admin.get("/devenvs")
    assert 'id="idle-policy"' in page.text and "Idle policy: none." in page.text
    assert f'id="{POLICY_FORM}"' in page.text and "Clear the policy" not in page.text

    saved = set_policy(admin, idle_minutes="30", locked="on", gpu_busy_percent="20")
    assert saved.status_code == 200, saved.text
    assert saved.text.lstrip().startswith('<section class="card" id="idle-policy"')
    assert "stops after at most <strong>30 idle minutes</strong>" in saved.text
    assert '<span class="badge danger">locked</span>' in saved.text and "above 20%" in saved.text
    assert "Idle policy of &#39;default&#39;: stop after 30 idle minutes, locked." in saved.text
    assert 'name="locked" value="on" checked' in saved.text and "Clear the policy" in saved.text
    policy = h.admin.call("GET", f"/api/v1/workspaces/{ws['id']}/idle-policy")
    assert (policy["idle_minutes"], policy["locked"], policy["gpu_busy_percent"]) == (30, True, 20)
    # The create form shows it too.
    assert "locked by an admin: at most that" in admin.get("/devenvs/new").text

    too_short = set_policy(admin, idle_minutes="2")
    assert too_short.status_code == 422
    assert too_short.headers["hx-retarget"] == f"#{POLICY_FORM}-errors"
    assert "idle_minutes" in too_short.text
    opened = set_policy(admin, idle_minutes="45", gpu_busy_percent="")
    assert "stop after <strong>45 idle minutes</strong>: a default users may change" in opened.text
    assert "above 10%" in opened.text and "locked</span>" not in opened.text
    assert h.admin.call("GET", f"/api/v1/workspaces/{ws['id']}/idle-policy")["locked"] is False

    # A developer of the workspace reads it; the form is not shown and a forced post is refused.
    user, _api = h.user_api("dev_dora")
    h.add_member(ws["id"], user["id"], "developer")
    dora = logged_in(h, "dev_dora", USER_PASSWORD)
    seen = dora.get("/devenvs")
    assert seen.status_code == 200, seen.text
    assert "stop after <strong>45 idle minutes</strong>" in seen.text
    assert f'id="{POLICY_FORM}"' not in seen.text and "Clear the policy" not in seen.text
    assert "Only an admin of default may change it." in seen.text
    forced = set_policy(dora, idle_minutes="600")
    assert forced.status_code == 403
    assert forced.headers["hx-retarget"] == f"#{POLICY_FORM}-errors"
    assert "only an admin of workspace &#39;default&#39; may change its idle policy" in forced.text
    cleared_by_dora = dora.htmx("POST", "/devenvs/idle-policy/clear", {"workspace_id": ws["id"]})
    assert cleared_by_dora.status_code == 403
    assert h.admin.call("GET", f"/api/v1/workspaces/{ws['id']}/idle-policy")["idle_minutes"] == 45

    cleared = admin.htmx("POST", "/devenvs/idle-policy/clear", {"workspace_id": ws["id"]},
                         form="idle-policy-clear-form")  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert "Idle policy: none." in cleared.text
    assert "Removed the idle policy of &#39;default&#39;." in cleared.text
    h.admin.call("GET", f"/api/v1/workspaces/{ws['id']}/idle-policy", 404)
    again = admin.htmx("POST", "/devenvs/idle-policy/clear", {"workspace_id": ws["id"]},
                       form="idle-policy-clear-form")  # fmt: skip
    assert again.status_code == 404 and "has no idle policy" in again.text
    assert again.headers["hx-retarget"] == "#idle-policy-clear-form-errors"

    audit = h.admin.call("GET", "/api/v1/audit", params={"action": "devenv.idle_policy"})
    results = [(a["action"], a["result"]) for a in audit["items"]]
    assert ("devenv.idle_policy.set", "success") in results
    assert ("devenv.idle_policy.clear", "success") in results
    assert ("devenv.idle_policy.set", "denied") in results


def custom_image(h: Hangar, user: dict[str, Any], name: str, version: int) -> str:
    with transaction(h.state.sessions) as session:
        image = Image(tenant_id=user["tenant_id"], name=name, version=version, kind="custom",
                      source="jupyterlab", created_by=user["id"], status="ready")  # fmt: skip
        session.add(image)
        session.flush()
        return image.id


def test_tabs_version_list_and_the_share_dialog(h: Hangar) -> None:
    maker, _ = h.user_api("img_maker")
    h.user_api("img_taker")
    h.user_api("img_other")
    first = custom_image(h, maker, "shared-env", 1)
    second = custom_image(h, maker, "shared-env", 2)
    mia = logged_in(h, "img_maker", USER_PASSWORD)
    tom = logged_in(h, "img_taker", USER_PASSWORD)
    olly = logged_in(h, "img_other", USER_PASSWORD)

    custom = mia.get("/images?source=custom")
    assert custom.status_code == 200, custom.text
    assert 'href="/images?source=shared"' in custom.text and 'aria-current="true">My images' in (
        custom.text
    )
    assert "python-3.11-jupyterlab" not in image_row(custom.text, first)
    assert 'href="/images/names/shared-env"' in image_row(custom.text, second)
    assert "python-3.11-jupyterlab:V1" not in custom.text  # the preset tab only
    assert "No images are shared with you." in tom.get("/images?source=shared").text
    assert f'id="image-{first}"' not in tom.get("/images").text  # not his, not shared

    page = mia.get("/images/names/shared-env")
    assert page.status_code == 200, page.text
    assert "2 versions" in page.text and f'id="version-{second}"' in page.text
    assert 'id="share-image-form"' in page.text and "Not shared with anyone." in page.text
    assert olly.get("/images/names/shared-env").status_code == 404

    unknown = mia.htmx("POST", "/images/names/shared-env/shares",
                       {"target": "user", "username": "nobody", "enabled": "on"},
                       form="share-image-form")  # fmt: skip
    assert unknown.status_code == 422, unknown.text
    assert unknown.headers["hx-retarget"] == "#share-image-form-errors"
    assert "no user &#39;nobody&#39; in your tenant" in unknown.text

    shared = mia.htmx("POST", "/images/names/shared-env/shares",
                      {"target": "user", "username": "img_taker", "tenant_name": "ignored",
                       "expires_at": "2999-01-01T00:00", "enabled": "on"},
                      form="share-image-form")  # fmt: skip
    assert shared.status_code == 200, shared.text
    assert shared.text.lstrip().startswith('<section class="card" id="image-shares">')
    assert "Shared shared-env with user img_taker." in shared.text
    [share] = h.admin.call("GET", f"{IMAGES}/names/shared-env/shares")
    row = re.search(rf'<tr id="share-{share["id"]}">.*?</tr>', shared.text, re.S)
    assert row is not None and "user img_taker" in row.group(0) and "active" in row.group(0)

    mine = tom.get("/images?source=shared")
    assert "shared with me" in image_row(mine.text, first)
    assert f'id="image-{second}"' in mine.text
    theirs = tom.get("/images/names/shared-env")
    assert theirs.status_code == 200 and "shared with you" in theirs.text
    assert 'id="share-image-form"' not in theirs.text  # only the maker (or an admin) shares
    assert tom.htmx("POST", f"/images/shares/{share['id']}/delete").status_code == 403

    off = mia.htmx("POST", f"/images/shares/{share['id']}/toggle")
    assert off.status_code == 200 and f"Share {share['id']} disabled." in off.text
    assert f'id="image-{first}"' not in tom.get("/images?source=shared").text
    on = mia.htmx("POST", f"/images/shares/{share['id']}/toggle")
    assert "Enable</button>" not in on.text and "Disable</button>" in on.text

    gone = mia.htmx("POST", f"/images/shares/{share['id']}/delete")
    assert gone.status_code == 200 and f"Removed share {share['id']}." in gone.text
    assert "Not shared with anyone." in gone.text
    assert tom.get("/images/names/shared-env").status_code == 404
