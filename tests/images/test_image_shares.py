"""Custom images are per owner and shared on purpose (spec 07 §3, matrix rows 50-54).

A developer sees the preset images, their own custom images and those shared with them (by
user or by their tenant) while the share is enabled and not past its end; a tenant admin sees
all of the tenant's. A share covers every version of the name. Only the maker or a tenant
admin may share or unshare; an operator (or anyone) on another user's image is refused.
Selecting an image for a job goes through the same rules: a disabled or ended share is a 409
that says why. Images are made directly in the database here (the copy itself is covered by
tests/devenvs/test_images.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hangar.db.engine import transaction
from hangar.errors import Conflict
from hangar.images.layers import software_host_dir
from hangar.images.making import do_request
from hangar.images.orm import Image, ImageShare
from hangar.images.service import resolve
from hangar.runtimes.software import layer_site_packages
from hangar.tenancy.access import Actor, tenant_roles
from hangar.tenancy.orm import User
from hangar.workloads.orm import Workload
from tests.jobs.support import Team, build_team, job_body, quiet_hangar
from tests.support import Api, Hangar, assert_error, create_tenant

IMAGES = "/api/v1/images"
SHARES = f"{IMAGES}/shares"


@pytest.fixture
def team(tmp_path: Path, any_db_url: str) -> Iterator[Team]:
    """The visibility and lookup queries are SQL: each test runs on SQLite and PostgreSQL."""
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield build_team(h, {"dev": "developer", "dev2": "developer", "op": "operator"})


def make(h: Hangar, user: dict[str, Any], name: str, version: int = 1, **kw: Any) -> str:
    """A custom image row made by ``user`` (ready unless told)."""
    with transaction(h.state.sessions) as session:
        image = Image(
            tenant_id=user["tenant_id"], name=name, version=version, kind="custom",
            source="jupyterlab", created_by=user["id"], status=kw.pop("status", "ready"),
            path=f"/layers/{name}-{version}", **kw,
        )  # fmt: skip
        session.add(image)
        session.flush()
        return image.id


def names(api: Api, source: str | None = None) -> set[str]:
    params = {"source": source} if source else {}
    return {f"{i['name']}:V{i['version']}" for i in api.call("GET", IMAGES, params=params)}


def share(api: Api, name: str, status: int = 201, **body: Any) -> Any:
    return api.call("POST", f"{IMAGES}/names/{name}/shares", status, json=body)


def test_owners_see_their_own_images_and_share_them_with_a_user(team: Team) -> None:
    h, dev, dev2, op = team.h, team.api("dev"), team.api("dev2"), team.api("op")
    made = make(h, team.users["dev"], "dev-img")
    make(h, team.users["dev"], "dev-img", 2)
    other = make(h, team.users["dev2"], "dev2-img")

    assert names(dev) == {"python-3.11-jupyterlab:V1", "dev-img:V1", "dev-img:V2"}
    assert names(dev, "custom") == {"dev-img:V1", "dev-img:V2"}
    assert names(dev, "preset") == {"python-3.11-jupyterlab:V1"}
    assert names(dev2, "custom") == {"dev2-img:V1"} and names(dev2, "shared") == set()
    assert {"dev-img:V1", "dev2-img:V1"} <= names(team.api("admin"), "custom")  # tenant admin
    assert_error(dev2.get(f"{IMAGES}/{made}"), 404)  # another user's image: not even seen
    assert_error(op.get(f"{IMAGES}/{other}"), 404)
    assert_error(dev2.get(f"{IMAGES}/names/dev-img/versions"), 404)
    assert_error(dev.get(f"{IMAGES}?source=nope"), 422)

    # Selecting it without a share: unknown; with one: it works, newest version first.
    err = assert_error(team.api("dev2").post("/api/v1/jobs", json=_job(team, "dev-img")), 404)
    assert err["fields"] == {"image": "unknown image"}
    row = share(dev, "dev-img", username="dev2")
    assert (row["username"], row["state"], row["expires_at"]) == ("dev2", "active", None)
    assert names(dev2, "shared") == {"dev-img:V1", "dev-img:V2"}
    assert dev2.call("GET", f"{IMAGES}/{made}")["id"] == made
    job = team.submit("dev2", name="with-shared", image="dev-img")
    assert layers(h, job) == ["/layers/dev-img-2"]  # the newest version
    assert layers(h, team.submit("dev2", name="v1", image="dev-img:V1")) == ["/layers/dev-img-1"]
    assert layers(h, team.submit("dev2", name="by-id", image=made)) == ["/layers/dev-img-1"]
    make(h, team.users["dev"], "dev-img", 3)  # later versions are covered too
    assert "dev-img:V3" in names(dev2, "shared")
    assert names(op, "shared") == set()  # shared with dev2 only

    # The version list: name, count, created, updated, versions newest first.
    listed = dev2.call("GET", f"{IMAGES}/names/dev-img/versions")
    assert (listed["name"], listed["version_count"], listed["shared"]) == ("dev-img", 3, True)
    assert [v["version"] for v in listed["versions"]] == [3, 2, 1]
    assert listed["created_at"] <= listed["updated_at"]
    own = dev.call("GET", f"{IMAGES}/names/dev-img/versions")
    assert own["shared"] is False and own["version_count"] == 3
    summary = {n["name"]: n for n in dev.call("GET", f"{IMAGES}/names")}
    assert summary["dev-img"]["version_count"] == 3 and summary["python-3.11-jupyterlab"]
    assert [n["name"] for n in dev2.call("GET", f"{IMAGES}/names?source=shared")] == ["dev-img"]

    # The recipient may not pass it on, cancel it or see its shares (only shared with them).
    err = assert_error(dev2.post(f"{IMAGES}/names/dev-img/shares", json={"username": "op"}), 403)
    assert "only its maker or a tenant admin" in err["message"]
    assert_error(dev2.get(f"{IMAGES}/names/dev-img/shares"), 403)
    assert_error(dev2.patch(f"{SHARES}/{row['id']}", json={"enabled": False}), 403)
    assert_error(dev2.delete(f"{SHARES}/{row['id']}"), 403)
    assert_error(dev2.post(f"{IMAGES}/{made}/cancel"), 403)
    # An operator (or developer) on another user's image it cannot see: 404.
    assert_error(op.post(f"{IMAGES}/names/dev-img/shares", json={"username": "op"}), 404)
    assert_error(op.delete(f"{SHARES}/{row['id']}"), 404)
    assert_error(op.get(f"{IMAGES}/names/dev-img/shares"), 404)

    # The owner lists and removes it; the recipient loses it for new workloads.
    [listed_share] = dev.call("GET", f"{IMAGES}/names/dev-img/shares")
    assert listed_share["id"] == row["id"]
    dev.call("DELETE", f"{SHARES}/{row['id']}", 204)
    assert names(dev2, "shared") == set()
    assert_error(dev2.post("/api/v1/jobs", json=_job(team, "dev-img", "after")), 404)
    assert_error(dev.delete(f"{SHARES}/{row['id']}"), 404)


def test_operators_share_their_own_and_admins_share_anyones(team: Team) -> None:
    h, op, admin = team.h, team.api("op"), team.api("admin")
    make(h, team.users["op"], "op-img")
    make(h, team.users["dev"], "dev-only")
    assert share(op, "op-img", username="dev")["username"] == "dev"  # row 53, operator own
    assert "op-img:V1" in names(team.api("dev"), "shared")
    assert_error(op.post(f"{IMAGES}/names/dev-only/shares", json={"username": "dev2"}), 404)
    by_admin = share(admin, "dev-only", username="op")  # row 53, admin on others'
    assert "dev-only:V1" in names(op, "shared")
    # Once shared with the operator, the operator sees it but still may not manage it.
    err = assert_error(op.post(f"{IMAGES}/names/dev-only/shares", json={"username": "dev2"}), 403)
    assert "only shared with you" in err["message"]
    assert_error(op.delete(f"{SHARES}/{by_admin['id']}"), 403)
    team.api("dev").call("DELETE", f"{SHARES}/{by_admin['id']}", 204)  # the maker unshares

    # Bad targets: named field, rule and fix.
    dev = team.api("dev")
    make(h, team.users["dev"], "bad-target")
    err = assert_error(dev.post(f"{IMAGES}/names/bad-target/shares", json={}), 422)
    assert "exactly one target" in err["message"]
    both = {"username": "op", "tenant_name": "x"}
    assert_error(dev.post(f"{IMAGES}/names/bad-target/shares", json=both), 422)
    err = assert_error(dev.post(f"{IMAGES}/names/bad-target/shares", json={"username": "zed"}), 422)
    assert err["fields"] == {"username": err["fields"]["username"]} and "zed" in err["message"]
    err = assert_error(dev.post(f"{IMAGES}/names/bad-target/shares", json={"username": "dev"}), 422)
    assert "made this image already" in err["message"]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    err = assert_error(
        dev.post(f"{IMAGES}/names/bad-target/shares", json={"username": "op", "expires_at": past}),
        422,
    )
    assert "expires_at" in err["fields"] and "in the future" in err["message"]
    share(dev, "bad-target", username="op")
    err = assert_error(dev.post(f"{IMAGES}/names/bad-target/shares", json={"username": "op"}), 409)
    assert "already shared with user 'op'" in err["message"]
    assert_error(dev.post(f"{IMAGES}/names/python-3.11-jupyterlab/shares",
                          json={"username": "op"}), 404)  # fmt: skip


def test_expired_and_disabled_shares_stop_new_workloads_with_a_reason(team: Team) -> None:
    h, dev, dev2 = team.h, team.api("dev"), team.api("dev2")
    make(h, team.users["dev"], "timed")
    soon = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    row = share(dev, "timed", username="dev2", expires_at=soon.isoformat())
    assert row["state"] == "active" and row["expires_at"].startswith(soon.strftime("%Y-%m-%dT%H"))
    running = team.submit("dev2", name="before", image="timed")

    # Disabled: not listed, and selecting it says why.
    off = dev.call("PATCH", f"{SHARES}/{row['id']}", json={"enabled": False})
    assert off["state"] == "disabled"
    assert names(dev2, "shared") == set()
    err = assert_error(dev2.post("/api/v1/jobs", json=_job(team, "timed", "off")), 409)
    assert "its share is disabled" in err["message"] and err["fields"] == {
        "image": "share disabled"
    }
    assert "ask its owner" in err["message"]
    on = dev.call("PATCH", f"{SHARES}/{row['id']}", json={"enabled": True})
    assert on["state"] == "active"

    # Ended: the same, naming when.
    with transaction(h.state.sessions) as session:
        stored = session.get(ImageShare, row["id"])
        assert stored is not None
        stored.expires_at = datetime.now(UTC) - timedelta(minutes=5)
    [listed] = dev.call("GET", f"{IMAGES}/names/timed/shares")
    assert listed["state"] == "expired"
    err = assert_error(dev2.post("/api/v1/jobs", json=_job(team, "timed", "late")), 409)
    assert "its share ended on" in err["message"] and err["fields"] == {"image": "share expired"}
    # The job submitted before keeps its image.
    assert layers(h, running) == ["/layers/timed-1"]

    # Extending it (or removing the end) makes it work again.
    cleared = dev.call("PATCH", f"{SHARES}/{row['id']}", json={"expires_at": None})
    assert cleared["expires_at"] is None and cleared["state"] == "active"
    team.submit("dev2", name="again", image="timed")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert_error(dev.patch(f"{SHARES}/{row['id']}", json={"expires_at": past}), 422)
    assert_error(dev.patch(f"{SHARES}/nope", json={"enabled": True}), 404)


def test_sharing_with_another_tenant_reaches_all_its_users(team: Team) -> None:
    h, dev = team.h, team.api("dev")
    made = make(h, team.users["dev"], "cross")
    otto = create_tenant(h, "othercorp", "otto")
    olga = h.create_user("olga", admin=otto)
    olga_api = h.login("olga")
    assert names(olga_api, "shared") == set()
    assert_error(olga_api.get(f"{IMAGES}/{made}"), 404)

    err = assert_error(dev.post(f"{IMAGES}/names/cross/shares", json={"tenant_name": "nope"}), 422)
    assert "no tenant named 'nope'" in err["message"]
    own_tenant = h.admin.call("GET", "/api/v1/auth/me")["tenant_name"]
    err = assert_error(
        dev.post(f"{IMAGES}/names/cross/shares", json={"tenant_name": own_tenant}), 422
    )
    assert "your own tenant" in err["message"]
    row = share(dev, "cross", tenant_name="othercorp")
    assert (row["tenant_name"], row["user_id"]) == ("othercorp", None)
    assert names(olga_api, "shared") == {"cross:V1"} == names(otto, "shared")
    assert olga_api.call("GET", f"{IMAGES}/{made}")["id"] == made
    # The other tenant's admin sees the image but may not manage it (the share: 404).
    assert_error(otto.get(f"{IMAGES}/names/cross/shares"), 403)  # seen, not its own
    assert_error(otto.delete(f"{SHARES}/{row['id']}"), 404)

    # Selecting it (the same lookup jobs and dev environments use).
    with transaction(h.state.sessions) as session:
        user = session.scalar(select(User).where(User.id == olga["id"]))
        assert user is not None
        actor = Actor(user=user, tenant_roles=tenant_roles(session, user), via="session")
        assert resolve(session, actor, "cross").id == made
    dev.call("PATCH", f"{SHARES}/{row['id']}", json={"enabled": False})
    with transaction(h.state.sessions) as session:
        user = session.scalar(select(User).where(User.id == olga["id"]))
        assert user is not None
        actor = Actor(user=user, tenant_roles=tenant_roles(session, user), via="session")
        with pytest.raises(Exception, match="its share is disabled"):
            resolve(session, actor, "cross")
    dev.call("DELETE", f"{SHARES}/{row['id']}", 204)
    assert names(olga_api) == {"python-3.11-jupyterlab:V1"}


def test_a_name_belongs_to_its_maker(team: Team) -> None:
    """A new version of a name another user made is refused to a non-admin (a share covers
    every version of a name, so a name has one owner)."""
    h = team.h
    make(h, team.users["dev"], "taken")
    with transaction(h.state.sessions) as session:
        user = session.get(User, team.users["dev2"]["id"])
        assert user is not None
        actor = Actor(user=user, tenant_roles=tenant_roles(session, user), via="session")
        layer_site_packages(software_host_dir(h.settings.home, "w1")).mkdir(parents=True)
        env = Workload(id="w1", name="w1-env", state="Running")
        with pytest.raises(Conflict, match="belongs to another user"):
            do_request(session, actor, home=h.settings.home, workload=env, image_id=None,
                       ide="jupyterlab", name="taken", description="")  # fmt: skip


def _job(team: Team, image: str, name: str = "img-job") -> dict[str, Any]:
    return job_body(team.ws["id"], name, image=image)


def layers(h: Hangar, job: dict[str, Any]) -> list[str]:
    """The image layers a job was submitted with (resolved once, at submission)."""
    with h.state.sessions() as session:
        row = session.get(Workload, job["id"])
        assert row is not None
        return list(row.spec["image_layers"])
