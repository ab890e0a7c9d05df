"""Replay GPU-cluster traces through the server's own scheduler, in virtual time.

``trace_scenario`` / ``json_scenario`` build a :class:`Scenario`; :func:`replay` runs it under
a :class:`Policy` (the same ``schedule()`` the live loop calls); :func:`summarise` and
:func:`markdown` turn the outcome into figures. ``hangar sim`` and ``bench/sim_trace.py``
drive it. See docs/simulator.md.
"""

from hangar.scheduling.simulate.engine import POLICIES, Outcome, Policy, replay
from hangar.scheduling.simulate.metrics import Summary, markdown, summarise, to_json
from hangar.scheduling.simulate.scenario import (
    Job,
    Scenario,
    Team,
    json_scenario,
    scenario_from_dict,
    trace_scenario,
)
from hangar.scheduling.simulate.trace import Problem

__all__ = [
    "POLICIES",
    "Job",
    "Outcome",
    "Policy",
    "Problem",
    "Scenario",
    "Summary",
    "Team",
    "json_scenario",
    "markdown",
    "replay",
    "scenario_from_dict",
    "summarise",
    "to_json",
    "trace_scenario",
]
