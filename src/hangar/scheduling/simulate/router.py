"""``POST /api/v1/simulations``: replay a scenario (Hangar's JSON) through the scheduler under
one or more policies and answer the figures. Synchronous and bounded: it runs in virtual time,
so a scenario of thousands of jobs answers in seconds.

Anyone who may view clusters may simulate (every signed-in user, today): the scenario is the
caller's own data; nothing is read from or written to the platform's clusters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from hangar.api.deps import Permit
from hangar.errors import ValidationFailed
from hangar.scheduling.simulate.engine import POLICIES, replay
from hangar.scheduling.simulate.metrics import summarise, to_json
from hangar.scheduling.simulate.scenario import scenario_from_dict
from hangar.tenancy.access import Actor
from hangar.tenancy.schemas import Input

router = APIRouter(prefix="/api/v1/simulations", tags=["simulations"])
Simulator = Annotated[Actor, Depends(Permit("cluster.view"))]
MAX_NODES, MAX_JOBS = 5_000, 50_000


class SimulationCreate(Input):
    """A scenario (``nodes``, ``teams``, ``jobs``; see docs/simulator.md) and the policies."""

    scenario: dict[str, Any]
    policies: list[str] = Field(default_factory=lambda: list(POLICIES))
    cycle_seconds: Annotated[int, Field(ge=0, le=86_400)] = 0


def run_simulation(body: SimulationCreate) -> list[dict[str, Any]]:
    """Check the request, replay it under each policy; the results without the series."""
    unknown = [p for p in body.policies if p not in POLICIES]
    if unknown or not body.policies:
        raise ValidationFailed.field(
            "policies", f"unknown {', '.join(unknown) or 'none given'}; one or more of "
            f"{', '.join(POLICIES)}",
        )  # fmt: skip
    for key, limit in (("nodes", MAX_NODES), ("jobs", MAX_JOBS)):
        items = body.scenario.get(key)
        if not isinstance(items, list):
            raise ValidationFailed.field(f"scenario.{key}", "must be a list")
        if len(items) > limit:
            raise ValidationFailed.field(
                f"scenario.{key}", f"at most {limit:,} per request (got {len(items):,}); "
                "replay larger ones with `hangar sim run`",
            )  # fmt: skip
    try:
        world = scenario_from_dict(body.scenario, source="request")
    except (KeyError, TypeError, ValueError) as err:
        raise ValidationFailed.field(
            "scenario", f"not a scenario: {err!r} (see docs/simulator.md for the format)"
        ) from None
    results = []
    for name in body.policies:
        out = replay(world, POLICIES[name], cycle_seconds=body.cycle_seconds)
        results.append(to_json(summarise(out), out, series=False))
    return results


@router.post("")
def simulate(actor: Simulator, body: SimulationCreate) -> list[dict[str, Any]]:
    """Replay ``scenario`` under each of ``policies``: per policy the summary (allocation,
    delays, fairness, never scheduled, decisions/s), the input rows skipped and the jobs
    refused, each with its source."""
    return run_simulation(body)
