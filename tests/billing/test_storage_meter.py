"""The storage meter on real files and a real database: sizes, hard links and symlinks,
the entry bound, and today's peak rows (spec 10 B-E2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hangar.billing.orm import SettlementMark, StoragePeak
from hangar.billing.storage_meter import StorageMeter, Usage, walk
from hangar.db.engine import transaction
from hangar.tenancy.orm import User, Workspace
from tests.jobs.support import build_team, quiet_hangar
from tests.support import Hangar

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture
def quiet_any(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def ids(h: Hangar) -> tuple[str, str, str]:
    """(tenant, admin user, default workspace) of the first tenant."""
    with h.state.sessions() as session:
        user = session.scalars(select(User).where(User.username == "admin")).one()
        ws = session.scalars(select(Workspace).where(Workspace.tenant_id == user.tenant_id)).first()
        assert ws is not None
        return user.tenant_id, user.id, ws.id


def peaks(h: Hangar) -> dict[tuple[str, str, str], tuple[int, int]]:
    with h.state.sessions() as session:
        return {
            (r.owner_kind, r.owner_id, r.day): (r.peak_bytes, r.last_bytes)
            for r in session.scalars(select(StoragePeak))
        }


def test_walk_counts_files_once_and_never_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "owner"
    write(root / "a.bin", 1000)
    write(root / "deep" / "er" / "b.bin", 234)
    os.link(root / "a.bin", root / "deep" / "a-again.bin")  # a hard link: counted once
    outside = write(tmp_path / "elsewhere" / "big.bin", 10_000)
    (root / "to-file").symlink_to(outside)
    (root / "to-dir").symlink_to(outside.parent, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    assert walk(root, Usage()).bytes == 1234
    # The owner's directory itself a symlink: not followed either.
    (tmp_path / "alias").symlink_to(root, target_is_directory=True)
    assert walk(tmp_path / "alias", Usage()).bytes == 0
    assert walk(tmp_path / "missing", Usage()).bytes == 0


def test_walk_is_bounded_and_reports_a_lower_bound(tmp_path: Path) -> None:
    for i in range(10):
        write(tmp_path / "many" / f"{i}.bin", 10)
    usage = walk(tmp_path / "many", Usage(), max_entries=4)
    assert usage.truncated
    assert usage.bytes == 40


def test_samples_raise_the_peak_and_keep_the_last_value(quiet_any: Hangar) -> None:
    h = quiet_any
    tid, uid, ws = ids(h)
    home = h.settings.home
    meter = StorageMeter(h.state.sessions, home)
    user_file = write(home / "users" / uid / "home" / "data.bin", 5000)
    write(home / "workspaces" / ws / "share" / uid / "shared.bin", 300)
    write(home / "users" / "nobody-known" / "home" / "x.bin", 99)  # no such user: not counted
    day = T0.date().isoformat()
    assert meter.step(now=T0 + timedelta(hours=1)) == 3
    assert peaks(h) == {
        ("user", uid, day): (5000, 5000),
        ("workspace", ws, day): (300, 300),
        ("tenant", tid, day): (5300, 5300),
    }
    user_file.write_bytes(b"x" * 1000)  # usage drops: the peak stays, the last value follows
    meter.step(now=T0 + timedelta(hours=2))
    assert peaks(h)[("user", uid, day)] == (5000, 1000)
    assert peaks(h)[("tenant", tid, day)] == (5300, 1300)
    user_file.write_bytes(b"x" * 7000)
    meter.step(now=T0 + timedelta(hours=3))
    assert peaks(h)[("user", uid, day)] == (7000, 7000)
    # The next UTC day starts a row of its own.
    meter.step(now=T0 + timedelta(days=1, minutes=1))
    nxt = (T0 + timedelta(days=1)).date().isoformat()
    assert peaks(h)[("user", uid, nxt)] == (7000, 7000)
    assert peaks(h)[("user", uid, day)] == (7000, 7000)


def test_a_workspace_owns_its_workloads_output_and_dev_environment_dirs(
    tmp_path: Path, db_url: str
) -> None:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        team = build_team(h, {"dev": "developer"})
        job = team.submit(name="writes-output")
        home = h.settings.home
        write(home / "workloads" / job["id"] / "output" / "ckpt.pt", 4096)
        write(home / "devenvs" / job["id"] / "cache" / "pip.whl", 100)
        write(home / "workloads" / "unknown-workload" / "output" / "x", 7)
        StorageMeter(h.state.sessions, home).step(now=T0)
        got = {k[:2]: v for k, v in peaks(h).items() if k[0] == "workspace"}
        assert got == {("workspace", team.ws["id"]): (4196, 4196)}


def test_a_hard_link_shared_by_two_owners_counts_once_for_the_tenant(quiet_any: Hangar) -> None:
    h = quiet_any
    tid, uid, ws = ids(h)
    home = h.settings.home
    mine = write(home / "users" / uid / "home" / "model.bin", 2000)
    (home / "workspaces" / ws / "share").mkdir(parents=True)
    os.link(mine, home / "workspaces" / ws / "share" / "model.bin")
    StorageMeter(h.state.sessions, home).step(now=T0)
    day = T0.date().isoformat()
    got = peaks(h)
    assert got[("user", uid, day)] == (2000, 2000)
    assert got[("workspace", ws, day)] == (2000, 2000)
    assert got[("tenant", tid, day)] == (2000, 2000)


def test_a_sample_for_a_settled_day_is_dropped(quiet_any: Hangar) -> None:
    h = quiet_any
    _tid, uid, _ws = ids(h)
    write(h.settings.home / "users" / uid / "home" / "a.bin", 10)
    with transaction(h.state.sessions) as session:
        session.add(SettlementMark(name="storage", settled_until=T0 + timedelta(days=1)))
    meter = StorageMeter(h.state.sessions, h.settings.home)
    assert meter.step(now=T0 + timedelta(hours=23, minutes=59)) == 0
    assert peaks(h) == {}
    assert meter.step(now=T0 + timedelta(days=1)) == 2  # the user and the tenant
