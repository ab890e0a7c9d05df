"""Queues: ``/api/v1/queues`` (spec 02 §4, §6, §10).

Tenant admins create queues (``quota.manage``). The services let tenant admins and the
queue's admins manage a queue; its members, and every default-workspace member for the
built-in default queue, may read it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.resources import queues
from hangar.resources.access import access_queue
from hangar.resources.orm import Queue
from hangar.resources.reads import describe_queues, queue_usage
from hangar.resources.schemas import (
    QueueCreate,
    QueueEdit,
    QueueRead,
    QueueResize,
    QueueUsersIn,
    Usage,
)
from hangar.resources.types import Status, WorkloadType
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

Creator = Annotated[Actor, Depends(Permit("quota.manage"))]
User = Annotated[Actor, Depends(Permit("quota.access"))]


def _read(session: Session, queue: Queue) -> QueueRead:
    return describe_queues(session, [queue])[0]


def _access(session: Session, actor: Actor, queue_id: str) -> Queue:
    queues.ensure_default_queue(session, tenant_id=actor.tenant_id)
    return access_queue(session, actor, queue_id)


@router.get("", response_model=list[QueueRead])
def list_queues(
    session: SessionDep,
    actor: User,
    cluster: Annotated[str | None, Query(description="Cluster id or name.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains, or the id.")] = None,
    status: Annotated[Status | None, Query(description="started or stopped.")] = None,
    workload_type: Annotated[
        WorkloadType | None, Query(alias="type", description="Allows this workload type.")
    ] = None,
) -> list[QueueRead]:
    """Q7: the queues you may see (the built-in default queue first), with usage."""
    found = queues.list_queues(
        session,
        actor=actor,
        cluster_id=cluster,
        search=q,
        status=status,
        workload_type=workload_type,
    )
    return describe_queues(session, found)


@router.post("", name="queue.create", response_model=QueueRead, status_code=201)
def create_queue(session: SessionDep, actor: Creator, body: QueueCreate) -> QueueRead:
    return _read(session, queues.do_create_queue(session, actor=actor, data=body))


@router.get("/{queue_id}", response_model=QueueRead)
def get_queue(session: SessionDep, actor: User, queue_id: str) -> QueueRead:
    return _read(session, _access(session, actor, queue_id))


@router.get("/{queue_id}/usage", response_model=Usage)
def get_usage(session: SessionDep, actor: User, queue_id: str) -> Usage:
    return queue_usage(session, _access(session, actor, queue_id))


@router.patch("/{queue_id}", name="queue.update", response_model=QueueRead)
def edit_queue(session: SessionDep, actor: User, queue_id: str, body: QueueEdit) -> QueueRead:
    """Q8: name and description only."""
    queue = _access(session, actor, queue_id)
    return _read(session, queues.do_edit_queue(session, actor=actor, queue=queue, data=body))


@router.post("/{queue_id}/resize", name="queue.resize", response_model=QueueRead)
def resize_queue(session: SessionDep, actor: User, queue_id: str, body: QueueResize) -> QueueRead:
    """Q9: the spec changes only with no running or queued task; the count within §6."""
    queue = _access(session, actor, queue_id)
    return _read(session, queues.do_resize_queue(session, actor=actor, queue=queue, data=body))


@router.post("/{queue_id}/start", name="queue.start", response_model=QueueRead)
def start_queue(session: SessionDep, actor: User, queue_id: str) -> QueueRead:
    queue = _access(session, actor, queue_id)
    return _read(session, queues.do_set_status(session, actor=actor, queue=queue, started=True))


@router.post("/{queue_id}/stop", name="queue.stop", response_model=QueueRead)
def stop_queue(session: SessionDep, actor: User, queue_id: str) -> QueueRead:
    """Q10: no new submissions; running tasks go on to completion."""
    queue = _access(session, actor, queue_id)
    return _read(session, queues.do_set_status(session, actor=actor, queue=queue, started=False))


@router.delete("/{queue_id}", name="queue.delete", status_code=204)
def delete_queue(session: SessionDep, actor: User, queue_id: str) -> None:
    """Q11: only when stopped and every task has finished."""
    queues.do_delete_queue(session, actor=actor, queue=_access(session, actor, queue_id))


@router.put("/{queue_id}/users", name="queue.users.set", response_model=QueueRead)
def set_users(session: SessionDep, actor: User, queue_id: str, body: QueueUsersIn) -> QueueRead:
    """ "Manage users": replace the queue's admins and members (default role: member)."""
    queue = _access(session, actor, queue_id)
    return _read(session, queues.do_set_users(session, actor=actor, queue=queue, users=body.users))
