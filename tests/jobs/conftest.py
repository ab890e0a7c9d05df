"""Fixtures of the jobs suite: quiet Hangars (no background loops) with a team set up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.support import Team, build_team, quiet_hangar
from tests.support import Hangar

MEMBERS = {"dev": "developer", "op": "operator"}


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


@pytest.fixture
def quiet_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


@pytest.fixture
def team(quiet: Hangar) -> Team:
    return build_team(quiet, MEMBERS)


@pytest.fixture
def team_any(quiet_any: Hangar) -> Team:
    return build_team(quiet_any, MEMBERS)
