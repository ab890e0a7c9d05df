"""Fixtures shared by all tests. See tests/support.py for the helpers they build on.

Databases: ``db_url`` is a fresh SQLite file per test. ``any_db_url`` runs the test on SQLite
*and* PostgreSQL. PostgreSQL comes from ``HANGAR_TEST_PG_URL`` (``make test`` starts a
throwaway cluster and sets it); without it those tests fail, naming the fix, unless
``HANGAR_TEST_NO_PG=1`` asks for them to be skipped, which pytest then reports.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    NO_PG_ENV,
    PG_ENV,
    Hangar,
    fresh_pg_database,
    pg_admin_url,
    running_hangar,
    test_settings,
)

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = pg_admin_url()
    if url:
        return url
    if os.environ.get(NO_PG_ENV) == "1":
        pytest.skip(f"PostgreSQL tests skipped on request ({NO_PG_ENV}=1)")
    pytest.fail(
        f"{PG_ENV} is not set, so the PostgreSQL half of the database tests cannot run. "
        "Run `make test` (it starts a throwaway cluster with scripts/test-postgres.sh), or "
        f"export {PG_ENV}=$(scripts/test-postgres.sh)",
        pytrace=False,
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hangar.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hangar.db'}"
    server = request.getfixturevalue("pg_server")
    return fresh_pg_database(server, f"hangar_t_{worker_id}_{os.getpid()}_{next(_counter)}")


@pytest.fixture
def hangar(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    """A fresh Hangar on SQLite, first start done (admin / ADMIN_PASSWORD)."""
    with running_hangar(test_settings(tmp_path / "home", db_url)) as h:
        yield h


@pytest.fixture
def hangar_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    """Like ``hangar``, once on SQLite and once on PostgreSQL."""
    with running_hangar(test_settings(tmp_path / "home", any_db_url)) as h:
        yield h
