"""The resources flows that matter most, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from hangar.resources.orm import Quota
from hangar.resources.scheduler_view import scheduler_queues, scheduler_quotas
from hangar.scheduling.model import WorkloadType
from hangar.workloads.orm import Workload
from tests.resources.conftest import Setup
from tests.support import assert_error

Q = "/api/v1/quotas"
QU = "/api/v1/queues"


def _finish(s: Setup, workload_id: str) -> None:
    with s.h.state.sessions() as session, session.begin():
        session.execute(
            update(Workload).where(Workload.id == workload_id).values(state="SUCCEEDED")
        )


def test_quota_lifecycle(setup_any: Setup) -> None:
    s = setup_any
    q = s.quota("team-a", cards=2, instance_count=2, weight=10, workspace_ids=[s.workspace["id"]])
    body = assert_error(s.admin.post(Q, json=s.quota_body("team-b", weight=10)), 409)
    assert "quota 'team-a'" in body["message"]
    running = s.workload(state="RUNNING", quota_id=q["id"])
    assert_error(s.admin.post(f"{Q}/{q['id']}/resize", json={"instance_count": 3}), 409)
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    assert_error(s.admin.post(f"{Q}/{q['id']}/resize", json={"spec_id": s.specs[4]["id"]}), 409)
    assert (
        s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"instance_count": 3})["usage"]["total"][
            "gpus"
        ]
        == 6
    )
    assert_error(s.admin.delete(f"{Q}/{q['id']}/workspaces/{s.workspace['id']}"), 409)
    assert_error(s.admin.delete(f"{Q}/{q['id']}"), 409)
    _finish(s, running)
    s.admin.call("DELETE", f"{Q}/{q['id']}/workspaces/{s.workspace['id']}", 204)
    s.admin.call("DELETE", f"{Q}/{q['id']}", 204)
    assert s.admin.call("GET", f"/api/v1/clusters/{s.cluster['id']}")["unallocated_gpus"] == 16


def test_queue_lifecycle(setup_any: Setup) -> None:
    s = setup_any
    default = s.admin.call("GET", QU)[0]
    assert default["builtin"] and default["workspace"]["name"] == "default"
    q = s.queue("train-q", cards=8, instance_count=1)
    queued = s.workload(
        state="QUEUED", queue_id=q["id"], workspace_id=s.h.default_workspace()["id"]
    )
    assert_error(s.admin.post(f"{QU}/{q['id']}/resize", json={"spec_id": s.specs[4]["id"]}), 409)
    s.admin.call("POST", f"{QU}/{q['id']}/stop")
    assert_error(s.admin.delete(f"{QU}/{q['id']}"), 409)
    _finish(s, queued)
    s.admin.call("DELETE", f"{QU}/{q['id']}", 204)
    assert [x["name"] for x in s.admin.call("GET", QU)] == ["default"]


def test_weight_is_unique_per_cluster_in_the_database_too(setup_any: Setup) -> None:
    s = setup_any
    first = s.quota("one", weight=5)
    second = s.quota("two", weight=6)
    with pytest.raises(IntegrityError), s.h.state.sessions() as session, session.begin():
        session.execute(update(Quota).where(Quota.id == second["id"]).values(weight=5))
    assert s.admin.call("GET", f"{Q}/{first['id']}")["weight"] == 5


def test_pools_as_the_scheduler_sees_them(setup_any: Setup) -> None:
    s = setup_any
    q = s.quota("sched", cards=2, instance_count=3, weight=4, borrowing=True, exclusive=False,
                workload_types=["ide", "training"], workspace_ids=[s.workspace["id"]])  # fmt: skip
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    queue = s.queue("sched-q", cards=8)
    with s.h.state.sessions() as session:
        (quota,) = scheduler_quotas(session)
        queues = {x.name: x for x in scheduler_queues(session)}
    assert quota.total.gpus == 6 and quota.total.gpu_model == "H800"
    assert quota.total.cpu_millicores == 3 * 42_000
    assert (quota.weight, quota.borrowing, quota.exclusive, quota.started) == (
        4,
        True,
        False,
        False,
    )
    assert quota.workload_types == {WorkloadType.IDE, WorkloadType.TRAINING}
    assert quota.workspace_ids == {s.workspace["id"]}
    assert queues["default"].total is None
    assert queues["default"].default_workspace_id == s.h.default_workspace()["id"]
    assert queues["sched-q"].total is not None and queues["sched-q"].total.gpus == 8
    assert queues["sched-q"].cluster_id == queue["cluster_id"]
