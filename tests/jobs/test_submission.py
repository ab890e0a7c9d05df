"""Submitting a training job: the workload spec contract and every validation rule.

Each refusal is a clear 4xx naming the field, the rule and the fix (issue 3 "Bad input").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hangar.images.service import PRESET_NAME
from hangar.jobs.submission import RQ18
from hangar.workloads.orm import Workload, WorkloadEvent
from tests.jobs.support import GIB, JOBS, Team, job_body
from tests.support import assert_error


def stored(team: Team, job_id: str) -> Workload:
    with team.h.state.sessions() as session:
        job = session.get(Workload, job_id)
        assert job is not None
        session.expunge(job)
        return job


def refused(team: Team, status: int, who: str = "admin", **changes: Any) -> dict[str, Any]:
    body = {**job_body(team.ws["id"], "bad"), **changes}
    return assert_error(team.api(who).post(JOBS, json=body), status)


def test_a_ddp_job_becomes_a_submitted_workload_with_the_contract_spec(team: Team) -> None:
    job = team.submit(
        "dev", mode="ddp", worker_count=2, command="torchrun train.py", env={"LR": "0.1"},
        resources={"cpu_cores": 2.5, "mem_gib": 8, "gpus": 1, "gpu_model": "H800"},
        restart={"fault_tolerance": True, "max_restarts_per_error": 2}, image=PRESET_NAME,
        description="first try",
    )  # fmt: skip
    row = stored(team, job["id"])
    assert (row.kind, row.state, row.source, row.priority) == ("training", "SUBMITTED", "api", 0)
    assert (row.quota_id, row.queue_id) == (team.quota["id"], None)
    assert row.created_by == team.users["dev"]["id"] and row.workspace_id == team.ws["id"]
    assert row.submitted_at is not None and row.description == "first try"
    per_node = {
        "cpu_millicores": 2500, "mem_bytes": 8 * GIB, "gpus": 1, "gpu_model": "H800",
        "spec_id": None,
    }  # fmt: skip
    assert row.spec == {
        "command": "torchrun train.py", "env": {"LR": "0.1"}, "mode": "ddp",
        "worker_count": 2, "node_count": 3, "procs_per_node": 1, "resources": per_node,
        "request": {"cpu_millicores": 7500, "mem_bytes": 24 * GIB, "gpus": 3},
        "restart": {"fault_tolerance": True, "max_restarts_per_error": 2,
                    "restart_scope": "job", "on_exhausted": "fail"},
        "image": PRESET_NAME, "image_layers": [],  # the preset image has no layers of its own
    }  # fmt: skip
    err = refused(team, 404, image="torch:2")
    assert err["fields"] == {"image": "unknown image"} and "hangar image list" in err["message"]
    assert job["occupied"] == "master 2.5C_8G_1*H800×1 + worker 2.5C_8G_1*H800×2"
    with team.h.state.sessions() as session:
        [event] = session.scalars(select(WorkloadEvent).where(WorkloadEvent.workload_id == row.id))
    assert event.kind == "info" and "submitted by dev via api to quota 'team-q'" in event.message


def test_a_spec_record_gives_per_node_resources_and_procs_per_node(team: Team) -> None:
    spec = team.s.specs[2]
    job = team.submit(mode="ddp", worker_count=1, resources={"spec_id": spec["id"]})
    res = stored(team, job["id"]).spec
    assert res["resources"] == {
        "cpu_millicores": 42_000, "mem_bytes": 350 * GIB, "gpus": 2, "gpu_model": "H800",
        "spec_id": spec["id"],
    }  # fmt: skip
    assert res["procs_per_node"] == 2 and res["request"]["gpus"] == 4
    explicit = team.submit(name="p", resources={"spec_id": spec["id"]}, procs_per_node=7)
    assert stored(team, explicit["id"]).spec["procs_per_node"] == 7


def test_the_default_workspace_uses_the_built_in_queue(team: Team) -> None:
    default = team.h.default_workspace()
    job = team.s.admin.call("POST", JOBS, 201, json=job_body(default["id"], "d1"))
    row = stored(team, job["id"])
    builtin = team.s.admin.call("GET", "/api/v1/queues")[0]
    assert builtin["builtin"] and (row.queue_id, row.quota_id) == (builtin["id"], None)
    assert job["pool"] == {"kind": "queue", "id": builtin["id"], "name": "default"}
    queue = team.s.queue("train-q", cards=1, instance_count=2)
    body = job_body(default["id"], "d2", queue_id=queue["id"])
    assert team.s.admin.call("POST", JOBS, 201, json=body)["pool"]["name"] == "train-q"
    body = job_body(default["id"], "d3", quota_id=team.quota["id"])
    err = assert_error(team.s.admin.post(JOBS, json=body), 422)
    assert "default workspace, which uses queues" in err["fields"]["quota_id"]


def test_a_queue_in_a_custom_workspace_is_refused(team: Team) -> None:
    builtin = team.s.admin.call("GET", "/api/v1/queues")[0]
    err = refused(team, 422, queue_id=builtin["id"])
    assert "only the default workspace may use queues (Q3)" in err["fields"]["queue_id"]


def test_workspace_must_be_visible_and_creation_allowed(team: Team) -> None:
    err = refused(team, 404, workspace_id="nope")
    assert err["message"] == "workspace 'nope' not found"
    team.h.user_api("stranger")
    body = job_body(team.ws["id"], "x")
    assert_error(team.h.login("stranger").post(JOBS, json=body), 404)
    token = team.api("dev").call(
        "POST", "/api/v1/tokens", 201, json={"name": "ro", "scopes": ["training:read"]}
    )["token"]
    denied = team.h.client.post(JOBS, json=body, headers={"Authorization": f"Bearer {token}"})
    assert "training:write" in assert_error(denied, 403)["message"]


def test_no_associated_quota_shows_the_rq18_notice(team: Team) -> None:
    lonely = team.h.create_workspace("Lonely")
    body = job_body(lonely["id"], "x")
    err = assert_error(team.s.admin.post(JOBS, json=body), 409)
    assert err["message"].startswith(RQ18) and "'Lonely'" in err["message"]
    options = team.s.admin.call("GET", f"{JOBS}/options", params={"workspace": "Lonely"})
    assert options["notice"] == RQ18 and options["pools"] == []


def test_a_stopped_quota_is_refused_with_rq18(team: Team) -> None:
    team.s.admin.call("POST", f"/api/v1/quotas/{team.quota['id']}/stop")
    err = refused(team, 409)
    assert err["message"].startswith(RQ18) and "quota 'team-q' is stopped" in err["message"]
    options = team.s.admin.call("GET", f"{JOBS}/options", params={"workspace": team.ws["id"]})
    assert options["notice"] == RQ18 and options["pools"][0]["status"] == "stopped"


def test_several_quotas_need_a_pick(team: Team) -> None:
    other = team.s.quota("team-b", cards=1, instance_count=2, weight=51,
                         workspace_ids=[team.ws["id"]])  # fmt: skip
    err = refused(team, 422)
    assert "has 2 resource quotas ('team-b', 'team-q'); pick one (RQ17)" in err["message"]
    assert team.submit(quota_id=other["id"])["pool"]["name"] == "team-b"
    assert team.submit(name="by-name", quota_id="team-b")["pool"]["id"] == other["id"]


def test_quota_must_be_associated_and_allow_training(team: Team) -> None:
    unlinked = team.s.quota("elsewhere", cards=1, instance_count=1, weight=52)
    err = refused(team, 422, quota_id=unlinked["id"])
    assert "not associated" in err["fields"]["quota_id"]
    ide = team.s.quota("ide-only", cards=1, instance_count=1, weight=53,
                       workload_types=["ide", "service"], workspace_ids=[team.ws["id"]])  # fmt: skip
    err = refused(team, 422, quota_id=ide["id"])
    assert "workload type 'training' is not allowed by quota 'ide-only'" in err["message"]
    assert "(allowed: ide, service)" in err["message"]
    # A member who cannot see a quota gets the same 404 as for one that does not exist.
    assert (
        "quota 'elsewhere' not found" in refused(team, 404, "dev", quota_id="elsewhere")["message"]
    )


def test_unknown_quota_queue_and_spec_are_404_naming_them(team: Team) -> None:
    assert refused(team, 404, quota_id="ghost")["message"] == "quota 'ghost' not found"
    default = team.h.default_workspace()
    body = job_body(default["id"], "x", queue_id="ghost-q")
    assert (
        "queue 'ghost-q' not found"
        in assert_error(team.s.admin.post(JOBS, json=body), 404)["message"]
    )
    err = refused(team, 404, resources={"spec_id": "ghost-spec"})
    assert "spec 'ghost-spec' not found" in err["message"] and "resources.spec_id" in err["fields"]


def test_requests_larger_than_any_node_or_the_quota_are_422_with_numbers(team: Team) -> None:
    err = refused(team, 422, resources={"cpu_cores": 8, "mem_gib": 64, "gpus": 9})
    assert "request larger than any node in cluster 'ded-a'" in err["message"]
    assert "one node needs 9 GPUs" in err["message"]
    assert "the largest nodes offer 8 GPUs, 170 CPU cores" in err["message"]
    err = refused(team, 422, resources={"cpu_cores": 8, "mem_gib": 64, "gpus": 13})
    assert "larger than quota 'team-q' can ever hold" in err["message"]
    assert "12 GPUs (H800)" in err["message"]
    quota = f"/api/v1/quotas/{team.quota['id']}"
    team.s.admin.call("POST", f"{quota}/stop")
    team.s.admin.call("POST", f"{quota}/resize", json={"instance_count": 16})  # 336 CPU cores
    team.s.admin.call("POST", f"{quota}/start")
    err = refused(team, 422, mode="ddp", worker_count=2,
                  resources={"cpu_cores": 90, "mem_gib": 64, "gpus": 4})  # fmt: skip
    assert "request larger than cluster 'ded-a': a gang of 3 nodes" in err["message"]
    assert "only 2 ranks fit even with every node empty" in err["message"]


def test_gpu_model_must_be_the_clusters(team: Team) -> None:
    err = refused(team, 422, resources={"cpu_cores": 2, "mem_gib": 4, "gpus": 1,
                                        "gpu_model": "A100"})  # fmt: skip
    assert "cluster 'ded-a' of quota 'team-q' has no A100 cards (it has: H800)" in err["message"]
    err = refused(team, 422, resources={"cpu_cores": 2, "mem_gib": 4, "gpu_model": "H800"})
    assert "gpus is 0" in err["fields"]["resources.gpu_model"]


def test_specs_must_be_of_the_pools_cluster_and_whole_cards(team: Team) -> None:
    default_cluster = team.s.admin.call("GET", "/api/v1/clusters")[0]
    cpu_spec = team.s.admin.call(
        "POST", "/api/v1/specs", 201,
        json={"cluster_id": default_cluster["id"], "cpu_millicores": 1000, "mem_bytes": GIB},
    )  # fmt: skip
    err = refused(team, 422, resources={"spec_id": cpu_spec["id"]})
    assert "belongs to cluster 'default'" in err["message"] and "'ded-a'" in err["message"]
    vgpu = team.s.admin.call(
        "POST", "/api/v1/specs", 201,
        json={"cluster_id": team.s.cluster["id"], "cpu_millicores": 1000, "mem_bytes": 8 * GIB,
              "accel_model": "H800", "accel_count": 1, "vgpu_vram_gib": 10},
    )  # fmt: skip
    err = refused(team, 422, resources={"spec_id": vgpu["id"]})
    assert "slices virtual GPUs" in err["message"]


def test_command_and_name_rules(team: Team) -> None:
    assert "command" in refused(team, 422, command="  ")["fields"]
    assert "rule N1" in refused(team, 422, name="bad name")["message"]
    assert "resources" in refused(team, 422, resources={"gpus": 1})["fields"]


def test_a_stopped_queue_is_refused(team: Team) -> None:
    queue = team.s.queue("q-stop", cards=1, instance_count=1)
    team.s.admin.call("POST", f"/api/v1/queues/{queue['id']}/stop")
    body = job_body(team.h.default_workspace()["id"], "x", queue_id=queue["id"])
    err = assert_error(team.s.admin.post(JOBS, json=body), 409)
    assert "queue 'q-stop' is stopped" in err["message"] and "Q10" in err["message"]


def test_options_show_pools_specs_and_the_users_usage(team: Team) -> None:
    team.h.admin.call(
        "PATCH", f"/api/v1/users/{team.users['dev']['id']}/limits", json={"max_gpus": 4}
    )
    options = team.api("dev").call("GET", f"{JOBS}/options", params={"workspace": "TeamA"})
    [pool] = options["pools"]
    assert pool["name"] == "team-q" and pool["usage"]["total"]["gpus"] == 12
    assert pool["spec_display"] == "21C_175G_1*H800" and pool["instance_count"] == 12
    assert {s["display"] for s in options["specs"]} >= {"21C_175G_1*H800", "2C8G"}
    assert options["user"] == {
        "gpus_used": 0, "gpus_limit": 4, "cpu_cores_used": 0, "cpu_cores_limit": 10000,
    }  # fmt: skip
    assert options["notice"] == ""
