"""The housekeeping loop deletes expired console sessions and stale login failures."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.tenancy.orm import ConsoleSession, LoginFailure
from tests.support import USER_PASSWORD, sqlite_hangar


def test_expired_sessions_and_stale_failures_are_deleted(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with sqlite_hangar(
        tmp_path_factory.mktemp("housekeeping"),
        audit_prune_interval_seconds=0.1,
        login_lockout_minutes=15,
    ) as h:
        h.user_api("hk_user")
        for _ in range(2):
            live = h.client.post(
                "/api/v1/auth/login", json={"username": "hk_user", "password": USER_PASSWORD}
            )
            assert live.status_code == 200
        h.client.cookies.clear()
        now = utcnow()
        with transaction(h.state.sessions) as session:
            expired = session.scalars(select(ConsoleSession)).first()
            assert expired is not None
            expired.expires_at = now - timedelta(minutes=1)
            expired_id = expired.id
            session.add(
                LoginFailure(username="x", client_addr="1.2.3.4", at=now - timedelta(hours=1))
            )
            session.add(LoginFailure(username="y", client_addr="1.2.3.4", at=now))

        def state() -> tuple[set[str], set[str]]:
            with h.state.sessions() as session:
                ids = set(session.scalars(select(ConsoleSession.id)))
                users = set(session.scalars(select(LoginFailure.username)))
                return ids, users

        deadline = time.monotonic() + 30
        while True:
            ids, users = state()
            if expired_id not in ids and users == {"y"}:
                break
            assert time.monotonic() < deadline, f"not cleaned up: {ids=} {users=}"
            time.sleep(0.05)
        with h.state.sessions() as session:
            assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 1
