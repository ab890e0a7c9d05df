"""User groups (spec 01 T3–T7): the preset ``admin`` group and capped custom groups."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, Conflict, LimitExceeded, NotFound
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Group, GroupMember, User
from hangar.tenancy.schemas import GroupCreate, GroupUpdate
from hangar.tenancy.validation import check_description, check_group_name

ADMIN_GROUP = "admin"
ADMIN_POLICY = "admin"
SECOND_LEVEL_POLICY = "second_level_admin"


def ensure_admin_group(session: Session, *, tenant_id: str) -> Group:
    group = session.scalar(
        select(Group).where(Group.tenant_id == tenant_id, Group.builtin.is_(True))
    )
    if group is None:
        group = Group(
            tenant_id=tenant_id,
            name=ADMIN_GROUP,
            description="User group with all operation permissions",
            builtin=True,
            policy=ADMIN_POLICY,
        )
        session.add(group)
        session.flush()
    return group


def access_group(session: Session, actor: Actor, group_id: str) -> Group:
    group = session.get(Group, group_id)
    if group is None or group.tenant_id != actor.tenant_id:
        raise NotFound.of("group", group_id)
    return group


def list_groups(session: Session, *, tenant_id: str) -> list[Group]:
    return list(
        session.scalars(
            select(Group)
            .where(Group.tenant_id == tenant_id)
            .order_by(Group.builtin.desc(), Group.name)
        )
    )


def member_ids(session: Session, group_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(group_ids)
    out: dict[str, list[str]] = {gid: [] for gid in ids}
    if ids:
        for gid, uid in session.execute(
            select(GroupMember.group_id, GroupMember.user_id).where(GroupMember.group_id.in_(ids))
        ):
            out[gid].append(uid)
    return out


def count_custom(session: Session, *, tenant_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Group)
            .where(Group.tenant_id == tenant_id, Group.builtin.is_(False))
        )
        or 0
    )


def do_create_group(session: Session, *, actor: Actor, data: GroupCreate, cap: int) -> Group:
    note_target("group", "", data.name)
    check_group_name(data.name)
    check_description(data.description, 300)
    used = count_custom(session, tenant_id=actor.tenant_id)
    if used >= cap:
        raise LimitExceeded(
            f"this tenant already has {used} custom user groups, the cap is {cap}; "
            "delete an unused group or ask the platform operator to raise "
            "HANGAR_CUSTOM_GROUP_CAP",
            used=used,
            limit=cap,
        )
    _check_name_free(session, actor.tenant_id, data.name)
    group = Group(
        tenant_id=actor.tenant_id,
        name=data.name,
        description=data.description,
        policy=data.policy,
    )
    session.add(group)
    session.flush()
    note_target("group", group.id, group.name)
    return group


def do_update_group(session: Session, *, actor: Actor, group: Group, data: GroupUpdate) -> Group:
    note_target("group", group.id, group.name)
    if group.builtin and (data.name is not None or data.policy is not None):
        raise Conflict(
            "the preset 'admin' group cannot be renamed or re-bound to another policy",
            fields={"name": "preset group"},
        )
    if data.name is not None and data.name != group.name:
        check_group_name(data.name)
        _check_name_free(session, actor.tenant_id, data.name)
        group.name = data.name
    if data.description is not None:
        group.description = check_description(data.description, 300)
    if data.policy is not None:
        group.policy = None if data.policy == "none" else data.policy
    return group


def do_delete_group(session: Session, *, group: Group) -> None:
    note_target("group", group.id, group.name)
    if group.builtin:
        raise Conflict("the preset 'admin' group cannot be deleted")
    session.delete(group)


def do_add_members(session: Session, *, actor: Actor, group: Group, user_ids: list[str]) -> None:
    note_target("group", group.id, group.name, user_ids=user_ids)
    present = set(member_ids(session, [group.id])[group.id])
    for uid in dict.fromkeys(user_ids):
        user = session.get(User, uid)
        if user is None or user.tenant_id != actor.tenant_id:
            raise NotFound(f"user '{uid}' not found", fields={"user_ids": f"unknown id {uid}"})
        if uid not in present:
            session.add(GroupMember(group_id=group.id, user_id=uid))
    session.flush()


def do_remove_member(session: Session, *, actor: Actor, group: Group, user_id: str) -> None:
    note_target("group", group.id, group.name, user_id=user_id)
    if group.builtin and user_id == actor.id:
        raise Conflict(
            "you cannot remove yourself from the 'admin' group; ask another admin to do it"
        )
    result = session.execute(
        delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user_id)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"user '{user_id}' is not a member of group '{group.name}'")


def _check_name_free(session: Session, tenant_id: str, name: str) -> None:
    exists = session.scalar(
        select(func.count())
        .select_from(Group)
        .where(Group.tenant_id == tenant_id, Group.name == name)
    )
    if exists:
        raise AlreadyExists(
            f"a user group named '{name}' already exists in this tenant",
            fields={"name": "already exists"},
        )
