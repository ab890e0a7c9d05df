"""User groups (spec 01 T3-T7): the list, the custom-group quota, creating a custom group."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep, SettingsDep
from hangar.config import Settings
from hangar.tenancy import groups
from hangar.tenancy.access import Actor
from hangar.tenancy.groups import SECOND_LEVEL_POLICY
from hangar.tenancy.schemas import GroupCreate
from hangar.web.chrome import GROUPS, PageChrome
from hangar.web.forms import parse
from hangar.web.permissions import can
from hangar.web.templating import render

router = APIRouter(prefix="/groups", include_in_schema=False)
Reader = Annotated[Actor, Depends(Permit(GROUPS.capability))]
Manager = Annotated[Actor, Depends(Permit("group.manage"))]


def _section(session: Session, actor: Actor, settings: Settings) -> dict[str, object]:
    found = groups.list_groups(session, tenant_id=actor.tenant_id)
    return {
        "groups": found,
        "member_ids": groups.member_ids(session, [g.id for g in found]),
        "used": groups.count_custom(session, tenant_id=actor.tenant_id),
        "cap": settings.custom_group_cap,
        "can_manage": can(actor, "group.manage", write=True),
    }


@router.get("")
def list_page(
    request: Request, session: SessionDep, actor: Reader, settings: SettingsDep, chrome: PageChrome
) -> Response:
    context = {"chrome": chrome, **_section(session, actor, settings)}
    return render(request, "groups/list.html", context)


@router.post("", name="group.create")
def create(
    request: Request,
    session: SessionDep,
    actor: Manager,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    second_level_admin: Annotated[bool, Form()] = False,
) -> Response:
    data = parse(
        GroupCreate,
        name=name,
        description=description,
        policy=SECOND_LEVEL_POLICY if second_level_admin else None,
    )
    group = groups.do_create_group(session, actor=actor, data=data, cap=settings.custom_group_cap)
    context = {**_section(session, actor, settings), "flash": f"Created group '{group.name}'."}
    return render(request, "groups/_section.html", context)
