"""Console: the Resources page and the Quotas & queues page, with the API's gates."""

from __future__ import annotations

import pytest

from tests.resources.conftest import Setup, build_setup
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in


@pytest.fixture
def setup(hangar: Hangar) -> Setup:
    """A dedicated cluster with specs and a workspace (see tests/resources/conftest.py)."""
    return build_setup(hangar)


def admin_console(s: Setup) -> Console:
    return logged_in(s.h, "admin", ADMIN_PASSWORD)


def test_resources_page_labels_declared_devices(setup: Setup) -> None:
    page = admin_console(setup).get("/resources")
    assert page.status_code == 200, page.text
    assert f'id="cluster-{setup.cluster["id"]}"' in page.text
    assert "16 × H800" in page.text and "<code>170C_1400G_8*H800</code>" in page.text
    assert '<section id="nodes"' in page.text
    assert page.text.count('<span class="badge implicit">DECLARED</span>') >= 20
    assert "gpu-a1" in page.text and "DECLARED-gpu-a1-0" in page.text


def test_a_plain_user_sees_clusters_and_specs_but_not_the_inventory(setup: Setup) -> None:
    setup.h.user_api("bob")
    page = logged_in(setup.h, "bob", USER_PASSWORD).get("/resources")
    assert page.status_code == 200
    assert "ded-a" in page.text and "21C_175G_1*H800" in page.text
    assert '<section id="nodes"' not in page.text


def test_create_stop_start_delete_a_quota(setup: Setup) -> None:
    s = setup
    console = admin_console(s)
    page = console.get("/quotas")
    assert page.status_code == 200
    assert 'id="create-quota-form"' in page.text and 'id="create-queue-form"' in page.text
    assert "on demand" in page.text  # the built-in default queue
    form = {
        "name": "web-q", "cluster_id": s.cluster["id"], "spec_id": s.specs[2]["id"],
        "instance_count": "2", "weight": "9", "workload_types": ["training", "ide"],
        "workspace_ids": [s.workspace["id"]], "exclusive": "true", "policy": "best_effort",
    }  # fmt: skip
    assert 'name="policy"' in page.text
    made = console.htmx("POST", "/quotas", form, form="create-quota-form")
    assert made.status_code == 200, made.text
    assert "Created quota &#39;web-q&#39;." in made.text
    quota = s.admin.call("GET", "/api/v1/quotas/web-q")
    assert quota["workspaces"][0]["name"] == "TeamA" and quota["exclusive"]
    assert not quota["borrowing"] and quota["usage"]["total"]["gpus"] == 4
    assert quota["policy"] == "best_effort" and "best effort" in made.text
    assert f'hx-post="/quotas/{quota["id"]}/stop"' in made.text
    assert "0/4" in made.text  # GPU used / total
    # A duplicate weight: the API's 409 message, in the form's error box.
    again = console.htmx("POST", "/quotas", {**form, "name": "web-q2"}, form="create-quota-form")
    assert again.status_code == 409
    assert again.headers["hx-retarget"] == "#create-quota-form-errors"
    assert "quota &#39;web-q&#39;" in again.text
    stopped = console.htmx("POST", f"/quotas/{quota['id']}/stop")
    assert "Stopped quota" in stopped.text and f'hx-delete="/quotas/{quota["id"]}"' in stopped.text
    assert console.htmx("POST", f"/quotas/{quota['id']}/start").status_code == 200
    assert console.htmx("DELETE", f"/quotas/{quota['id']}").status_code == 409  # started
    console.htmx("POST", f"/quotas/{quota['id']}/stop")
    gone = console.htmx("DELETE", f"/quotas/{quota['id']}")
    assert gone.status_code == 200 and "Deleted quota" in gone.text
    actions = [r["action"] for r in s.admin.call("GET", "/api/v1/audit?action=quota.")["items"]]
    assert {"quota.create", "quota.stop", "quota.start", "quota.delete"} <= set(actions)


def test_create_and_stop_a_queue(setup: Setup) -> None:
    s = setup
    console = admin_console(s)
    form = {
        "name": "web-queue", "cluster_id": s.cluster["id"], "spec_id": s.specs[8]["id"],
        "instance_count": "1", "workload_types": ["service"],
    }  # fmt: skip
    made = console.htmx("POST", "/quotas/queues", form, form="create-queue-form")
    assert made.status_code == 200 and "Created queue" in made.text
    queue = s.admin.call("GET", "/api/v1/queues/web-queue")
    stopped = console.htmx("POST", f"/quotas/queues/{queue['id']}/stop")
    assert "Stopped queue" in stopped.text
    bad = console.htmx("POST", "/quotas/queues", {**form, "name": "x y"}, form="create-queue-form")
    assert bad.status_code == 422 and "may contain only" in bad.text


def test_who_sees_which_controls(setup: Setup) -> None:
    s = setup
    alice, _ = s.h.user_api("alice")
    bob, _ = s.h.user_api("bob")
    mine = s.quota("alices", admin_ids=[alice["id"]], workspace_ids=[s.workspace["id"]])
    s.h.add_member(s.workspace["id"], bob["id"], "developer")
    alice_page = logged_in(s.h, "alice", USER_PASSWORD).get("/quotas").text
    assert f'hx-post="/quotas/{mine["id"]}/stop"' in alice_page
    assert 'id="create-quota-form"' not in alice_page
    bob_console = logged_in(s.h, "bob", USER_PASSWORD)
    bob_page = bob_console.get("/quotas").text
    assert f'id="quota-{mine["id"]}"' in bob_page  # a member of its workspace reads it
    assert f'hx-post="/quotas/{mine["id"]}/stop"' not in bob_page
    assert bob_console.htmx("POST", f"/quotas/{mine['id']}/stop").status_code == 403
    assert bob_console.htmx("POST", "/quotas", {"name": "x"}).status_code == 403
