"""``hangar sim run``: the table, JSON with every skipped row and refusal, and bad options."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, flat

DATA = Path(__file__).parents[1] / "scheduling" / "data"
NODES, PODS = str(DATA / "sim_nodes.csv"), str(DATA / "sim_pods.csv")


def test_sim_prints_a_row_per_policy_and_lists_skipped_rows(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cli.toml")
    out = cli.ok("sim", "run", "--nodes", NODES, "--pods", PODS, "--policy", "strict",
                 "--policy", "best_effort-first-fit", "--teams", "hash:2")  # fmt: skip
    assert "| strict | best_fit |" in out.stdout
    assert "| best_effort-first-fit | first_fit |" in out.stdout
    assert "skipped sim_pods.csv:6: malformed number" in flat(out.stderr)
    assert "4 input row(s) skipped" in flat(out.stderr)
    assert "sim_pods.csv:5:" in flat(out.stderr)  # the job larger than any node
    report = tmp_path / "sim.json"
    cli.ok("sim", "run", "--nodes", NODES, "--pods", PODS, "--policy", "borrowing",
           "--json", str(report))  # fmt: skip
    [run] = json.loads(report.read_text())
    assert run["summary"]["policy"] == "borrowing" and run["summary"]["jobs"] == 5
    assert len(run["problems"]) == 4 and run["rejected"][0]["source"] == "sim_pods.csv:5"
    assert run["allocation_series"]


def test_bad_options_are_refused_naming_them(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cli.toml")
    bad = cli.fails(2, "sim", "run", "--nodes", NODES, "--pods", PODS, "--policy", "lottery")
    assert "unknown policy lottery" in flat(bad.stderr)
    teams = cli.fails(2, "sim", "run", "--nodes", NODES, "--pods", PODS, "--teams", "hash:2",
                      "--shares", "0.9,0.9")  # fmt: skip
    assert "sum to at most 1" in flat(teams.stderr)
    missing = cli.fails(2, "sim", "run", "--nodes", NODES)
    assert "--pods" in flat(missing.stderr)
