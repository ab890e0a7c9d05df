"""Queues through the API: spec 02 §4 (Q1-Q11) and the shared §6 bounds."""

from __future__ import annotations

import pytest

from tests.resources.conftest import Setup
from tests.support import assert_error, create_tenant

QU = "/api/v1/queues"


def test_builtin_default_queue(setup: Setup) -> None:
    s = setup
    queues = s.admin.call("GET", QU)
    default = queues[0]
    assert default["builtin"] and default["name"] == "default"
    assert default["cluster_name"] == "default" and default["spec"] is None
    assert default["workspace"]["name"] == "default"  # Q3: the default workspace uses queues
    assert len(default["workload_types"]) == 7
    assert len([q for q in s.admin.call("GET", QU) if q["builtin"]]) == 1  # created once
    for method, path, body in (
        ("DELETE", f"{QU}/{default['id']}", None),
        ("POST", f"{QU}/{default['id']}/resize", {"instance_count": 2}),
        ("PATCH", f"{QU}/{default['id']}", {"name": "renamed"}),
        ("PUT", f"{QU}/{default['id']}/users", {"users": []}),
    ):
        assert_error(s.admin.request(method, path, json=body), 409)
    s.admin.call("PATCH", f"{QU}/{default['id']}", json={"description": "on demand"})
    assert s.admin.call("POST", f"{QU}/{default['id']}/stop")["status"] == "stopped"
    s.admin.call("POST", f"{QU}/{default['id']}/start")


def test_default_workspace_members_see_the_default_queue_only(setup: Setup) -> None:
    s = setup
    user, api = s.h.user_api("dora")
    assert api.call("GET", QU) == []
    s.h.add_member(s.h.default_workspace()["id"], user["id"], "developer")
    assert [q["name"] for q in api.call("GET", QU)] == ["default"]
    assert_error(api.post(f"{QU}/default/stop"), 403)


def test_create_on_a_dedicated_cluster(setup: Setup) -> None:
    s = setup
    member, member_api = s.h.user_api("mem")
    q = s.queue("train-q", cards=4, instance_count=2, member_ids=[member["id"]])
    assert q["spec"]["display"] == "84C_700G_4*H800" and q["usage"]["total"]["gpus"] == 8
    assert q["status"] == "started" and not q["builtin"]
    assert [(u["username"], u["role"]) for u in q["users"]] == [
        ("admin", "admin"),
        ("mem", "member"),
    ]
    # Queues and quotas share the pool's cards (§6): 8 of 16 are left.
    body = assert_error(
        s.admin.post("/api/v1/quotas", json=s.quota_body("qq", cards=8, instance_count=2)), 422
    )
    assert "at most 1" in body["message"]
    # A member uses the queue but does not manage it (spec 01 §5.2).
    assert member_api.call("GET", f"{QU}/{q['id']}")["name"] == "train-q"
    body = assert_error(member_api.post(f"{QU}/{q['id']}/stop"), 403)
    assert "queue members may only use it" in body["message"]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("name", "", "is required"),
        ("name", "q" * 201, "at most 200"),
        ("name", "no spaces", "may contain only"),
        ("description", "d" * 501, "at most 500 characters (got 501)"),
        ("workload_types", [], "pick at least one"),
        ("workload_types", ["ide", "mining"], "'mining'"),
        ("instance_count", 0, "at least 1"),
    ],
)
def test_bad_input(setup: Setup, field: str, value: object, rule: str) -> None:
    payload = {**setup.queue_body("q"), field: value}
    body = assert_error(setup.admin.post(QU, json=payload), 422)
    assert rule in body["fields"][field], body


def test_default_cluster_and_foreign_ids(setup: Setup) -> None:
    s = setup
    default = next(c for c in s.admin.call("GET", "/api/v1/clusters") if c["kind"] == "default")
    body = assert_error(s.admin.post(QU, json=s.queue_body("q", cluster_id=default["id"])), 422)
    assert "built-in default queue (C1)" in body["fields"]["cluster_id"]
    q = s.queue("mine")
    other = create_tenant(s.h, "other-co", "other-owner")
    assert_error(other.get(f"{QU}/{q['id']}"), 404)
    assert [x["name"] for x in other.call("GET", QU)] == ["default"]  # their own default
    assert_error(other.post(QU, json=s.queue_body("theirs")), 404)
    _u, user_api = s.h.user_api("plain")
    assert_error(user_api.post(QU, json=s.queue_body("x")), 403)
    body = assert_error(s.admin.post(QU, json=s.queue_body("mine")), 409)
    assert "already exists" in body["message"]


def test_resize_rules(setup: Setup) -> None:
    s = setup
    q = s.queue("rq", cards=2, instance_count=2)
    # Q9: no stop needed; count within §6 (4 held, 12 free: at most 2 + 12/2 = 8).
    assert (
        s.admin.call("POST", f"{QU}/{q['id']}/resize", json={"instance_count": 8})["usage"][
            "total"
        ]["gpus"]
        == 16
    )
    body = assert_error(s.admin.post(f"{QU}/{q['id']}/resize", json={"instance_count": 9}), 422)
    assert "at most 8" in body["message"]
    s.workload(state="SUBMITTED", queue_id=q["id"], workspace_id=s.h.default_workspace()["id"])
    body = assert_error(
        s.admin.post(f"{QU}/{q['id']}/resize", json={"spec_id": s.specs[4]["id"]}), 409
    )
    assert "(Q9)" in body["message"] and "1 queued" in body["message"]
    resized = s.admin.call(
        "POST", f"{QU}/{q['id']}/resize", json={"workload_types": ["service", "finetune"]}
    )
    assert resized["workload_types"] == ["finetune", "service"]


def test_stop_start_delete(setup: Setup) -> None:
    s = setup
    q = s.queue("dq")
    body = assert_error(s.admin.delete(f"{QU}/{q['id']}"), 409)
    assert "(Q11)" in body["message"]
    s.admin.call("POST", f"{QU}/{q['id']}/stop")
    s.workload(state="PREPARING", queue_id=q["id"], workspace_id=s.h.default_workspace()["id"])
    body = assert_error(s.admin.delete(f"{QU}/{q['id']}"), 409)
    assert "wait for completion or migrate tasks" in body["message"]
    q2 = s.queue("dq2")
    s.admin.call("POST", f"{QU}/{q2['id']}/stop")
    s.admin.call("DELETE", f"{QU}/{q2['id']}", 204)
    assert_error(s.admin.get(f"{QU}/{q2['id']}"), 404)


def test_manage_users(setup: Setup) -> None:
    s = setup
    a, a_api = s.h.user_api("qa")
    m, m_api = s.h.user_api("qm")
    q = s.queue("uq", admin_ids=[a["id"]])
    assert [u["username"] for u in q["users"]] == ["qa"]
    done = a_api.call(
        "PUT", f"{QU}/{q['id']}/users",
        json={"users": [{"user_id": a["id"], "role": "admin"}, {"user_id": m["id"]}]},
    )  # fmt: skip
    assert [(u["username"], u["role"]) for u in done["users"]] == [
        ("qa", "admin"),
        ("qm", "member"),
    ]
    assert m_api.call("GET", f"{QU}/{q['id']}")["id"] == q["id"]
    body = assert_error(
        a_api.put(f"{QU}/{q['id']}/users", json={"users": [{"user_id": m["id"]}]}), 422
    )
    assert "at least one admin" in body["message"]
    a_api.call("PATCH", f"{QU}/{q['id']}", json={"name": "uq-renamed"})


def test_list_filters(setup: Setup) -> None:
    """Q7: filters by workload type and status; search by name or id."""
    s = setup
    q = s.queue("svc-q", workload_types=["service"])
    s.admin.call("POST", f"{QU}/{q['id']}/stop")

    def names(query: str) -> list[str]:
        return [x["name"] for x in s.admin.call("GET", f"{QU}?{query}")]

    assert names("type=service") == ["default", "svc-q"]
    assert names("type=training") == ["default"]
    assert names("status=stopped") == ["svc-q"]
    assert names(f"q={q['id']}") == names("q=svc") == ["svc-q"]
    assert names("cluster=ded-a") == ["svc-q"]
