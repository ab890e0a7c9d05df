"""The admission queue: ``GET /api/v1/queue`` and ``PATCH /api/v1/workloads/{id}/priority``.

Everyone signed in may look (``quota.access``); the service narrows what each caller sees
and who may reorder (tenant admins and the pool's admins, decision B6).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hangar.api.deps import Permit, SessionDep
from hangar.jobs.queue import do_set_priority, queue_view
from hangar.jobs.schemas import PoolQueue, PriorityRead, PriorityUpdate
from hangar.tenancy.access import Actor

router = APIRouter(tags=["queue"])
Looker = Annotated[Actor, Depends(Permit("quota.access"))]


@router.get("/api/v1/queue", response_model=list[PoolQueue])
def list_waiting(session: SessionDep, actor: Looker) -> list[PoolQueue]:
    """Waiting workloads per quota or queue, in admission order, with wait time and reason."""
    return queue_view(session, actor=actor)


@router.patch(
    "/api/v1/workloads/{workload_id}/priority", name="workload.priority",
    response_model=PriorityRead,
)  # fmt: skip
def set_priority(
    session: SessionDep, actor: Looker, workload_id: str, body: PriorityUpdate
) -> PriorityRead:
    """B6: higher goes first in its pool; equal priorities keep submission order."""
    return do_set_priority(session, actor=actor, workload_id=workload_id, priority=body.priority)
