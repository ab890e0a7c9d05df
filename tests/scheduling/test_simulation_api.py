"""``POST /api/v1/simulations`` and the console's Simulator page: the figures per policy, the
input problems and refusals with their sources, and bad requests refused naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.support import quiet_hangar
from tests.support import ADMIN_PASSWORD, Hangar, assert_error
from tests.web.console import logged_in

SIMULATIONS = "/api/v1/simulations"
SCENARIO: dict[str, Any] = {
    "nodes": [{"name": "n1", "cpu_milli": 64000, "memory_mib": 262144, "gpus": 8,
               "model": "G2"},
              {"name": "n2", "cpu_milli": 64000, "memory_mib": 262144, "gpus": 8,
               "model": "H999"}],
    "teams": [{"name": "a", "share": 1.0, "weight": 1}],
    "jobs": [
        {"name": "first", "team": "a", "submit": 0, "runtime": 100, "gpus": 6},
        {"name": "head", "team": "a", "submit": 10, "runtime": 100, "gpus": 4},
        {"name": "small", "team": "a", "submit": 20, "runtime": 100, "gpus": 2},
        {"name": "huge", "team": "a", "submit": 30, "runtime": 100, "gpus": 16},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hangar]:
    home = tmp_path_factory.mktemp("sim-api") / "home"
    with quiet_hangar(home, f"sqlite:///{home.parent / 'db.sqlite'}") as hangar:
        yield hangar


def test_the_api_replays_each_policy_and_names_problems(h: Hangar) -> None:
    results = h.admin.call("POST", SIMULATIONS, 200,
                           json={"scenario": SCENARIO, "policies": ["strict", "best_effort"]})  # fmt: skip
    strict, best = results
    assert strict["summary"]["policy"] == "strict" and best["summary"]["policy"] == "best_effort"
    assert strict["problems"] == ["request:2: node 2: unknown GPU model 'H999'"]
    [refused] = strict["rejected"]
    assert refused["job"] == "huge" and refused["source"] == "request:job 4"
    assert strict["summary"]["delay_mean"] > best["summary"]["delay_mean"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scenario": SCENARIO, "policies": ["lottery"]}, "policies"),
        ({"scenario": {"nodes": "many", "jobs": []}}, "scenario.nodes"),
        ({"scenario": {"nodes": [], "jobs": [{"team": "x"}] * 50_001}}, "scenario.jobs"),
        ({"scenario": {"nodes": [{"name": "n"}], "jobs": []}}, "scenario"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(
    h: Hangar, body: dict[str, Any], field: str
) -> None:
    error = assert_error(h.admin.post(SIMULATIONS, json=body), 422)
    assert field in error["fields"], error


def test_signed_in_users_may_simulate_and_anonymous_callers_may_not(h: Hangar) -> None:
    _, user = h.user_api("sim-user")  # it reads and writes nothing of the platform's
    assert user.post(SIMULATIONS, json={"scenario": SCENARIO}).status_code == 200
    assert h.client.post(SIMULATIONS, json={"scenario": SCENARIO}).status_code == 401


def test_the_console_page_runs_the_example_and_shows_errors(h: Hangar, tmp_path: Path) -> None:
    console = logged_in(h, "admin", ADMIN_PASSWORD)
    page = console.get("/simulator")
    assert page.status_code == 200 and 'id="simulator-form"' in page.text
    assert "resnet" in page.text  # the example scenario, ready to run
    form = {"scenario": json.dumps(SCENARIO), "policies": ["strict", "borrowing"]}
    ran = console.htmx("POST", "/simulator/run", form, form="simulator-form")
    assert ran.status_code == 200, ran.text
    assert 'id="simulation-table"' in ran.text and "<td>borrowing</td>" in ran.text
    assert "skipped request:2: node 2: unknown GPU model" in ran.text
    assert "request:job 4 (huge)" in ran.text
    bad = console.htmx("POST", "/simulator/run", {"scenario": "{nope"}, form="simulator-form")
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#simulator-form-errors"
