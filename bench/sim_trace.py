"""Replay the public Alibaba GPU trace under every scheduling policy and record the table.

    .venv/bin/python bench/sim_trace.py [--trace DIR] [--teams hash:4] [--write]

Runs ``hangar.scheduling.simulate`` (the server's own ``schedule()``, virtual time, no
database) on the trace's 1,523 nodes and its 8,152 "default" pods under each policy of
``POLICIES`` in this one process, prints the markdown table, and with ``--write`` replaces the
table between the markers in docs/benchmarks.md with it and the command that produced it.
"""

from __future__ import annotations

import argparse
import platform
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
    parser.add_argument("--policy", action="append", help="default: every policy")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    started = time.perf_counter()
    world = trace_scenario(
        args.trace / "openb_node_list_all_node.csv", args.trace / args.pods, teams=args.teams
    )
    load = time.perf_counter() - started
    print(
        f"{len(world.nodes):,} nodes, {world.gpus:,} GPUs, {len(world.jobs):,} jobs "
        f"({len(world.problems)} rows skipped), teams {args.teams}: loaded in {load:.1f} s"
    )
    summaries = []
    for name in args.policy or list(POLICIES):
        out = replay(world, POLICIES[name])
        summary = summarise(out)
        summaries.append(summary)
        print(
            f"  {name:24} replay {summary.replay_seconds:5.1f} s, "
            f"{summary.decisions_per_second:>9,.0f} decisions/s, "
            f"allocation mean {summary.allocation_mean:.1%}",
            flush=True,
        )
    table = markdown(summaries)
    fairness = "\n".join(f"- {s.policy}: {_shares(s.fairness)}" for s in summaries)
    print(table)
    print(fairness)
    if args.write:
        command = "    .venv/bin/python bench/sim_trace.py --write"
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        block = (
            f"{BEGIN}\n```sh\n{command.strip()}\n```\n\n"
            f"{platform.node() and '2-core dev machine'}, {when}, teams {args.teams}:\n\n"
            f"{table}\n\nPer-team share of the GPU-hours used (nominal share in brackets):\n\n"
            f"{fairness}\n{END}"
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
