"""Resource quotas through the API: every rule of spec 02 §5, §6, §10 (RQ1-RQ18, B1-B3)."""

from __future__ import annotations

import pytest

from tests.resources.conftest import Setup, spec_body
from tests.support import assert_error, create_tenant

Q = "/api/v1/quotas"


def test_create_has_the_spec_defaults(setup: Setup) -> None:
    q = setup.quota("team-a", cards=2, instance_count=2)
    assert (q["borrowing"], q["exclusive"], q["policy"], q["status"]) == (
        False, True, "fifo", "started",
    )  # fmt: skip
    assert q["weight"] == 1 and q["workload_types"] == ["training"]
    assert [a["username"] for a in q["admins"]] == ["admin"]  # the creator (Q4 pre-fill)
    assert q["spec"]["display"] == "42C_350G_2*H800"
    # RQ5: spec × count is only a total.
    assert q["usage"]["total"] == {
        "gpus": 4, "gpu_milli": 0, "cpu_millicores": 84_000, "mem_bytes": 700 * 1024**3,
    }  # fmt: skip
    cluster = setup.admin.call("GET", f"/api/v1/clusters/{setup.cluster['id']}")
    assert (cluster["allocated_gpus"], cluster["unallocated_gpus"]) == (4, 12)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "is required"),
        ("a" * 201, "at most 200 characters (got 201)"),
        ("has space", "may contain only letters"),
        ("dot.ted", "'.'"),
        ("bang!", "'!'"),
        ("tab\there", "may contain only"),
    ],
)
def test_name_rules(setup: Setup, name: str, rule: str) -> None:
    body = assert_error(setup.admin.post(Q, json=setup.quota_body(name)), 422)
    assert rule in body["fields"]["name"], body


def test_name_edge_cases_are_accepted(setup: Setup) -> None:
    setup.quota("a" * 200, weight=1)
    setup.quota("训练-队列_1", weight=2)
    setup.quota("X", weight=3)
    body = assert_error(setup.admin.post(Q, json=setup.quota_body("X", weight=4)), 409)
    assert "already exists" in body["message"]


def test_description_and_types_and_policy(setup: Setup) -> None:
    s = setup
    body = assert_error(s.admin.post(Q, json=s.quota_body("d", description="x" * 129)), 422)
    assert "at most 128 characters (got 129)" in body["fields"]["description"]
    s.quota("d", description="x" * 128)
    body = assert_error(s.admin.post(Q, json=s.quota_body("t", workload_types=[])), 422)
    assert "pick at least one workload type" in body["fields"]["workload_types"]
    body = assert_error(s.admin.post(Q, json=s.quota_body("t", workload_types=["gaming"])), 422)
    assert "'gaming'" in body["fields"]["workload_types"]
    assert "data_cleaning" in body["fields"]["workload_types"]  # the B1 enum is listed
    body = assert_error(s.admin.post(Q, json=s.quota_body("t", weight=2, policy="drf")), 422)
    assert (
        "'drf' is not a scheduling policy; pick one of 'fifo', 'best_effort'"
        in body["fields"]["policy"]
    )
    all_types = ["ide", "training", "finetune", "evaluation", "compression", "service"]
    q = s.quota("t", weight=2, workload_types=[*all_types, "data_cleaning", "ide"])
    assert sorted(q["workload_types"]) == sorted([*all_types, "data_cleaning"])


def test_weight_range_and_uniqueness_per_cluster(setup: Setup) -> None:
    s = setup
    for bad in (0, 101, -3):
        body = assert_error(s.admin.post(Q, json=s.quota_body("w", weight=bad)), 422)
        assert "between 1 and 100" in body["fields"]["weight"]
    s.quota("first", weight=100)
    body = assert_error(s.admin.post(Q, json=s.quota_body("second", weight=100)), 409)
    assert "quota 'first'" in body["message"] and "unique per cluster" in body["message"]
    assert "e.g. 99" in body["message"]
    s.quota("second", weight=99)


def test_cluster_must_be_a_dedicated_cluster_of_the_tenant(setup: Setup) -> None:
    s = setup
    default = next(c for c in s.admin.call("GET", "/api/v1/clusters") if c["kind"] == "default")
    body = assert_error(s.admin.post(Q, json=s.quota_body("x", cluster_id=default["id"])), 422)
    assert "cannot use resource quotas (C1)" in body["fields"]["cluster_id"]
    body = assert_error(s.admin.post(Q, json=s.quota_body("x", cluster_id="nope")), 404)
    assert "cluster 'nope' not found" in body["message"]


def test_instance_spec_rules(setup: Setup) -> None:
    s = setup
    # A CPU-only spec, a 3-card spec, another cluster's spec: all refused (RQ4).
    body = assert_error(s.admin.post(Q, json=s.quota_body("x", spec_id=s.cpu_spec["id"])), 422)
    assert "CPU-only spec" in body["fields"]["spec_id"]
    three = s.admin.call("POST", "/api/v1/specs", 201, json=spec_body(s.cluster["id"], 3))
    body = assert_error(s.admin.post(Q, json=s.quota_body("x", spec_id=three["id"])), 422)
    assert "1, 2, 4 or 8 cards (RQ4)" in body["fields"]["spec"]
    body = assert_error(s.admin.post(Q, json=s.quota_body("x", spec_id="nospec")), 422)
    assert "is not a spec of cluster 'ded-a'" in body["fields"]["spec_id"]


def test_spec_not_of_the_clusters_card_model(setup: Setup) -> None:
    """The cluster's H800 nodes leave it: its H800 specs no longer match its cards."""
    s = setup
    default = next(c for c in s.admin.call("GET", "/api/v1/clusters") if c["kind"] == "default")
    for node in s.admin.call("GET", f"/api/v1/nodes?cluster={s.cluster['id']}"):
        s.admin.call(
            "PUT", f"/api/v1/nodes/{node['id']}/cluster", json={"cluster_id": default["id"]}
        )
    body = assert_error(s.admin.post(Q, json=s.quota_body("x")), 422)
    assert "uses H800 cards but cluster 'ded-a' has no healthy cards" in body["fields"]["spec_id"]


def test_count_bounds_name_the_numbers(setup: Setup) -> None:
    s = setup
    body = assert_error(s.admin.post(Q, json=s.quota_body("big", cards=2, instance_count=9)), 422)
    assert "at most 8" in body["message"] and "16 unallocated cards / 2" in body["message"]
    body = assert_error(s.admin.post(Q, json=s.quota_body("big", instance_count=0)), 422)
    assert "at least 1" in body["fields"]["instance_count"]
    s.quota("a", cards=4, instance_count=3, weight=1)  # 12 of 16 cards
    body = assert_error(s.admin.post(Q, json=s.quota_body("b", cards=8, weight=2)), 422)
    assert "at most 0" in body["message"] and "4 unallocated cards / 8" in body["message"]
    s.quota("b", cards=2, instance_count=2, weight=2)  # the last 4 cards
    cluster = s.admin.call("GET", f"/api/v1/clusters/{s.cluster['id']}")
    assert cluster["unallocated_gpus"] == 0


def test_edit_changes_name_and_description_only(setup: Setup) -> None:
    s = setup
    q = s.quota("old")
    edited = s.admin.call("PATCH", f"{Q}/{q['id']}", json={"name": "new", "description": "d"})
    assert (edited["name"], edited["description"]) == ("new", "d")
    body = assert_error(s.admin.patch(f"{Q}/{q['id']}", json={"weight": 5}), 422)
    assert "not a known field" in body["fields"]["weight"]
    assert_error(s.admin.patch(f"{Q}/{q['id']}", json={"name": "bad name"}), 422)


def test_resize_needs_a_stopped_quota(setup: Setup) -> None:
    s = setup
    q = s.quota("r", cards=2)
    body = assert_error(s.admin.post(f"{Q}/{q['id']}/resize", json={"instance_count": 2}), 409)
    assert "must be stopped before it is resized (RQ14)" in body["message"]
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    resized = s.admin.call(
        "POST", f"{Q}/{q['id']}/resize",
        json={"instance_count": 3, "weight": 7, "borrowing": True, "exclusive": False,
              "workload_types": ["ide", "training"], "spec_id": s.specs[4]["id"]},
    )  # fmt: skip
    assert resized["instance_count"] == 3 and resized["spec"]["accel_count"] == 4
    assert (resized["weight"], resized["borrowing"], resized["exclusive"]) == (7, True, False)
    assert resized["workload_types"] == ["ide", "training"]
    # §6 B2 on a resize: 12 cards held, 4 free → at most 3 + floor(4/4) = 4.
    body = assert_error(s.admin.post(f"{Q}/{q['id']}/resize", json={"instance_count": 5}), 422)
    assert "at most 4" in body["message"]
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 4})


def test_spec_change_forbidden_with_running_or_queued_tasks(setup: Setup) -> None:
    s = setup
    q = s.quota("busy", cards=2, instance_count=2)
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.workload(state="QUEUED", quota_id=q["id"])
    body = assert_error(
        s.admin.post(f"{Q}/{q['id']}/resize", json={"spec_id": s.specs[1]["id"]}), 409
    )
    assert "0 running and 1 queued" in body["message"] and "RQ14" in body["message"]
    # The count may still change, within §6.
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 3})


def test_decrease_bound_is_the_larger_of_in_use_and_largest_queued(setup: Setup) -> None:
    s = setup
    # The workspace is associated, so the scheduler leaves the queued task waiting (a task
    # of a workspace the quota does not serve would be rejected at its next pass).
    q = s.quota("shrink", cards=2, instance_count=4, workspace_ids=[s.workspace["id"]])
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.workload(state="QUEUED", quota_id=q["id"], gpus=3, nodes=2)  # asks for 6 cards
    body = assert_error(s.admin.post(f"{Q}/{q['id']}/resize", json={"instance_count": 2}), 422)
    assert "2 × 2 cards < 6 cards" in body["message"] and "use at least 3" in body["message"]
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 3})


def test_start_stop(setup: Setup) -> None:
    s = setup
    q = s.quota("ss")
    assert_error(s.admin.post(f"{Q}/{q['id']}/start"), 409)
    assert s.admin.call("POST", f"{Q}/{q['id']}/stop")["status"] == "stopped"
    body = assert_error(s.admin.post(f"{Q}/{q['id']}/stop"), 409)
    assert "already stopped" in body["message"]
    assert s.admin.call("POST", f"{Q}/{q['id']}/start")["status"] == "started"


def test_delete_rules_and_release(setup: Setup) -> None:
    s = setup
    q = s.quota("gone", cards=8, instance_count=1)
    body = assert_error(s.admin.delete(f"{Q}/{q['id']}"), 409)
    assert "must be stopped before it is deleted (RQ16)" in body["message"]
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.workload(state="RUNNING", quota_id=q["id"])
    s.workload(state="SUCCEEDED", quota_id=q["id"])  # finished tasks do not count
    body = assert_error(s.admin.delete(f"{Q}/{q['id']}"), 409)
    assert "1 unfinished tasks" in body["message"]
    assert "wait" in body["message"] and "migrate" in body["message"]
    other = s.quota("other", weight=2, instance_count=1)
    s.admin.call("POST", f"{Q}/{other['id']}/stop")
    s.admin.call("DELETE", f"{Q}/{other['id']}", 204)
    assert_error(s.admin.get(f"{Q}/{other['id']}"), 404)


def test_deleted_quota_releases_its_cards(setup: Setup) -> None:
    s = setup
    q = s.quota("all", cards=8, instance_count=2)
    assert s.admin.call("GET", f"/api/v1/clusters/{s.cluster['id']}")["unallocated_gpus"] == 0
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.admin.call("DELETE", f"{Q}/{q['id']}", 204)
    assert s.admin.call("GET", f"/api/v1/clusters/{s.cluster['id']}")["unallocated_gpus"] == 16


def test_foreign_ids_are_404(setup: Setup) -> None:
    s = setup
    q = s.quota("mine")
    other = create_tenant(s.h, "other-co", "other-owner")
    assert_error(other.get(f"{Q}/{q['id']}"), 404)
    assert_error(other.post(f"{Q}/{q['id']}/stop"), 404)
    assert_error(other.delete(f"{Q}/{q['id']}"), 404)
    assert other.call("GET", Q) == []
    # Their own create with our cluster and spec: our cluster is invisible to them.
    body = assert_error(other.post(Q, json=s.quota_body("theirs")), 404)
    assert "cluster" in body["message"]
    assert_error(s.admin.get(f"{Q}/nosuchquota"), 404)


def test_who_may_create_and_manage(setup: Setup) -> None:
    s = setup
    alice, alice_api = s.h.user_api("alice")
    bob, bob_api = s.h.user_api("bob")
    _carol, carol_api = s.h.user_api("carol")
    second, second_api = s.h.user_api("sec")
    # Regular users and second-level admins cannot create quotas (spec 01 §1.1).
    assert_error(alice_api.post(Q, json=s.quota_body("x")), 403)
    s.h.admin.call(
        "POST", "/api/v1/groups", 201, json={"name": "L2", "policy": "second_level_admin"}
    )
    s.h.admin.call(
        "POST", f"/api/v1/groups/{s.h.group('L2')['id']}/members", json={"user_ids": [second["id"]]}
    )
    assert_error(second_api.post(Q, json=s.quota_body("x")), 403)
    # Alice administers the quota; Bob is a member of its workspace; Carol is neither.
    q = s.quota("team", admin_ids=[alice["id"]], workspace_ids=[s.workspace["id"]])
    s.h.add_member(s.workspace["id"], bob["id"], "developer")
    assert [a["username"] for a in q["admins"]] == ["alice"]
    assert alice_api.call("GET", f"{Q}/{q['id']}")["name"] == "team"
    assert [x["id"] for x in bob_api.call("GET", Q)] == [q["id"]]
    assert_error(carol_api.get(f"{Q}/{q['id']}"), 404)
    assert carol_api.call("GET", Q) == []
    body = assert_error(bob_api.post(f"{Q}/{q['id']}/stop"), 403)
    assert "admins of quota 'team'" in body["message"]
    # A quota admin manages it: stop, resize, edit, manage users.
    alice_api.call("POST", f"{Q}/{q['id']}/stop")
    alice_api.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 2})
    alice_api.call("PATCH", f"{Q}/{q['id']}", json={"description": "by alice"})
    done = alice_api.call(
        "PUT", f"{Q}/{q['id']}/admins", json={"user_ids": [alice["id"], bob["id"]]}
    )
    assert [a["username"] for a in done["admins"]] == ["alice", "bob"]
    bob_api.call("POST", f"{Q}/{q['id']}/start")
    body = assert_error(alice_api.put(f"{Q}/{q['id']}/admins", json={"user_ids": []}), 422)
    assert "at least one admin" in body["message"]
    assert_error(alice_api.put(f"{Q}/{q['id']}/admins", json={"user_ids": ["ghost"]}), 404)
    # A read-only token cannot manage, even for an admin of the quota.
    token = alice_api.call(
        "POST", "/api/v1/tokens", 201, json={"name": "ro", "scopes": ["quota:read"]}
    )["token"]
    ro = alice_api.post(f"{Q}/{q['id']}/stop", headers={"Authorization": f"Bearer {token}"})
    assert_error(ro, 403)


def test_usage_counts_running_tasks_and_borrowed_cards(setup: Setup) -> None:
    s = setup
    q = s.quota("used", cards=2, instance_count=4)
    s.workload(state="QUEUED", quota_id=q["id"])
    s.running(quota_id=q["id"], gpus=3, borrowed=1)
    usage = s.admin.call("GET", f"{Q}/{q['id']}/usage")
    assert usage["total"]["gpus"] == 8
    assert usage["used"]["gpus"] == 3 and usage["borrowed"]["gpus"] == 1
    assert usage["used"]["cpu_millicores"] == 3 * 21_000
    assert (usage["running"], usage["queued"]) == (1, 1)
    # Cards in use (3 - 1 borrowed = 2) bound the decrease: 1 instance × 2 cards is enough.
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 1})


def test_list_filters(setup: Setup) -> None:
    """RQ12: search by name, cluster, workspace name; filter by status and workload type."""
    s = setup
    a = s.quota("alpha", workspace_ids=[s.workspace["id"]], workload_types=["ide"])
    b = s.quota("beta", weight=2)
    s.admin.call("POST", f"{Q}/{b['id']}/stop")

    def names(query: str) -> list[str]:
        return [q["name"] for q in s.admin.call("GET", f"{Q}?{query}")]

    assert names("q=alp") == ["alpha"]
    assert names(f"q={b['id']}") == ["beta"]
    assert names(f"workspace={s.workspace['id']}") == names("workspace=TeamA") == ["alpha"]
    assert sorted(names("cluster=ded-a")) == ["alpha", "beta"]
    assert names("status=stopped") == ["beta"]
    assert names("type=ide") == ["alpha"]
    assert names("type=service") == []
    body = assert_error(s.admin.get(f"{Q}?type=gaming"), 422)
    assert "type" in body["fields"]
    assert s.admin.call("GET", f"{Q}/alpha")["id"] == a["id"]  # by name too
