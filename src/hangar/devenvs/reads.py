"""Dev environments as the API shows them (spec 03 §1.3 list columns, §1.9 SSH, C2)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hangar.assets.dataset_schemas import MountRead
from hangar.config import Settings
from hangar.db.base import utcnow
from hangar.devenvs import launch, ssh_keys, sshd
from hangar.devenvs.orm import DevEnvironment
from hangar.devenvs.schemas import (
    IDE_LABELS,
    CacheRead,
    DevEnvPage,
    DevEnvRead,
    DevEnvSummary,
    IdleRead,
    SshRead,
)
from hangar.devenvs.service import effective_idle, policy_of
from hangar.devenvs.states import duration_text, status
from hangar.images.orm import Image
from hangar.images.service import label
from hangar.jobs.reads import events, names_by_id, node_display
from hangar.jobs.schemas import NodeRequest, PoolRef
from hangar.resources.orm import Queue, Quota
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.lifecycle import State
from hangar.workloads.orm import Run, Workload


def run_seconds(session: Session, ids: Sequence[str]) -> dict[str, float]:
    """RUNNING time over every start (spec 03 §1.3 "run duration", normalised)."""
    now = utcnow()
    out: dict[str, float] = dict.fromkeys(ids, 0.0)
    if not ids:
        return out
    for run in session.scalars(
        select(Run).where(Run.workload_id.in_(ids), Run.started_at.is_not(None))
    ):
        assert run.started_at is not None
        out[run.workload_id] += max(
            0.0, ((run.finished_at or now) - run.started_at).total_seconds()
        )
    return out


def summaries(session: Session, items: Sequence[Workload]) -> list[DevEnvSummary]:
    ids = [w.id for w in items]
    envs = {
        e.workload_id: e
        for e in session.scalars(select(DevEnvironment).where(DevEnvironment.workload_id.in_(ids)))
    }
    workspaces = names_by_id(session, Workspace, {w.workspace_id for w in items}, Workspace.name)
    users = names_by_id(session, User, {w.created_by for w in items if w.created_by}, User.username)
    quotas = names_by_id(session, Quota, {w.quota_id for w in items if w.quota_id}, Quota.name)
    queues = names_by_id(session, Queue, {w.queue_id for w in items if w.queue_id}, Queue.name)
    image_ids = {str(w.spec.get("image")) for w in items if w.spec.get("image")}
    images = {i.id: i for i in session.scalars(select(Image).where(Image.id.in_(image_ids)))}
    durations = run_seconds(session, ids)
    rows = []
    for w in items:
        env = envs[w.id]
        pool = None
        if w.quota_id:
            pool = PoolRef(kind="quota", id=w.quota_id, name=quotas.get(w.quota_id, "(deleted)"))
        elif w.queue_id:
            pool = PoolRef(kind="queue", id=w.queue_id, name=queues.get(w.queue_id, "(deleted)"))
        image = images.get(str(w.spec.get("image")))
        running = w.state == State.RUNNING.value
        rows.append(
            DevEnvSummary(
                id=w.id, name=w.name, description=w.description, ide=env.ide,
                ide_label=IDE_LABELS.get(env.ide, env.ide), workspace_id=w.workspace_id,
                workspace_name=workspaces.get(w.workspace_id, ""), created_by=w.created_by,
                created_by_name=users.get(w.created_by or "", ""), created_at=w.created_at,
                state=w.state, status=status(w.state), state_reason=w.state_reason,
                run_seconds=durations[w.id], run_duration=duration_text(durations[w.id]),
                image=label(image) if image else "(deleted image)",
                spec=node_display(w.spec.get("resources") or {}), pool=pool,
                open_url=launch.public_prefix(w.id) if running else None,
                deleting=env.delete_requested_at is not None,
            )
        )  # fmt: skip
    return rows


def list_page(
    session: Session, where: Sequence[ColumnElement[bool]], *, limit: int, offset: int
) -> DevEnvPage:
    total = session.scalar(select(func.count()).select_from(Workload).where(*where)) or 0
    found = session.scalars(
        select(Workload)
        .where(*where)
        .order_by(Workload.created_at.desc(), Workload.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return DevEnvPage(
        items=summaries(session, list(found)), total=total, limit=limit, offset=offset
    )


def detail(session: Session, workload: Workload, settings: Settings) -> DevEnvRead:
    [row] = summaries(session, [workload])
    env = session.get(DevEnvironment, workload.id)
    assert env is not None
    running = workload.state == State.RUNNING.value
    policy = policy_of(session, workload.workspace_id)
    idle = effective_idle(env, policy)
    stops_at = (
        env.last_activity_at + timedelta(minutes=idle)
        if running and idle and env.last_activity_at
        else None
    )
    retention = timedelta(days=settings.devenv_cache_retention_days)
    ssh = SshRead(enabled=env.ssh_enabled, keys=_masked(env.ssh_keys))
    if running and env.ssh_enabled and env.ssh_port:
        host, user = _hostname(settings), sshd.login_name()
        ssh = SshRead(
            enabled=True, keys=ssh.keys, host=host, port=env.ssh_port, user=user,
            command=f"ssh -i <private key> {user}@{host} -p {env.ssh_port}",
        )  # fmt: skip
    return DevEnvRead(
        **row.model_dump(),
        resources=NodeRequest.model_validate(workload.spec["resources"]),
        env=dict(workload.spec.get("env") or {}),
        ssh=ssh,
        idle=IdleRead(
            idle_minutes=idle, locked=bool(policy and policy.locked), stop_at=env.stop_at,
            last_activity_at=env.last_activity_at, last_activity_source=env.last_activity_source,
            stops_at=stops_at, warned=env.idle_warned_at is not None,
        ),
        cache=CacheRead(
            limit_gib=settings.devenv_cache_limit_gib, stopped_at=env.stopped_at,
            purge_at=env.stopped_at + retention if env.stopped_at else None,
            purged=env.cache_purged_at is not None,
        ),
        exposed_ports=list(env.exposed_ports),
        port_urls={p: launch.ports_prefix(workload.id, p) for p in env.exposed_ports},
        events=events(session, workload),
        mounts=MountRead.of_spec(workload.spec),
    )  # fmt: skip


def _masked(keys: list[str]) -> list[str]:
    return [ssh_keys.masked(k) for k in keys]


def _hostname(settings: Settings) -> str:
    """Where users reach this host: the public URL's host, else the address the server
    listens on (this host's name when that is every address)."""
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    host = host or settings.host
    return socket.getfqdn() if host in ("0.0.0.0", "::", "") else host  # noqa: S104
