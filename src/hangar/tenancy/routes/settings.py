"""Tenant settings: per-user limit defaults (spec 02 §7), bounded by installation caps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hangar.api.deps import Permit, SessionDep
from hangar.tenancy import limits
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant
from hangar.tenancy.routes.users import caps
from hangar.tenancy.schemas import LimitsRead, LimitsUpdate

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


def _tenant(session: SessionDep, actor: Actor) -> Tenant:
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    return tenant


@router.get("/limits", response_model=LimitsRead)
def get_limits(
    session: SessionDep, actor: Annotated[Actor, Depends(Permit("settings.view"))]
) -> LimitsRead:
    return limits.tenant_defaults(_tenant(session, actor))


@router.patch("/limits", name="settings.limits.update", response_model=LimitsRead)
def update_limits(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Permit("settings.edit"))],
    body: LimitsUpdate,
    bounds: Annotated[limits.Caps, Depends(caps)],
) -> LimitsRead:
    return limits.do_update_tenant_defaults(
        session, tenant=_tenant(session, actor), data=body, caps=bounds
    )
