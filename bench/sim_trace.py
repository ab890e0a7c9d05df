"""Replay the public Alibaba GPU trace under every scheduling policy and record the table.

    .venv/bin/python bench/sim_trace.py [--trace DIR] [--teams hash:4]
        [--shares 0.4,0.3,0.2,0.1] [--speedup 1000] [--write]

Runs ``hangar.scheduling.simulate`` (the server's own ``schedule()``, virtual time, no
database) on the trace's 1,523 nodes and its 8,152 "default" pods under each policy of
``POLICIES`` in this one process, three ways: the traced arrivals and runtimes, arrivals
``--speedup`` times faster (contention), and saturation (no departures, as the ATC'23 FGD
paper replays this trace). Prints the markdown tables; with ``--write`` replaces them between
the markers in docs/benchmarks.md together with the command that produced them.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from hangar.scheduling.simulate import POLICIES, markdown, replay, summarise, trace_scenario

TRACE = Path("/work/shared/traces/alibaba-gpu-v2023")
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
BEGIN, END = "<!-- sim_trace: begin -->", "<!-- sim_trace: end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=TRACE)
    parser.add_argument("--pods", default="openb_pod_list_default.csv")
    parser.add_argument("--teams", default="hash:4")
    parser.add_argument("--shares", default="0.4,0.3,0.2,0.1", help="nominal team shares")
    parser.add_argument("--speedup", type=int, default=1000, help="the loaded run's factor")
    parser.add_argument("--policy", action="append", help="default: every policy")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    sections = []
    runs = (
        (True, 1, "Traced arrivals and runtimes"),
        (True, args.speedup, f"Arrivals {args.speedup}× faster (traced runtimes)"),
        (False, 1, "Saturation: no departures (the FGD paper's replay)"),
    )
    for departures, speedup, title in runs:
        started = time.perf_counter()
        world = trace_scenario(
            args.trace / "openb_node_list_all_node.csv", args.trace / args.pods,
            teams=args.teams, departures=departures, speedup=speedup,
            shares=[float(x) for x in args.shares.split(",")] if args.shares else None,
        )  # fmt: skip
        load = time.perf_counter() - started
        print(
            f"{title}: {len(world.nodes):,} nodes, {world.gpus:,} GPUs, {len(world.jobs):,} "
            f"jobs ({len(world.problems)} rows skipped), teams {args.teams}, loaded in "
            f"{load:.1f} s"
        )
        summaries = []
        for name in args.policy or list(POLICIES):
            out = replay(world, POLICIES[name])
            summary = summarise(out)
            summaries.append(summary)
            print(
                f"  {name:24} replay {summary.replay_seconds:5.1f} s, "
                f"{summary.decisions_per_second:>9,.0f} decisions/s, allocation mean "
                f"{summary.allocation_mean:.1%}, at the end {summary.allocation_final:.1%}",
                flush=True,
            )
        fairness = "\n".join(f"- {s.policy}: {_shares(s.fairness)}" for s in summaries)
        sections.append(
            f"**{title}**\n\n{markdown(summaries)}\n\nShare of the GPU-hours used per team "
            f"(nominal in brackets):\n\n{fairness}"
        )
        print(sections[-1])
    if args.write:
        command = "    .venv/bin/python bench/sim_trace.py --write"
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        body = "\n\n".join(sections)
        block = (
            f"{BEGIN}\n```sh\n{command.strip()}\n```\n\n"
            f"2-core dev machine, {when}, teams {args.teams} with shares {args.shares}:\n\n"
            f"{body}\n{END}"
        )
        text = DOC.read_text()
        if BEGIN in text:
            head, rest = text.split(BEGIN, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        DOC.write_text(text)
        print(f"wrote the table into {DOC}")


def _shares(fairness: dict[str, tuple[float, float]]) -> str:
    return ", ".join(
        f"{team} {used:.1%} ({nominal:.0%})" for team, (used, nominal) in fairness.items()
    )


if __name__ == "__main__":
    main()
