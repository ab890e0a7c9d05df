"""A quota's admission policy through the API and into the live scheduler cycle.

``fifo`` (RQ10, the default) and ``best_effort`` are accepted on create and on resize; any
other value is a 422 on ``policy`` naming the allowed ones. The cycle reads the policy
through ``scheduler_quotas`` and applies it.
"""

from __future__ import annotations

import pytest

from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.resources.scheduler_view import scheduler_quotas
from hangar.scheduling.loop import run_cycle
from hangar.workloads.orm import Workload
from tests.resources.conftest import Setup
from tests.support import assert_error

Q = "/api/v1/quotas"


def test_create_with_best_effort_and_read_it_back(setup: Setup) -> None:
    q = setup.quota("loose", policy="best_effort")
    assert q["policy"] == "best_effort"
    assert setup.admin.call("GET", f"{Q}/{q['id']}")["policy"] == "best_effort"
    assert setup.quota("strict", weight=2)["policy"] == "fifo"  # the default
    with setup.h.state.sessions() as session:
        policies = {p.name: p.policy for p in scheduler_quotas(session)}
    assert policies == {"loose": "best_effort", "strict": "fifo"}


@pytest.mark.parametrize("policy", ["lottery", "FIFO", ""])
def test_an_unknown_policy_is_a_422_naming_the_allowed_ones(setup: Setup, policy: str) -> None:
    body = assert_error(setup.admin.post(Q, json=setup.quota_body("x", policy=policy)), 422)
    message = body["fields"]["policy"]
    assert f"'{policy}' is not a scheduling policy" in message
    assert "'fifo', 'best_effort'" in message


def test_resize_changes_the_policy_and_refuses_an_unknown_one(setup: Setup) -> None:
    s = setup
    q = s.quota("r")
    s.admin.call("POST", f"{Q}/{q['id']}/stop")
    resized = s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"policy": "best_effort"})
    assert resized["policy"] == "best_effort"
    body = assert_error(s.admin.post(f"{Q}/{q['id']}/resize", json={"policy": "lottery"}), 422)
    assert "pick one of 'fifo', 'best_effort'" in body["fields"]["policy"]
    back = s.admin.call("POST", f"{Q}/{q['id']}/resize", json={"policy": "fifo"})
    assert back["policy"] == "fifo"


@pytest.mark.parametrize(
    ("policy", "small_state"), [("fifo", "QUEUED"), ("best_effort", "PREPARING")]
)
def test_the_live_cycle_applies_the_policy(setup: Setup, policy: str, small_state: str) -> None:
    """A 2-card quota: the head asks for 4 cards and waits; a 1-card job is queued behind."""
    s = setup
    q = s.quota("team", cards=1, instance_count=2, policy=policy,
                workspace_ids=[s.workspace["id"]])  # fmt: skip
    big = s.workload(state="QUEUED", quota_id=q["id"], gpus=4)
    small = s.workload(state="QUEUED", quota_id=q["id"], gpus=1)
    with transaction(s.h.state.sessions) as session:
        run_cycle(session, now=utcnow(), placement="first_fit")
    with s.h.state.sessions() as session:
        head, behind = session.get(Workload, big), session.get(Workload, small)
        assert head is not None and behind is not None
        assert head.state == "QUEUED"
        assert "needs 4 GPUs, 2 free" in (head.state_reason or ""), head.state_reason
        assert behind.state == small_state, behind.state_reason
        if policy == "fifo":
            assert behind.state_reason == f"waiting behind {big} (head of quota 'team')"
