"""Quotas & queues: lists with GPU / CPU / MEM usage, create forms, start / stop / delete.

Same gates, services and route names as ``/api/v1/quotas`` and ``/api/v1/queues``: tenant
admins create; the services let tenant admins and each quota's or queue's admins manage it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.resources import queues, quotas
from hangar.resources.access import (
    access_queue,
    access_quota,
    can_manage_queue,
    can_manage_quota,
)
from hangar.resources.clusters import list_clusters
from hangar.resources.reads import describe_queues, describe_quotas
from hangar.resources.schemas import QueueCreate, QuotaCreate
from hangar.resources.specs import list_specs
from hangar.resources.types import ClusterKind, WorkloadType
from hangar.tenancy.access import Actor
from hangar.tenancy.workspaces import list_workspaces
from hangar.web.chrome import QUOTAS, PageChrome
from hangar.web.forms import parse
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/quotas", include_in_schema=False)
User = Annotated[Actor, Depends(Permit(QUOTAS.capability))]
Creator = Annotated[Actor, Depends(Permit("quota.manage"))]
Many = Annotated[list[str], Form()]
Box = Annotated[str, Form()]


def _section(session: Session, actor: Actor) -> dict[str, object]:
    found_quotas = quotas.list_quotas(session, actor=actor)
    found_queues = queues.list_queues(session, actor=actor)
    dedicated = [
        c
        for c in list_clusters(session, actor=actor)
        if c.kind == ClusterKind.DEDICATED.value and c.tenant_id == actor.tenant_id
    ]
    ids = {c.id for c in dedicated}
    return {
        "quotas": describe_quotas(session, found_quotas),
        "queues": describe_queues(session, found_queues),
        "managed": {q.id for q in found_quotas if can_manage_quota(session, actor, q)}
        | {q.id for q in found_queues if can_manage_queue(session, actor, q)},
        "can_create": can(actor, "quota.manage", write=True),
        "clusters": dedicated,
        "specs": [
            s for s in list_specs(session, actor=actor) if s.cluster_id in ids and s.accel_count
        ],
        "cluster_names": {c.id: c.name for c in dedicated},
        "workspaces": [w for w in list_workspaces(session, actor=actor) if not w.is_default],
        "types": list(WorkloadType),
    }


def _answer(request: Request, session: Session, actor: Actor, flash: str) -> Response:
    context = {**_section(session, actor), "flash": flash}
    return render(request, "quotas/_section.html", context)


@router.get("")
def quotas_page(request: Request, session: SessionDep, actor: User, chrome: PageChrome) -> Response:
    return render(request, "quotas/page.html", {"chrome": chrome, **_section(session, actor)})


@router.post("", name="quota.create")
def create_quota(
    request: Request,
    session: SessionDep,
    actor: Creator,
    name: Box = "",
    description: Box = "",
    cluster_id: Box = "",
    spec_id: Box = "",
    instance_count: Box = "1",
    weight: Box = "1",
    workload_types: Many = [],  # noqa: B006 - FastAPI copies form defaults
    workspace_ids: Many = [],  # noqa: B006
    borrowing: Box = "",
    exclusive: Box = "",
    policy: Box = "fifo",
) -> Response:
    data = parse(
        QuotaCreate, name=name, description=description, cluster_id=cluster_id,
        spec_id=spec_id, instance_count=instance_count, weight=weight,
        workload_types=workload_types, workspace_ids=workspace_ids,
        borrowing=bool(borrowing), exclusive=bool(exclusive), policy=policy,
    )  # fmt: skip
    quota = quotas.do_create_quota(session, actor=actor, data=data)
    return _answer(request, session, actor, f"Created quota '{quota.name}'.")


@router.post("/{quota_id}/start", name="quota.start")
def start_quota(request: Request, session: SessionDep, actor: User, quota_id: str) -> Response:
    quota = access_quota(session, actor, quota_id)
    quotas.do_set_status(session, actor=actor, quota=quota, started=True)
    return _answer(request, session, actor, f"Started quota '{quota.name}'.")


@router.post("/{quota_id}/stop", name="quota.stop")
def stop_quota(request: Request, session: SessionDep, actor: User, quota_id: str) -> Response:
    quota = access_quota(session, actor, quota_id)
    quotas.do_set_status(session, actor=actor, quota=quota, started=False)
    flash = f"Stopped quota '{quota.name}': no new submissions; running tasks go on."
    return _answer(request, session, actor, flash)


@router.delete("/{quota_id}", name="quota.delete")
def delete_quota(request: Request, session: SessionDep, actor: User, quota_id: str) -> Response:
    quota = access_quota(session, actor, quota_id)
    quotas.do_delete_quota(session, actor=actor, quota=quota)
    session.flush()
    return _answer(request, session, actor, f"Deleted quota '{quota.name}'; its cards are free.")


@router.post("/queues", name="queue.create")
def create_queue(
    request: Request,
    session: SessionDep,
    actor: Creator,
    name: Box = "",
    description: Box = "",
    cluster_id: Box = "",
    spec_id: Box = "",
    instance_count: Box = "1",
    workload_types: Many = [],  # noqa: B006
) -> Response:
    data = parse(
        QueueCreate, name=name, description=description, cluster_id=cluster_id,
        spec_id=spec_id, instance_count=instance_count, workload_types=workload_types,
    )  # fmt: skip
    queue = queues.do_create_queue(session, actor=actor, data=data)
    return _answer(request, session, actor, f"Created queue '{queue.name}'.")


@router.post("/queues/{queue_id}/start", name="queue.start")
def start_queue(request: Request, session: SessionDep, actor: User, queue_id: str) -> Response:
    queue = access_queue(session, actor, queue_id)
    queues.do_set_status(session, actor=actor, queue=queue, started=True)
    return _answer(request, session, actor, f"Started queue '{queue.name}'.")


@router.post("/queues/{queue_id}/stop", name="queue.stop")
def stop_queue(request: Request, session: SessionDep, actor: User, queue_id: str) -> Response:
    queue = access_queue(session, actor, queue_id)
    queues.do_set_status(session, actor=actor, queue=queue, started=False)
    flash = f"Stopped queue '{queue.name}': no new submissions; running tasks go on."
    return _answer(request, session, actor, flash)


@router.delete("/queues/{queue_id}", name="queue.delete")
def delete_queue(request: Request, session: SessionDep, actor: User, queue_id: str) -> Response:
    queue = access_queue(session, actor, queue_id)
    queues.do_delete_queue(session, actor=actor, queue=queue)
    session.flush()
    return _answer(request, session, actor, f"Deleted queue '{queue.name}'.")
