"""Queues (spec 02 §4, §6, §10; decisions B2, B3, B10). The caller owns the transaction.

Every tenant has a built-in default queue on the default cluster (Q3): on demand, with no spec
and no count, used by every member of the default workspace; it cannot be resized, renamed or
deleted. Other queues split a dedicated cluster, never borrow (Q2) and serve the tenant's
default workspace only (Q3, W4).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.billing.allocation_history import record_allocations
from hangar.errors import AlreadyExists, Conflict, ValidationFailed
from hangar.resources.access import check_manage_queue, visible_queues
from hangar.resources.activity import activity
from hangar.resources.clusters import access_cluster
from hangar.resources.inventory import ensure_default_cluster
from hangar.resources.orm import Cluster, Queue, QueueUser
from hangar.resources.pools import (
    check_count,
    check_pool_cluster,
    instance_spec,
    set_status,
    tenant_users,
)
from hangar.resources.reads import queue_usage
from hangar.resources.schemas import QueueCreate, QueueEdit, QueueResize, QueueUserIn
from hangar.resources.types import DEFAULT_QUEUE, QueueRole, Status, WorkloadType
from hangar.resources.validation import (
    QUEUE_DESCRIPTION_MAX,
    check_description,
    check_name,
    check_workload_types,
)
from hangar.scheduling import rules
from hangar.tenancy.access import Actor


def ensure_default_queue(session: Session, *, tenant_id: str) -> Queue:
    """The tenant's built-in default queue, created on first use (Q3).

    Created in a savepoint: when a concurrent request creates it first, the unique name
    constraint fires and the other request's row is used instead.
    """
    found = _default_queue(session, tenant_id)
    if found is not None:
        return found
    cluster = ensure_default_cluster(session)
    # A concurrent request that created it first trips the unique name: use its row.
    with contextlib.suppress(IntegrityError), session.begin_nested():
        session.add(
            Queue(
                tenant_id=tenant_id, cluster_id=cluster.id, name=DEFAULT_QUEUE,
                description="Built-in queue of the default cluster: on demand",
                builtin=True, workload_types=[t.value for t in WorkloadType],
                status=Status.STARTED.value,
            )
        )  # fmt: skip
    created = _default_queue(session, tenant_id)
    assert created is not None
    return created


def _default_queue(session: Session, tenant_id: str) -> Queue | None:
    return session.scalar(
        select(Queue).where(Queue.tenant_id == tenant_id, Queue.builtin.is_(True))
    )


def list_queues(
    session: Session,
    *,
    actor: Actor,
    cluster_id: str | None = None,
    search: str | None = None,
    status: Status | None = None,
    workload_type: WorkloadType | None = None,
) -> list[Queue]:
    """Q7: the queues the actor may see; search by name or id; filter by cluster, status and
    workload type."""
    ensure_default_queue(session, tenant_id=actor.tenant_id)
    stmt = select(Queue).where(visible_queues(actor))
    if cluster_id:
        stmt = stmt.where(Queue.cluster_id == access_cluster(session, actor, cluster_id).id)
    if search:
        stmt = stmt.where(Queue.name.contains(search, autoescape=True) | (Queue.id == search))
    if status is not None:
        stmt = stmt.where(Queue.status == status.value)
    found = session.scalars(stmt.order_by(Queue.builtin.desc(), Queue.name))
    return [q for q in found if workload_type is None or workload_type.value in q.workload_types]


def do_create_queue(session: Session, *, actor: Actor, data: QueueCreate) -> Queue:
    note_target("queue", "", data.name)
    check_name(data.name)
    check_description(data.description, QUEUE_DESCRIPTION_MAX)
    types = check_workload_types(data.workload_types)
    cluster = access_cluster(session, actor, data.cluster_id)
    check_pool_cluster(actor, cluster, kind="queue")
    row, spec = instance_spec(session, cluster, data.spec_id)
    check_count(
        session, cluster=cluster, spec=spec, new_count=data.instance_count, current_count=0,
        exclude=None,
    )  # fmt: skip
    ensure_default_queue(session, tenant_id=actor.tenant_id)  # its name is taken first
    _check_name_free(session, actor.tenant_id, data.name)
    users = [QueueUserIn(user_id=i, role=QueueRole.ADMIN) for i in data.admin_ids or [actor.id]]
    users += [QueueUserIn(user_id=i, role=QueueRole.MEMBER) for i in data.member_ids]
    queue = Queue(
        tenant_id=actor.tenant_id, cluster_id=cluster.id, name=data.name,
        description=data.description, workload_types=types, spec_id=row.id,
        instance_count=data.instance_count, status=Status.STARTED.value, created_by=actor.id,
    )  # fmt: skip
    session.add(queue)
    session.flush()
    _replace_users(session, queue, users)
    record_allocations(session, tenant_id=queue.tenant_id, reason="queue.create")
    note_target("queue", queue.id, queue.name, cluster=cluster.name, spec=spec.display())
    return queue


def do_edit_queue(session: Session, *, actor: Actor, queue: Queue, data: QueueEdit) -> Queue:
    """Q8: name and description only."""
    note_target("queue", queue.id, queue.name)
    check_manage_queue(session, actor, queue)
    if data.name is not None and data.name != queue.name:
        if queue.builtin:
            raise Conflict(
                "the built-in default queue cannot be renamed", fields={"name": "built-in queue"}
            )
        check_name(data.name)
        _check_name_free(session, queue.tenant_id, data.name)
        queue.name = data.name
    if data.description is not None:
        queue.description = check_description(data.description, QUEUE_DESCRIPTION_MAX)
    return queue


def do_resize_queue(session: Session, *, actor: Actor, queue: Queue, data: QueueResize) -> Queue:
    """Q9: workload types apply to future submissions; the spec only without running or
    queued tasks; the count within §6's bounds. A queue need not be stopped first."""
    note_target("queue", queue.id, queue.name, **data.model_dump(exclude_unset=True))
    check_manage_queue(session, actor, queue)
    _refuse_builtin(queue, "resized")
    cluster = session.get(Cluster, queue.cluster_id)
    assert cluster is not None and queue.spec_id is not None and queue.instance_count
    now = activity(session, queue_id=queue.id)
    spec_changed = data.spec_id is not None and data.spec_id != queue.spec_id
    rules.check_resize(
        kind="queue", name=queue.name, started=queue.status == Status.STARTED.value,
        spec_changed=spec_changed, running_tasks=now.running, queued_tasks=now.queued,
    )  # fmt: skip
    types = check_workload_types(data.workload_types) if data.workload_types is not None else None
    row, spec = instance_spec(session, cluster, data.spec_id or queue.spec_id)
    count = data.instance_count if data.instance_count is not None else queue.instance_count
    if spec_changed or count != queue.instance_count:
        from_usage = queue_usage(session, queue)
        check_count(
            session, cluster=cluster, spec=spec, new_count=count,
            current_count=0 if spec_changed else queue.instance_count,
            exclude=queue.id if spec_changed else None,
            cards_in_use=from_usage.used.gpus, max_queued_task_cards=now.largest_queued_cards,
        )  # fmt: skip
    queue.spec_id, queue.instance_count = row.id, count
    if types is not None:
        queue.workload_types = types
    session.flush()
    record_allocations(session, tenant_id=queue.tenant_id, reason="queue.resize")
    return queue


def do_set_status(session: Session, *, actor: Actor, queue: Queue, started: bool) -> Queue:
    """Q10: stop blocks new submissions (running tasks go on); start allows them again."""
    note_target("queue", queue.id, queue.name, action="queue.start" if started else "queue.stop")
    check_manage_queue(session, actor, queue)
    set_status(queue, kind="queue", started=started)
    return queue


def do_delete_queue(session: Session, *, actor: Actor, queue: Queue) -> None:
    """Q11: only a stopped queue whose every task has finished; its cards are released."""
    note_target("queue", queue.id, queue.name)
    check_manage_queue(session, actor, queue)
    _refuse_builtin(queue, "deleted")
    now = activity(session, queue_id=queue.id)
    rules.check_delete(
        kind="queue", name=queue.name, started=queue.status == Status.STARTED.value,
        unfinished_tasks=now.unfinished,
    )  # fmt: skip
    session.delete(queue)
    record_allocations(session, tenant_id=queue.tenant_id, reason="queue.delete")


def do_set_users(
    session: Session, *, actor: Actor, queue: Queue, users: Sequence[QueueUserIn]
) -> Queue:
    """ "Manage users" (spec 01 §5.2): replace the queue's admins and members."""
    note_target("queue", queue.id, queue.name, users=[u.model_dump() for u in users])
    check_manage_queue(session, actor, queue)
    if queue.builtin:
        raise Conflict(
            "the built-in default queue serves every member of the default workspace; "
            "manage that workspace's members instead",
            fields={"users": "built-in queue"},
        )
    _replace_users(session, queue, users)
    return queue


def _replace_users(session: Session, queue: Queue, users: Sequence[QueueUserIn]) -> None:
    if not any(u.role is QueueRole.ADMIN for u in users):
        raise ValidationFailed.field(
            "users", "a queue needs at least one admin (Q4); give someone the admin role"
        )
    roles: dict[str, QueueRole] = {}
    for u in users:  # a user named twice keeps the stronger role
        if roles.get(u.user_id) is not QueueRole.ADMIN:
            roles[u.user_id] = u.role
    tenant_users(session, tenant_id=queue.tenant_id, ids=list(roles), field="users")
    for row in session.scalars(select(QueueUser).where(QueueUser.queue_id == queue.id)):
        session.delete(row)
    session.flush()
    for user_id, role in roles.items():
        session.add(QueueUser(queue_id=queue.id, user_id=user_id, role=role.value))
    session.flush()


def _refuse_builtin(queue: Queue, verb: str) -> None:
    if queue.builtin:
        raise Conflict(
            f"the built-in default queue cannot be {verb}: it is the on-demand entry to the "
            "default cluster (Q3); stop it to block new submissions",
            fields={"queue_id": "built-in queue"},
        )


def _check_name_free(session: Session, tenant_id: str, name: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(Queue)
        .where(Queue.tenant_id == tenant_id, Queue.name == name)
    )
    if taken:
        raise AlreadyExists(
            f"a queue named '{name}' already exists in this tenant; pick another name",
            fields={"name": "already exists"},
        )
