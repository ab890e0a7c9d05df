"""Checks quotas and queues share: their cluster, their instance spec, their instance count.

The rules themselves (RQ4 card granularity, §6 count bounds with B2/B3) are the scheduler's
pure functions in :mod:`hangar.scheduling.rules`; this module gathers the facts they need
from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.errors import NotFound, ValidationFailed
from hangar.resources.clusters import capacity, lock_cluster, unallocated_cards
from hangar.resources.orm import Cluster, Queue, Quota, ResourceSpec
from hangar.resources.specs import to_spec
from hangar.resources.types import ClusterKind, Status
from hangar.scheduling import rules
from hangar.scheduling.specs import Spec
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import User

PoolKind = Literal["quota", "queue"]


def check_pool_cluster(actor: Actor, cluster: Cluster, *, kind: PoolKind) -> None:
    """C1/RQ2/Q3: quotas and queues split a dedicated cluster the tenant bought."""
    if cluster.kind == ClusterKind.DEFAULT.value:
        extra = (
            "it is used on demand through the built-in default queue"
            if kind == "queue"
            else "it cannot use resource quotas"
        )
        raise ValidationFailed.field(
            "cluster_id",
            f"'{cluster.name}' is the default (public) cluster: {extra} (C1); "
            f"pick one of your dedicated clusters",
        )
    if cluster.tenant_id != actor.tenant_id:
        raise NotFound(
            f"cluster '{cluster.id}' not found", fields={"cluster_id": "not your cluster"}
        )


def instance_spec(session: Session, cluster: Cluster, spec_id: str) -> tuple[ResourceSpec, Spec]:
    """RQ4: the instance spec is 1, 2, 4 or 8 whole cards of the cluster's card model."""
    row = session.get(ResourceSpec, spec_id)
    if row is None or row.cluster_id != cluster.id:
        raise ValidationFailed.field(
            "spec_id",
            f"spec '{spec_id}' is not a spec of cluster '{cluster.name}'; "
            f"list the cluster's specs with `hangar specs list --cluster {cluster.name}`",
        )
    spec = to_spec(row)
    if spec.vgpu is not None or not spec.accel_count:
        kind = "virtual GPU" if spec.vgpu is not None else "CPU-only"
        raise ValidationFailed.field(
            "spec_id",
            f"'{row.name}' is a {kind} spec; an instance spec is 1, 2, 4 or 8 whole cards of "
            "the cluster's card model (RQ4): pick such a spec",
        )
    rules.check_cards_per_instance(spec.accel_count)
    models = capacity(session, cluster.id).gpu_models
    if spec.accel_model not in models:
        have = ", ".join(models) or "no healthy cards"
        raise ValidationFailed.field(
            "spec_id",
            f"spec '{row.name}' uses {spec.accel_model} cards but cluster '{cluster.name}' has "
            f"{have} (RQ4): pick a spec of the cluster's card model",
        )
    return row, spec


def check_count(
    session: Session,
    *,
    cluster: Cluster,
    spec: Spec,
    new_count: int,
    current_count: int,
    exclude: str | None,
    cards_in_use: int = 0,
    max_queued_task_cards: int = 0,
) -> int:
    """§6 (B2, B3) for a new or resized count.

    A new pool grows from 0 instances. A pool whose spec changes is sized afresh: pass
    ``current_count=0`` and ``exclude`` = its id, so its old cards count as unallocated.
    """
    if new_count < 1:
        raise ValidationFailed.field("instance_count", f"must be at least 1 (got {new_count})")
    lock_cluster(session, cluster.id)
    free = unallocated_cards(session, cluster.id, spec.accel_model or "", exclude=exclude)
    return rules.check_instance_count(
        new_count,
        current_count=current_count,
        cards_per_instance=spec.accel_count,
        unallocated_cards=free,
        cards_in_use=cards_in_use,
        max_queued_task_cards=max_queued_task_cards,
    )


def tenant_users(session: Session, *, tenant_id: str, ids: Sequence[str], field: str) -> list[User]:
    """The users named by ``ids``, all of this tenant; unknown ones are one clear 404."""
    wanted = list(dict.fromkeys(ids))
    found = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_(wanted), User.tenant_id == tenant_id)
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(
            f"user(s) not found in this tenant: {', '.join(missing[:5])}",
            fields={field: "unknown user"},
        )
    return [found[i] for i in wanted]


def set_status(pool: Quota | Queue, *, kind: PoolKind, started: bool) -> None:
    """Start or stop a quota or queue (RQ15, Q10): stop blocks new submissions while running
    tasks go on; start allows them again. Starting a started pool (or the reverse) is refused."""
    is_started = pool.status == Status.STARTED.value
    if started:
        rules.check_start(kind=kind, name=pool.name, started=is_started)
    else:
        rules.check_stop(kind=kind, name=pool.name, started=is_started)
    pool.status = (Status.STARTED if started else Status.STOPPED).value
