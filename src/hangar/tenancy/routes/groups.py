"""User groups and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hangar.api.deps import Permit, SessionDep, SettingsDep
from hangar.tenancy import groups
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Group
from hangar.tenancy.schemas import GroupCreate, GroupMembersIn, GroupQuota, GroupRead, GroupUpdate

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])
Reader = Annotated[Actor, Depends(Permit("group.list"))]
Manager = Annotated[Actor, Depends(Permit("group.manage"))]


def _read(session: SessionDep, group: Group) -> GroupRead:
    out = GroupRead.model_validate(group)
    out.member_ids = groups.member_ids(session, [group.id])[group.id]
    return out


@router.get("", response_model=list[GroupRead])
def list_groups(session: SessionDep, actor: Reader) -> list[GroupRead]:
    found = groups.list_groups(session, tenant_id=actor.tenant_id)
    members = groups.member_ids(session, [g.id for g in found])
    return [
        GroupRead.model_validate(g).model_copy(update={"member_ids": members[g.id]}) for g in found
    ]


@router.get("/quota", response_model=GroupQuota)
def group_quota(session: SessionDep, actor: Reader, settings: SettingsDep) -> GroupQuota:
    used = groups.count_custom(session, tenant_id=actor.tenant_id)
    cap = settings.custom_group_cap
    return GroupQuota(custom_groups=used, cap=cap, remaining=max(0, cap - used))


@router.post("", name="group.create", response_model=GroupRead, status_code=201)
def create_group(
    session: SessionDep, actor: Manager, settings: SettingsDep, body: GroupCreate
) -> GroupRead:
    group = groups.do_create_group(session, actor=actor, data=body, cap=settings.custom_group_cap)
    return _read(session, group)


@router.get("/{group_id}", response_model=GroupRead)
def get_group(session: SessionDep, actor: Reader, group_id: str) -> GroupRead:
    return _read(session, groups.access_group(session, actor, group_id))


@router.patch("/{group_id}", name="group.update", response_model=GroupRead)
def update_group(
    session: SessionDep, actor: Manager, group_id: str, body: GroupUpdate
) -> GroupRead:
    group = groups.access_group(session, actor, group_id)
    return _read(session, groups.do_update_group(session, actor=actor, group=group, data=body))


@router.delete("/{group_id}", name="group.delete", status_code=204)
def delete_group(session: SessionDep, actor: Manager, group_id: str) -> None:
    groups.do_delete_group(session, group=groups.access_group(session, actor, group_id))


@router.post("/{group_id}/members", name="group.members.add", response_model=GroupRead)
def add_members(
    session: SessionDep, actor: Manager, group_id: str, body: GroupMembersIn
) -> GroupRead:
    group = groups.access_group(session, actor, group_id)
    groups.do_add_members(session, actor=actor, group=group, user_ids=body.user_ids)
    return _read(session, group)


@router.delete("/{group_id}/members/{user_id}", name="group.members.remove", status_code=204)
def remove_member(session: SessionDep, actor: Manager, group_id: str, user_id: str) -> None:
    group = groups.access_group(session, actor, group_id)
    groups.do_remove_member(session, actor=actor, group=group, user_id=user_id)
