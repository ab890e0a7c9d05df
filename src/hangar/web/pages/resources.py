"""The Resources page: clusters with capacity and allocation, their specs, and (for tenant
admins) nodes and devices, each device labelled DISCOVERED or DECLARED."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hangar.api.deps import Permit, SessionDep
from hangar.resources import clusters, nodes, specs
from hangar.tenancy.access import Actor
from hangar.web.chrome import RESOURCES, PageChrome
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/resources", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Permit(RESOURCES.capability))]


@router.get("")
def resources_page(
    request: Request, session: SessionDep, actor: Viewer, chrome: PageChrome
) -> Response:
    found = clusters.list_clusters(session, actor=actor)
    inventory = can(actor, "inventory.view")
    return render(
        request,
        "resources/page.html",
        {
            "chrome": chrome,
            "clusters": [clusters.describe(session, c) for c in found],
            "specs": specs.list_specs(session, actor=actor),
            "show_nodes": inventory,
            "nodes": nodes.list_nodes(session, actor=actor) if inventory else [],
        },
    )
