"""Migrations and the schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from hangar.app import build_state
from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.db.migrate import current_revision, head_revision, upgrade
from hangar.db.models import Base
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Group, User, Workspace, WorkspaceRole
from tests.support import test_settings as settings_for


def test_migrations_reach_head_and_are_idempotent(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision() is not None
        tables = set(sa.inspect(engine).get_table_names())
        assert tables >= {t.name for t in Base.metadata.sorted_tables}
        upgrade(engine)  # a second start changes nothing
        assert current_revision(engine) == head_revision()
        assert set(sa.inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_schema_matches_the_models(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            diffs = compare_metadata(context, Base.metadata)
        assert diffs == [], "models and migrations differ; run `make migration`:\n" + "\n".join(
            map(str, diffs)
        )
    finally:
        engine.dispose()


def test_second_start_keeps_the_first_admin(any_db_url: str, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "home", any_db_url)
    state, first = build_state(settings)
    assert first is not None and first.password is None  # given, so not printed
    state.engine.dispose()
    state, again = build_state(settings)
    try:
        assert again is None
        with state.sessions() as session:
            users = session.scalars(sa.select(User)).all()
            assert [(u.username, u.is_platform_admin, u.is_owner) for u in users] == [
                ("admin", True, True)
            ]
            assert session.scalar(sa.select(sa.func.count()).select_from(Workspace)) == 1
            assert session.scalar(sa.select(sa.func.count()).select_from(Group)) == 1
    finally:
        state.engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0
        assert (tmp_path / "wal.db-wal").exists()
    finally:
        engine.dispose()


@pytest.fixture
def seeded(any_db_url: str, tmp_path: Path) -> Iterator[sa.Engine]:
    state, _first = build_state(settings_for(tmp_path / "home", any_db_url))
    yield state.engine
    state.engine.dispose()


def _owner(session: sa.orm.Session) -> User:
    user = session.scalar(sa.select(User).where(User.username == "admin"))
    assert user is not None
    return user


def test_unique_constraints_hold_in_the_database(seeded: sa.Engine) -> None:
    """Services check first, but the database is the last word (two racing requests)."""
    factory = make_session_factory(seeded)
    with transaction(factory) as session:
        owner = _owner(session)
        tenant_id, owner_id = owner.tenant_id, owner.id
        session.add(Workspace(tenant_id=tenant_id, name="Same", created_by=owner_id))
    cases = [
        lambda s: s.add(Workspace(tenant_id=tenant_id, name="Same", created_by=owner_id)),
        lambda s: s.add(User(tenant_id=tenant_id, username="admin", password_hash="x")),
        lambda s: s.add(Group(tenant_id=tenant_id, name="admin")),
    ]
    for add in cases:
        with pytest.raises(IntegrityError), transaction(factory) as session:
            add(session)


def test_foreign_keys_hold_in_the_database(seeded: sa.Engine) -> None:
    factory = make_session_factory(seeded)
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(WorkspaceRole(workspace_id="nope", user_id="nope", role=Role.ADMIN.value))


def test_deleting_a_workspace_or_user_cascades_to_roles(seeded: sa.Engine) -> None:
    factory = make_session_factory(seeded)
    with transaction(factory) as session:
        owner = _owner(session)
        ws = Workspace(tenant_id=owner.tenant_id, name="Doomed", created_by=owner.id)
        user = User(tenant_id=owner.tenant_id, username="member", password_hash="x")
        session.add_all([ws, user])
        session.flush()
        session.add(WorkspaceRole(workspace_id=ws.id, user_id=user.id, role="developer"))
        session.add(WorkspaceRole(workspace_id=ws.id, user_id=owner.id, role="admin"))
        ws_id, user_id = ws.id, user.id
    # Plain SQL, so the database's ON DELETE CASCADE does the work, not the ORM.
    with seeded.begin() as conn:
        conn.execute(sa.delete(Workspace.__table__).where(Workspace.id == ws_id))
    with factory() as session:
        left = session.scalar(
            sa.select(sa.func.count())
            .select_from(WorkspaceRole)
            .where(WorkspaceRole.workspace_id == ws_id)
        )
        assert left == 0
    with transaction(factory) as session:
        ws2 = Workspace(tenant_id=owner.tenant_id, name="Kept", created_by=user_id)
        session.add(ws2)
        session.flush()
        session.add(WorkspaceRole(workspace_id=ws2.id, user_id=user_id, role="admin"))
        ws2_id = ws2.id
    with seeded.begin() as conn:
        conn.execute(sa.delete(User.__table__).where(User.id == user_id))
    with factory() as session:
        kept = session.get(Workspace, ws2_id)
        assert kept is not None and kept.created_by is None  # SET NULL: the workspace stays
        assert not session.scalars(
            sa.select(WorkspaceRole).where(WorkspaceRole.user_id == user_id)
        ).all()


def test_datetimes_come_back_aware_utc(seeded: sa.Engine) -> None:
    with make_session_factory(seeded)() as session:
        owner = _owner(session)
        assert owner.created_at.tzinfo is not None
        assert (
            owner.created_at.utcoffset() is not None
            and owner.created_at.utcoffset().total_seconds() == 0
        )
