"""Per-user limits (spec 02 §7, decision A7): the tenant defaults and each user's overrides.

Same gates, services and installation caps as ``/api/v1/settings/limits`` and
``/api/v1/users/{id}/limits``; the mutations carry the API's route names for the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.tenancy import limits, users
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant
from hangar.tenancy.routes.users import caps
from hangar.tenancy.schemas import LimitsRead, LimitsUpdate, UserLimitsUpdate
from hangar.web.chrome import LIMITS, PageChrome
from hangar.web.forms import blank_to_none, parse
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/limits", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Permit(LIMITS.capability))]
Editor = Annotated[Actor, Depends(Permit("settings.edit"))]
Bounds = Annotated[limits.Caps, Depends(caps)]
# FastAPI reads an empty form box as absent, so absent and empty both mean None (clear, or
# "a tenant default cannot be empty"); the page's forms always send all three boxes.
LimitBox = Annotated[str, Form()]


@dataclass(frozen=True)
class Resource:
    """One limit as the page shows it; ``field`` is the API's field name."""

    field: str
    label: str
    help: str


RESOURCES = (
    Resource("max_gpus", "GPUs", "GPU cards one user may use at once"),
    Resource("max_cpus", "CPU cores", "CPU cores one user may use at once"),
    Resource("pfs_gib", "Parallel FS (GiB)", "parallel file system space allocated per user"),
)


def _tenant(session: Session, actor: Actor) -> Tenant:
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    return tenant


def _section(session: Session, actor: Actor, bounds: limits.Caps) -> dict[str, object]:
    tenant = _tenant(session, actor)
    return {
        "defaults": limits.tenant_defaults(tenant),
        "caps": bounds,
        "rows": [
            (user, limits.user_limits(tenant, user, bounds))
            for user in users.list_users(session, actor=actor)
        ],
        "resources": RESOURCES,
        "can_edit": can(actor, "settings.edit", write=True),
    }


def _boxes(max_gpus: str, max_cpus: str, pfs_gib: str) -> dict[str, str | None]:
    """The form's boxes as API fields; an empty box is ``None``."""
    return {
        "max_gpus": blank_to_none(max_gpus),
        "max_cpus": blank_to_none(max_cpus),
        "pfs_gib": blank_to_none(pfs_gib),
    }


def _summary(values: LimitsRead) -> str:
    return ", ".join(f"{r.label} {getattr(values, r.field)}" for r in RESOURCES)


def _answer(
    request: Request, session: Session, actor: Actor, bounds: limits.Caps, flash: str
) -> Response:
    context = {**_section(session, actor, bounds), "flash": flash}
    return render(request, "limits/_section.html", context)


@router.get("")
def limits_page(
    request: Request, session: SessionDep, actor: Viewer, bounds: Bounds, chrome: PageChrome
) -> Response:
    context = {"chrome": chrome, **_section(session, actor, bounds)}
    return render(request, "limits/page.html", context)


@router.patch("", name="settings.limits.update")
def update_defaults(
    request: Request,
    session: SessionDep,
    actor: Editor,
    bounds: Bounds,
    max_gpus: LimitBox = "",
    max_cpus: LimitBox = "",
    pfs_gib: LimitBox = "",
) -> Response:
    data = parse(LimitsUpdate, **_boxes(max_gpus, max_cpus, pfs_gib))
    saved = limits.do_update_tenant_defaults(
        session, tenant=_tenant(session, actor), data=data, caps=bounds
    )
    flash = f"Saved the tenant defaults: {_summary(saved)}. Users without an override get these."
    return _answer(request, session, actor, bounds, flash)


@router.patch("/users/{user_id}", name="user.limits.update")
def update_user(
    request: Request,
    session: SessionDep,
    actor: Editor,
    bounds: Bounds,
    user_id: str,
    max_gpus: LimitBox = "",
    max_cpus: LimitBox = "",
    pfs_gib: LimitBox = "",
) -> Response:
    user = users.access_user(session, actor, user_id)
    data = parse(UserLimitsUpdate, **_boxes(max_gpus, max_cpus, pfs_gib))
    saved = limits.do_update_user_limits(
        session, tenant=_tenant(session, actor), user=user, data=data, caps=bounds
    )
    flash = f"Saved the limits of '{user.username}'; in effect now: {_summary(saved.effective)}."
    return _answer(request, session, actor, bounds, flash)
