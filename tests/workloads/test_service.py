"""Workload transitions write events and usage; leases are exclusive. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.tenancy.orm import User
from hangar.workloads.lifecycle import IllegalTransition
from hangar.workloads.orm import RunNode, UsageInterval, Workload, WorkloadEvent
from hangar.workloads.service import (
    do_close_usage,
    do_lease,
    do_open_usage,
    do_release,
    do_start_run,
    do_transition,
)
from tests.support import Hangar


def new_workload(h: Hangar) -> str:
    ws = h.default_workspace()
    with transaction(h.state.sessions) as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        workload = Workload(
            tenant_id=admin.tenant_id, workspace_id=ws["id"], created_by=admin.id,
            kind="training", name="job", spec={"command": "true"},
        )  # fmt: skip
        session.add(workload)
        session.flush()
        return workload.id


def test_transitions_record_events_and_usage_once(hangar_any: Hangar) -> None:
    h = hangar_any
    wid = new_workload(h)
    start = utcnow()
    with transaction(h.state.sessions) as session:
        workload = session.get(Workload, wid)
        assert workload is not None
        do_transition(session, workload, "queue")
        do_transition(session, workload, "admit", message="admitted to quota 'a'")
        run = do_start_run(session, workload, backend="local")
        node = RunNode(
            run_id=run.id, rank=0, node_name="host", resources={"gpus": 2, "cpu_millicores": 4000}
        )
        session.add(node)
        session.flush()
        do_transition(session, workload, "launched", run=run)
        do_open_usage(session, workload, run, [node], segment=0, now=start)
        do_open_usage(session, workload, run, [node], segment=0, now=start)  # replayed
        session.flush()
        assert do_close_usage(session, run, now=start + timedelta(hours=1)) == 1
        do_transition(session, workload, "succeed", run=run)
        with pytest.raises(IllegalTransition):
            do_transition(session, workload, "fault", run=run)
    with h.state.sessions() as session:
        events = session.scalars(
            select(WorkloadEvent).where(WorkloadEvent.workload_id == wid).order_by(WorkloadEvent.id)
        ).all()
        assert [(e.rule, e.from_state, e.to_state) for e in events] == [
            ("queue", "SUBMITTED", "QUEUED"),
            ("admit", "QUEUED", "PREPARING"),
            ("launched", "PREPARING", "RUNNING"),
            ("succeed", "RUNNING", "SUCCEEDED"),
        ]
        assert events[1].message == "admitted to quota 'a'"
        usage = session.scalars(select(UsageInterval)).all()
        assert len(usage) == 1 and usage[0].gpus == 2
        assert usage[0].ended_at is not None
        assert usage[0].ended_at - usage[0].started_at == timedelta(hours=1)


def test_lease_is_exclusive_until_released_or_expired(hangar_any: Hangar) -> None:
    h = hangar_any
    wid = new_workload(h)
    now = utcnow()
    with transaction(h.state.sessions) as session:
        workload = session.get(Workload, wid)
        assert workload is not None
        token = do_lease(session, workload, ttl=timedelta(seconds=30), now=now)
        assert token is not None
        assert do_lease(session, workload, ttl=timedelta(seconds=30), now=now) is None
        later = now + timedelta(seconds=31)
        stolen = do_lease(session, workload, ttl=timedelta(seconds=30), now=later)
        assert stolen is not None and stolen != token
        do_release(session, workload, token)  # stale: changes nothing
        session.refresh(workload)
        assert workload.lease_token == stolen
        do_release(session, workload, stolen)
        session.refresh(workload)
        assert workload.lease_token is None
