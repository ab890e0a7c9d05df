"""``hangar image versions / share / shares / share-set / unshare`` and ``list --source``
against a live server. The images are made directly in the server's database (making one
from a real dev environment is covered by tests/cli/test_dev.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from hangar.client import HangarClient
from hangar.config import Settings
from hangar.images.orm import Image
from tests import support
from tests.cli.conftest import Cli, flat
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, live_server


@dataclass
class Server:
    url: str
    settings: Settings
    admin: HangarClient


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("cli-images")
    settings = support.test_settings(tmp / "home", f"sqlite:///{tmp}/h.db")
    with live_server(settings) as url, HangarClient(url) as admin:
        admin.login("admin", ADMIN_PASSWORD, "cli-images-admin")
        yield Server(url, settings, admin)


def user_cli(server: Server, tmp_path: Path, username: str) -> tuple[Cli, str]:
    """A new user of the admin's tenant with a CLI logged in as them; returns its id too."""
    user = server.admin.users.create(username=username, password=USER_PASSWORD)
    with HangarClient(server.url) as client:
        client.login(username, USER_PASSWORD, "cli-images")
        token = client.token
    assert token is not None
    cli = Cli(tmp_path / username / "cli.toml")
    cli.use(server.url, token, username)
    return cli, user.id


def make_image(server: Server, tenant_id: str, user_id: str, name: str, version: int) -> None:
    engine = sa.create_engine(server.settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Image).values(
                id=f"{name[:10]}-v{version}", tenant_id=tenant_id, name=name, version=version,
                kind="custom", description="", tags=[], path="", status="ready",
                status_reason="", size_bytes=0, source="jupyterlab", created_by=user_id,
                created_at=sa.func.now(),
            )
        )  # fmt: skip
    engine.dispose()


def test_share_an_image_list_its_versions_and_unshare_it(server: Server, tmp_path: Path) -> None:
    maker, maker_id = user_cli(server, tmp_path, "img_maker")
    taker, _taker_id = user_cli(server, tmp_path, "img_taker")
    tenant_id = server.admin.users.get(maker_id).tenant_id
    make_image(server, tenant_id, maker_id, "cli-shared", 1)
    make_image(server, tenant_id, maker_id, "cli-shared", 2)

    assert [i["name"] for i in maker.json("image", "list", "--source", "custom")] == [
        "cli-shared", "cli-shared",
    ]  # fmt: skip
    assert taker.json("image", "list", "--source", "shared") == []
    listed = maker.ok("image", "versions", "cli-shared").stdout
    assert "cli-shared: 2 version(s), created" in listed
    assert "cli-shared:V2" in listed and "cli-shared:V1" in listed
    missing = taker.fails(1, "image", "versions", "cli-shared")
    assert "image 'cli-shared' not found" in missing.stderr

    bad = maker.fails(2, "image", "share", "cli-shared")
    assert "exactly one of --user or --tenant" in flat(bad.output)
    bad_time = maker.fails(2, "image", "share", "cli-shared", "--user", "x", "--until", "soon")
    assert "'soon' is not a time" in flat(bad_time.output)
    shared = maker.ok("image", "share", "cli-shared", "--user", "img_taker",
                      "--until", "2999-01-01T00:00")  # fmt: skip
    assert "Shared cli-shared with user 'img_taker' (active; share " in shared.stdout
    [row] = maker.json("image", "shares", "cli-shared")
    assert row["username"] == "img_taker" and row["expires_at"].startswith("2999-01-01")
    table = maker.ok("image", "shares", "cli-shared").stdout
    assert row["id"] in table and "user img_taker" in table and "active" in table

    got = taker.json("image", "list", "--source", "shared")
    assert sorted(i["version"] for i in got) == [1, 2]
    assert "(shared with you)" in taker.ok("image", "versions", "cli-shared").stdout
    passing_on = taker.fails(1, "image", "share", "cli-shared", "--user", "img_maker")
    assert "only its maker or a tenant admin" in flat(passing_on.stderr)

    off = maker.ok("image", "share-set", row["id"], "--disable", "--until", "none")
    assert f"Share {row['id']} of cli-shared is disabled." in off.stdout
    assert taker.json("image", "list", "--source", "shared") == []
    assert maker.json("image", "share-set", row["id"], "--enable")["state"] == "active"

    gone = maker.ok("image", "unshare", row["id"])
    assert f"Removed share {row['id']}." in gone.stdout
    assert maker.json("image", "shares", "cli-shared") == []
    assert taker.json("image", "list", "--source", "shared") == []
    again = maker.fails(1, "image", "unshare", row["id"])
    assert "not found" in again.stderr
