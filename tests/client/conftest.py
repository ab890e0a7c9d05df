"""SDK tests: ``HangarClient`` against a live server over real HTTP (one per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hangar.client import HangarClient
from tests.support import ADMIN_PASSWORD, live_server, test_settings


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("sdk-server")
    with live_server(test_settings(tmp / "home", f"sqlite:///{tmp}/h.db")) as url:
        yield url


@pytest.fixture(scope="module")
def admin(server_url: str) -> Iterator[HangarClient]:
    with HangarClient(server_url) as client:
        client.login("admin", ADMIN_PASSWORD, "sdk-tests")
        yield client
