"""The admission queue page: waiting workloads per quota or queue, in admission order, with
wait time and reason; pool admins change priorities (decision B6). Same service and route
name (``workload.priority``) as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from hangar.api.deps import Permit, SessionDep
from hangar.jobs.queue import do_set_priority, queue_view
from hangar.jobs.schemas import PriorityUpdate
from hangar.tenancy.access import Actor
from hangar.web.chrome import QUEUE, PageChrome
from hangar.web.forms import parse
from hangar.web.templating import render

router = APIRouter(prefix="/queue", include_in_schema=False)
Looker = Annotated[Actor, Depends(Permit(QUEUE.capability))]


@router.get("")
def queue_page(
    request: Request, session: SessionDep, actor: Looker, chrome: PageChrome
) -> Response:
    pools = queue_view(session, actor=actor)
    return render(request, "jobs/queue.html", {"chrome": chrome, "pools": pools})


@router.post("/{workload_id}/priority", name="workload.priority")
def set_priority(
    request: Request,
    session: SessionDep,
    actor: Looker,
    workload_id: str,
    priority: Annotated[str, Form()] = "",
) -> Response:
    data = parse(PriorityUpdate, priority=priority.strip() or None)
    changed = do_set_priority(session, actor=actor, workload_id=workload_id, priority=data.priority)
    flash = f"Priority of '{changed.name}': {changed.previous} → {changed.priority}."
    context = {"pools": queue_view(session, actor=actor), "flash": flash}
    return render(request, "jobs/_queue.html", context)
