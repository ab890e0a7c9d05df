"""The simulator on small inputs: bad rows reported with their lines, refusals with their
source, determinism, and the policies' difference (strict FIFO blocks behind the head,
best-effort does not) — all through the server's ``schedule()``."""

from __future__ import annotations

import json
from pathlib import Path

from hangar.scheduling import admission
from hangar.scheduling import loop as live_loop
from hangar.scheduling.simulate import (
    POLICIES,
    json_scenario,
    replay,
    summarise,
    to_json,
    trace_scenario,
)
from hangar.scheduling.simulate import engine as sim_engine

DATA = Path(__file__).parent / "data"


def small() -> object:
    return trace_scenario(DATA / "sim_nodes.csv", DATA / "sim_pods.csv", teams="hash:1")


def test_bad_rows_are_reported_with_their_line_and_counted() -> None:
    world = trace_scenario(DATA / "sim_nodes.csv", DATA / "sim_pods.csv", teams="hash:1")
    problems = [str(p) for p in world.problems]
    assert (
        "sim_nodes.csv:4: malformed number: invalid literal for int() with base 10: 'lots'"
        in problems
    )
    assert any(p.startswith("sim_nodes.csv:5: unknown GPU model 'H999'") for p in problems)
    assert (
        "sim_pods.csv:6: malformed number: invalid literal for int() with base 10: 'oops'"
        in problems
    )
    assert "sim_pods.csv:7: unknown GPU model(s) in gpu_spec: H100" in problems
    assert len(problems) == 4
    assert [j.name for j in world.jobs] == ["p-big", "p-slice", "p-cpu", "p-huge", "p-wait"]
    assert world.gpus == 12


def test_a_job_larger_than_any_node_is_rejected_with_its_source_line() -> None:
    world = trace_scenario(DATA / "sim_nodes.csv", DATA / "sim_pods.csv", teams="hash:1")
    out = replay(world, POLICIES["strict"])
    data = to_json(summarise(out), out)
    [refused] = data["rejected"]
    assert refused["job"] == "p-huge" and refused["source"] == "sim_pods.csv:5"
    assert "larger than any node" in refused["reason"] or "16" in refused["reason"]


def test_strict_fifo_blocks_behind_the_head_and_best_effort_does_not(tmp_path: Path) -> None:
    scenario = {
        "nodes": [{"name": "n1", "cpu_milli": 64000, "memory_mib": 262144, "gpus": 8,
                   "model": "G2"}],
        "teams": [{"name": "a", "share": 1.0, "weight": 1}],
        "jobs": [
            {"name": "first", "team": "a", "submit": 0, "runtime": 100, "gpus": 6},
            {"name": "head", "team": "a", "submit": 10, "runtime": 100, "gpus": 4},
            {"name": "small", "team": "a", "submit": 20, "runtime": 100, "gpus": 2},
        ],
    }  # fmt: skip
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    world = json_scenario(path)
    strict = replay(world, POLICIES["strict"])
    best = replay(world, POLICIES["best_effort"])
    start = {name: {world.job(j).name: s.start for j, s in o.started.items()}
             for name, o in (("strict", strict), ("best", best))}  # fmt: skip
    assert start["strict"] == {"first": 0, "head": 100, "small": 100}  # waits behind the head
    assert start["best"] == {"first": 0, "small": 20, "head": 100}
    assert summarise(strict).delay_mean > summarise(best).delay_mean


def test_same_inputs_give_identical_results() -> None:
    runs = [replay(small(), POLICIES["borrowing"]) for _ in range(2)]  # type: ignore[arg-type]
    first, second = runs
    assert first.started == second.started
    assert first.rejected == second.rejected and first.waiting == second.waiting
    assert first.samples == second.samples
    a, b = (summarise(o) for o in runs)
    assert (a.allocation_mean, a.delay_p99, a.fairness) == (b.allocation_mean, b.delay_p99,
                                                            b.fairness)  # fmt: skip


def test_one_code_path_the_live_loop_and_the_simulator_call_the_same_schedule() -> None:
    assert sim_engine.schedule is admission.schedule
    assert live_loop.schedule is admission.schedule
