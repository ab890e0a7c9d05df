"""Fixtures shared by all tests. See tests/support.py for the helpers they build on.

Databases: ``db_url`` is a fresh SQLite file per test. ``any_db_url`` runs the test on SQLite
*and* PostgreSQL. PostgreSQL comes from ``HANGAR_TEST_PG_URL`` (``make test`` starts a
throwaway cluster and sets it); without it those tests fail, naming the fix, unless
``HANGAR_TEST_NO_PG=1`` asks for them to be skipped, which pytest then reports.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psutil
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


@pytest.fixture(scope="session", autouse=True)
def no_leftover_workloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stop, at the end of the session, every process a test left running under this
    session's temporary folders. Workloads are launched detached on purpose (they survive a
    server restart), so a test that ends without stopping its IDE would leave it behind."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "environ"]):
        if proc.pid == os.getpid():
            continue
        info = proc.info
        seen = [*(info.get("cmdline") or ()), info.get("cwd") or ""]
        seen += [v for k, v in (info.get("environ") or {}).items() if k.startswith("HANGAR")]
        if any(base in str(item) for item in seen):
            with contextlib.suppress(psutil.Error):
                for child in proc.children(recursive=True):
                    child.kill()
                proc.kill()


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
