"""``hangar sim``: replay a GPU-cluster trace (or a scenario JSON) through Hangar's scheduler
in virtual time, under one or more policies, and print the figures (docs/simulator.md).

Runs locally: no server, no database, nothing sleeps.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated

import typer

from hangar.cli.context import HangarTyper, OutputOpt, output_format
from hangar.cli.output import OutputFormat, notice, say
from hangar.scheduling.simulate import (
    POLICIES,
    Scenario,
    json_scenario,
    markdown,
    replay,
    summarise,
    to_json,
    trace_scenario,
)

app = HangarTyper(help="Replay a GPU-cluster trace through the scheduler and compare policies.")

PathOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, show_default=False)]


def load(
    nodes: Path | None, pods: Path | None, scenario: Path | None, teams: str,
    shares: str | None, weights: str | None, departures: bool, speedup: int,
) -> Scenario:  # fmt: skip
    if scenario is not None:
        if nodes or pods:
            raise typer.BadParameter("give --scenario, or --nodes and --pods, not both")
        return json_scenario(scenario)
    if nodes is None or pods is None:
        raise typer.BadParameter("give --nodes and --pods (trace CSV files), or --scenario")
    try:
        return trace_scenario(
            nodes, pods, teams=teams,
            shares=[float(s) for s in shares.split(",")] if shares else None,
            weights=[int(w) for w in weights.split(",")] if weights else None,
            departures=departures, speedup=speedup,
        )  # fmt: skip
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--teams/--shares/--weights") from None


@app.command()
def run(
    nodes: PathOpt = None,
    pods: PathOpt = None,
    scenario: Annotated[
        Path | None,
        typer.Option(help="Hangar's scenario JSON instead of the trace CSVs.", exists=True),
    ] = None,
    policy: Annotated[
        list[str] | None,
        typer.Option(help=f"Policy to replay (repeatable): {', '.join(POLICIES)}; default all."),
    ] = None,
    teams: Annotated[str, typer.Option(help="Team assignment: 'qos' or 'hash:N'.")] = "hash:4",
    shares: Annotated[
        str | None, typer.Option(help="Nominal shares per team, comma-separated (0.4,0.3,...).")
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="Quota weights per team, comma-separated, unique.")
    ] = None,
    departures: Annotated[
        bool,
        typer.Option(
            help="Pods end after their traced runtime; --no-departures: admitted pods run to "
            "the end (the saturation replay of the FGD paper)."
        ),
    ] = True,
    speedup: Annotated[
        int, typer.Option(help="Pods arrive N times faster (N times the load).", min=1)
    ] = 1,
    cycle_seconds: Annotated[
        int, typer.Option(help="Run a cycle every N virtual seconds (0: at every event).")
    ] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every run's figures here.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option(help="Write allocation charts (PNG, needs matplotlib) here.")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Replay and print one row per policy; problems in the input are listed with their lines."""
    chosen = policy or list(POLICIES)
    unknown = [p for p in chosen if p not in POLICIES]
    if unknown:
        raise typer.BadParameter(
            f"unknown policy {', '.join(unknown)}; the policies are {', '.join(POLICIES)}",
            param_hint="--policy",
        )
    world = load(nodes, pods, scenario, teams, shares, weights, departures, speedup)
    for problem in world.problems[:20]:
        notice(f"skipped {problem}")
    if world.problems:
        notice(f"{len(world.problems)} input row(s) skipped; every one is in --json")
    results = []
    summaries = []
    for name in chosen:
        out = replay(world, POLICIES[name], cycle_seconds=cycle_seconds)
        summary = summarise(out)
        summaries.append(summary)
        results.append(to_json(summary, out, series=json_out is not None or png is not None))
        for job_id, reason in sorted(out.rejected.items())[:5]:
            notice(f"{name}: {world.job(job_id).source}: {reason}")
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=1))
    if png is not None:
        _charts(results, png)
    if output_format(output) is OutputFormat.JSON:
        plain = [{k: v for k, v in r.items() if k != "allocation_series"} for r in results]
        typer.echo(json.dumps(plain, indent=2, ensure_ascii=False))
        return
    say(markdown(summaries))


def _charts(results: list[dict[str, object]], folder: Path) -> None:
    try:  # optional: not a dependency
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        notice("--png needs matplotlib (pip install matplotlib); no charts written")
        return
    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 4))
    for result in results:
        series = result["allocation_series"]
        assert isinstance(series, list)
        summary = result["summary"]
        assert isinstance(summary, dict)
        ax.step([t / 86400 for t, _ in series], [a for _, a in series], where="post",
                label=str(summary["policy"]), linewidth=0.8)  # fmt: skip
    ax.set_xlabel("days")
    ax.set_ylabel("GPU allocation rate")
    ax.legend()
    fig.savefig(folder / "allocation.png", dpi=120, bbox_inches="tight")
    notice(f"wrote {folder / 'allocation.png'}")
