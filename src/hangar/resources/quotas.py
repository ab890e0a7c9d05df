"""Resource quotas (spec 02 §5, §6, §10; decisions A4, B1-B3, B10). The caller owns the
transaction; every change names its target for the audit trail.

The rule checks are the scheduler's pure functions (:mod:`hangar.scheduling.rules`); this
module feeds them the facts: the quota's status, its unfinished workloads and the cluster's
unallocated cards.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.billing.allocation_history import record_allocations
from hangar.errors import AlreadyExists, Conflict, ValidationFailed
from hangar.resources.access import check_manage_quota, visible_quotas
from hangar.resources.activity import activity
from hangar.resources.clusters import access_cluster
from hangar.resources.orm import Cluster, Quota, QuotaAdmin, QuotaWorkspace
from hangar.resources.pools import (
    check_count,
    check_pool_cluster,
    instance_spec,
    set_status,
    tenant_users,
)
from hangar.resources.reads import quota_usage
from hangar.resources.schemas import QuotaCreate, QuotaEdit, QuotaResize
from hangar.resources.types import Status, WorkloadType
from hangar.resources.validation import (
    QUOTA_DESCRIPTION_MAX,
    check_description,
    check_name,
    check_policy,
    check_workload_types,
)
from hangar.resources.workspace_links import check_associable
from hangar.scheduling import rules
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Workspace


def list_quotas(
    session: Session,
    *,
    actor: Actor,
    cluster_id: str | None = None,
    workspace: str | None = None,
    search: str | None = None,
    status: Status | None = None,
    workload_type: WorkloadType | None = None,
) -> list[Quota]:
    """RQ12: the quotas the actor may see. Search by name (or id); filter by cluster, by
    associated workspace (name or id), by status and by workload type."""
    stmt = select(Quota).where(visible_quotas(actor))
    if cluster_id:
        stmt = stmt.where(Quota.cluster_id == access_cluster(session, actor, cluster_id).id)
    if workspace:
        named = select(Workspace.id).where(
            Workspace.tenant_id == actor.tenant_id,
            or_(Workspace.id == workspace, Workspace.name == workspace),
        )
        linked = select(QuotaWorkspace.quota_id).where(QuotaWorkspace.workspace_id.in_(named))
        stmt = stmt.where(Quota.id.in_(linked))
    if search:
        stmt = stmt.where(Quota.name.contains(search, autoescape=True) | (Quota.id == search))
    if status is not None:
        stmt = stmt.where(Quota.status == status.value)
    found = session.scalars(stmt.order_by(Quota.cluster_id, Quota.weight.desc()))
    return [q for q in found if workload_type is None or workload_type.value in q.workload_types]


def do_create_quota(session: Session, *, actor: Actor, data: QuotaCreate) -> Quota:
    note_target("quota", "", data.name)
    check_name(data.name)
    check_description(data.description, QUOTA_DESCRIPTION_MAX)
    types = check_workload_types(data.workload_types)
    check_policy(data.policy)
    cluster = access_cluster(session, actor, data.cluster_id)
    check_pool_cluster(actor, cluster, kind="quota")
    row, spec = instance_spec(session, cluster, data.spec_id)
    check_weight(session, cluster=cluster, weight=data.weight, quota_id=None)
    check_count(
        session, cluster=cluster, spec=spec, new_count=data.instance_count, current_count=0,
        exclude=None,
    )  # fmt: skip
    _check_name_free(session, actor.tenant_id, data.name)
    admins = tenant_users(
        session, tenant_id=actor.tenant_id, ids=data.admin_ids or [actor.id], field="admin_ids"
    )
    quota = Quota(
        tenant_id=actor.tenant_id, cluster_id=cluster.id, name=data.name,
        description=data.description, workload_types=types, spec_id=row.id,
        instance_count=data.instance_count, weight=data.weight, borrowing=data.borrowing,
        exclusive=data.exclusive, policy=data.policy, status=Status.STARTED.value,
        created_by=actor.id,
    )  # fmt: skip
    session.add(quota)
    session.flush()
    for user in admins:
        session.add(QuotaAdmin(quota_id=quota.id, user_id=user.id))
    for ws_id in dict.fromkeys(data.workspace_ids):
        ws = check_associable(session, actor, quota, ws_id)
        session.add(QuotaWorkspace(quota_id=quota.id, workspace_id=ws.id, associated_by=actor.id))
    session.flush()
    record_allocations(session, tenant_id=quota.tenant_id, reason="quota.create")
    note_target("quota", quota.id, quota.name, cluster=cluster.name, spec=spec.display())
    return quota


def do_edit_quota(session: Session, *, actor: Actor, quota: Quota, data: QuotaEdit) -> Quota:
    """RQ13: name and description only; allowed in any status."""
    note_target("quota", quota.id, quota.name)
    check_manage_quota(session, actor, quota)
    if data.name is not None and data.name != quota.name:
        check_name(data.name)
        _check_name_free(session, quota.tenant_id, data.name)
        quota.name = data.name
    if data.description is not None:
        quota.description = check_description(data.description, QUOTA_DESCRIPTION_MAX)
    return quota


def do_resize_quota(session: Session, *, actor: Actor, quota: Quota, data: QuotaResize) -> Quota:
    """RQ14: only a stopped quota; the spec only without running or queued tasks; §6 count."""
    note_target("quota", quota.id, quota.name, **data.model_dump(exclude_unset=True))
    check_manage_quota(session, actor, quota)
    cluster = session.get(Cluster, quota.cluster_id)
    assert cluster is not None
    now = activity(session, quota_id=quota.id)
    spec_changed = data.spec_id is not None and data.spec_id != quota.spec_id
    rules.check_resize(
        kind="quota", name=quota.name, started=quota.status == Status.STARTED.value,
        spec_changed=spec_changed, running_tasks=now.running, queued_tasks=now.queued,
    )  # fmt: skip
    types = check_workload_types(data.workload_types) if data.workload_types is not None else None
    if data.policy is not None:
        check_policy(data.policy)
    if data.weight is not None and data.weight != quota.weight:
        check_weight(session, cluster=cluster, weight=data.weight, quota_id=quota.id)
    row, spec = instance_spec(session, cluster, data.spec_id or quota.spec_id)
    count = data.instance_count if data.instance_count is not None else quota.instance_count
    if spec_changed or count != quota.instance_count:
        in_use = _cards_in_use(session, quota)
        check_count(
            session, cluster=cluster, spec=spec, new_count=count,
            current_count=0 if spec_changed else quota.instance_count,
            exclude=quota.id if spec_changed else None,
            cards_in_use=in_use, max_queued_task_cards=now.largest_queued_cards,
        )  # fmt: skip
    quota.spec_id, quota.instance_count = row.id, count
    if types is not None:
        quota.workload_types = types  # applies to future submissions (RQ14)
    for name in ("weight", "borrowing", "exclusive", "policy"):
        value = getattr(data, name)
        if value is not None:
            setattr(quota, name, value)
    session.flush()
    record_allocations(session, tenant_id=quota.tenant_id, reason="quota.resize")
    return quota


def do_set_status(session: Session, *, actor: Actor, quota: Quota, started: bool) -> Quota:
    """RQ15: stop blocks new submissions (running tasks go on); start allows them again."""
    note_target("quota", quota.id, quota.name, action="quota.start" if started else "quota.stop")
    check_manage_quota(session, actor, quota)
    set_status(quota, kind="quota", started=started)
    return quota


def do_delete_quota(session: Session, *, actor: Actor, quota: Quota) -> None:
    """RQ16: only a stopped quota with no unfinished task; its cards return to the cluster."""
    note_target("quota", quota.id, quota.name)
    check_manage_quota(session, actor, quota)
    now = activity(session, quota_id=quota.id)
    rules.check_delete(
        kind="quota", name=quota.name, started=quota.status == Status.STARTED.value,
        unfinished_tasks=now.unfinished,
    )  # fmt: skip
    session.delete(quota)
    record_allocations(session, tenant_id=quota.tenant_id, reason="quota.delete")


def do_set_admins(session: Session, *, actor: Actor, quota: Quota, user_ids: list[str]) -> Quota:
    """RQ11 "manage users": replace the quota's admins (at least one)."""
    note_target("quota", quota.id, quota.name, admins=list(user_ids))
    check_manage_quota(session, actor, quota)
    if not user_ids:
        raise ValidationFailed.field(
            "user_ids", "a quota needs at least one admin (RQ11); name who manages it"
        )
    users = tenant_users(session, tenant_id=quota.tenant_id, ids=user_ids, field="user_ids")
    for row in session.scalars(select(QuotaAdmin).where(QuotaAdmin.quota_id == quota.id)):
        session.delete(row)
    session.flush()
    for user in users:
        session.add(QuotaAdmin(quota_id=quota.id, user_id=user.id))
    session.flush()
    return quota


def check_weight(session: Session, *, cluster: Cluster, weight: int, quota_id: str | None) -> None:
    """RQ6: 1-100 (422) and unique in the cluster (409, naming the quota that holds it)."""
    rules.check_weight(weight, others=())
    others = [
        (name, w)
        for ident, name, w in session.execute(
            select(Quota.id, Quota.name, Quota.weight).where(Quota.cluster_id == cluster.id)
        )
        if ident != quota_id
    ]
    try:
        rules.check_weight(weight, others=others)
    except ValidationFailed as err:
        raise Conflict(err.message, fields=err.fields, rule="RQ6") from None


def _cards_in_use(session: Session, quota: Quota) -> int:
    """Cards the quota's own running tasks hold (borrowed cards belong to other quotas)."""
    from_usage = quota_usage(session, quota)
    return max(0, from_usage.used.gpus - from_usage.borrowed.gpus)


def _check_name_free(session: Session, tenant_id: str, name: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(Quota)
        .where(Quota.tenant_id == tenant_id, Quota.name == name)
    )
    if taken:
        raise AlreadyExists(
            f"a quota named '{name}' already exists in this tenant; pick another name",
            fields={"name": "already exists"},
        )
