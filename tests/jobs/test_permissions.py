"""Who may do what to whose job: matrix rows 63-69 and 79-80 with the owner column.

Developers act on their own jobs only (A6); operators also on others', except copying them
(row 64); workspace admins on every job. Denials are 403 naming the point; jobs in
workspaces the caller cannot enter are 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hangar.tenancy.access import decide
from hangar.tenancy.matrix import BY_KEY, Role
from tests.jobs.support import JOBS, Team, build_team, quiet_hangar
from tests.support import assert_error

ACTIONS = {
    "view": "training.view", "events": "common.events", "logs": "common.logs",
    "stop": "training.stop", "restart": "training.start", "copy": "training.copy",
    "delete": "training.delete",
}  # fmt: skip
ALL = frozenset(ACTIONS)
# (actor, acting on own job?) -> actions allowed. Spelled out, then checked against the matrix.
EXPECTED = {
    ("dev", True): ALL,
    ("dev", False): frozenset(),
    ("op", True): ALL,
    ("op", False): ALL - {"copy"},
    ("wsadmin", False): ALL,
}
ROLES = {"dev": Role.DEVELOPER, "op": Role.OPERATOR, "wsadmin": Role.ADMIN}


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    tmp = tmp_path_factory.mktemp("job-permissions")
    with quiet_hangar(tmp / "home", f"sqlite:///{tmp}/h.db") as h:
        yield build_team(h, {"dev": "developer", "op": "operator", "wsadmin": "admin",
                             "stranger": ""})  # fmt: skip


def test_the_expected_table_is_the_matrix() -> None:
    for (actor, own), allowed in EXPECTED.items():
        for action, point in ACTIONS.items():
            assert decide(BY_KEY[point], {ROLES[actor]}, owner_is_actor=own) == (
                action in allowed
            ), (actor, own, action)


def act(team: Team, who: str, action: str, job: dict[str, Any]) -> Any:
    path = f"{JOBS}/{job['id']}"
    api = team.api(who)
    if action == "view":
        return api.get(path)
    if action == "events":
        return api.get(f"{path}/events")
    if action == "logs":
        return api.get(f"{path}/runs/no-such-run/logs")
    if action == "delete":
        return api.delete(path)
    return api.post(f"{path}/{action}")


PAIRS = (("dev", "dev"), ("dev", "op"), ("op", "op"), ("op", "dev"), ("wsadmin", "dev"))
CASES = [(actor, owner, action) for actor, owner in PAIRS for action in sorted(ACTIONS)]


@pytest.mark.parametrize(("actor", "owner", "action"), CASES)
def test_job_actions_follow_the_matrix(team: Team, actor: str, owner: str, action: str) -> None:
    job = team.submit(owner, name=f"{owner}-{action}-{actor}")
    if action in ("restart", "delete"):
        team.s.admin.call("POST", f"{JOBS}/{job['id']}/stop")
    response = act(team, actor, action, job)
    if action in EXPECTED[(actor, actor == owner)]:
        # Past the gate: 2xx, or 404 for the made-up run id of the logs call.
        assert response.status_code in (200, 201, 204, 404), response.text
        if response.status_code == 404:
            assert action == "logs" and "run 'no-such-run' not found" in response.text
    else:
        body = assert_error(response, 403, "permission_denied")
        assert "on data created by another user" in body["message"]


def test_outsiders_get_404_not_403(team: Team) -> None:
    job = team.submit("dev", name="hidden")
    for action in ACTIONS:
        assert_error(act(team, "stranger", action, job), 404)


def test_lists_show_what_the_matrix_lets_each_caller_see(team: Team) -> None:
    mine = team.submit("dev", name="list-dev")
    theirs = team.submit("op", name="list-op")
    ids = {mine["id"], theirs["id"]}

    def listed(who: str, **params: Any) -> set[str]:
        page = team.api(who).call("GET", JOBS, params={"name": "list-", **params})
        return {j["id"] for j in page["items"]} & ids

    assert listed("dev") == {mine["id"]}  # A6: a developer lists only their own
    assert listed("op") == ids and listed("wsadmin") == ids and listed("admin") == ids
    assert listed("stranger") == set()
    assert listed("op", created_by="dev") == {mine["id"]}
    assert listed("op", created_by="me") == {theirs["id"]}
    assert_error(team.api("stranger").get(JOBS, params={"workspace": "TeamA"}), 404)


def test_a_read_only_token_reads_but_cannot_act(team: Team) -> None:
    job = team.submit("dev", name="ro-token")
    secret = team.api("dev").call(
        "POST", "/api/v1/tokens", 201, json={"name": "ro", "scopes": ["training:read"]}
    )["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert team.h.client.get(f"{JOBS}/{job['id']}", headers=headers).status_code == 200
    denied = team.h.client.post(f"{JOBS}/{job['id']}/stop", headers=headers)
    assert "training:write" in assert_error(denied, 403)["message"]
