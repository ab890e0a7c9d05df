"""Backends under test: ``plain`` (no sandbox), ``sandboxed`` (bubblewrap, skipped with the
reason where bubblewrap cannot run), and ``any_backend`` (each test once per mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hangar.backends import BackendError
from hangar.backends.local.backend import LocalBackend
from tests.backends.support import make_backend


@pytest.fixture
def plain(tmp_path: Path) -> LocalBackend:
    return make_backend(tmp_path, sandbox="off")


@pytest.fixture
def sandboxed(tmp_path: Path) -> LocalBackend:
    try:
        return make_backend(tmp_path, sandbox="required")
    except BackendError as exc:
        pytest.skip(f"bubblewrap cannot run here: {exc.message}")


@pytest.fixture(params=["plain", "sandboxed"])
def any_backend(request: pytest.FixtureRequest) -> LocalBackend:
    backend: LocalBackend = request.getfixturevalue(request.param)
    return backend
