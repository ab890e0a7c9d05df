"""Simulator console page: paste a scenario, pick policies, compare the figures (the same
``run_simulation`` as ``POST /api/v1/simulations``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hangar.errors import ValidationFailed
from hangar.scheduling.simulate.engine import POLICIES
from hangar.scheduling.simulate.metrics import HEADER, Summary, row
from hangar.scheduling.simulate.router import SimulationCreate, Simulator, run_simulation
from hangar.web.chrome import PageChrome
from hangar.web.templating import render

router = APIRouter(prefix="/simulator", include_in_schema=False)

EXAMPLE = {
    "nodes": [
        {"name": f"gpu-{i}", "cpu_milli": 64000, "memory_mib": 262144, "gpus": 8, "model": "G2"}
        for i in range(2)
    ],
    "teams": [{"name": "vision", "share": 0.5, "weight": 2},
              {"name": "speech", "share": 0.5, "weight": 1}],
    "jobs": [
        {"name": "resnet", "team": "vision", "submit": 0, "runtime": 3600, "gpus": 8},
        {"name": "bert", "team": "vision", "submit": 60, "runtime": 1800, "gpus": 4},
        {"name": "notebook", "team": "vision", "submit": 120, "runtime": 600, "gpus": 1,
         "gpu_milli": 500},
        {"name": "whisper", "team": "speech", "submit": 30, "runtime": 7200, "gpus": 2},
        {"name": "tts", "team": "speech", "submit": 90, "runtime": 900, "gpus": 1},
    ],
}  # fmt: skip


@router.get("")
def simulator_page(request: Request, actor: Simulator, chrome: PageChrome) -> Response:
    context = {
        "chrome": chrome, "policies": list(POLICIES), "chosen": list(POLICIES)[:3],
        "scenario": json.dumps(EXAMPLE, indent=1), "results": None,
    }  # fmt: skip
    return render(request, "simulator/page.html", context)


@router.post("/run", name="simulator.run")
def run(
    request: Request,
    actor: Simulator,
    scenario: Annotated[str, Form()] = "",
    policies: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        data = json.loads(scenario)
    except json.JSONDecodeError as err:
        raise ValidationFailed.field("scenario", f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValidationFailed.field("scenario", "must be a JSON object with nodes, teams, jobs")
    body = SimulationCreate(scenario=data, policies=policies or [])
    results = run_simulation(body)
    rows = [_row(r["summary"]) for r in results]
    return render(
        request, "simulator/_results.html",
        {"header": HEADER, "rows": rows, "results": results},
    )  # fmt: skip


def _row(summary: dict[str, Any]) -> list[str]:
    return list(row(Summary(**summary)))
