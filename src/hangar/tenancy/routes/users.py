"""Sub-accounts and their per-user limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hangar.api.deps import Permit, SessionDep, SettingsDep
from hangar.tenancy import limits, users
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant
from hangar.tenancy.schemas import (
    UserCreate,
    UserLimitsRead,
    UserLimitsUpdate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def caps(settings: SettingsDep) -> limits.Caps:
    return limits.Caps(
        max_gpus=settings.cap_user_max_gpus,
        max_cpus=settings.cap_user_max_cpus,
        pfs_gib=settings.cap_user_pfs_gib,
    )


@router.get("", response_model=list[UserRead])
def list_users(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Permit("user.list"))],
    q: Annotated[str, Query(max_length=64)] = "",
) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in users.list_users(session, actor=actor, query=q)]


@router.post("", name="user.create", response_model=UserRead, status_code=201)
def create_user(
    session: SessionDep, actor: Annotated[Actor, Depends(Permit("user.create"))], body: UserCreate
) -> UserRead:
    user = users.do_create_user(session, tenant_id=actor.tenant_id, data=body)
    return UserRead.model_validate(user)


@router.get("/{user_id}", response_model=UserRead)
def get_user(
    session: SessionDep, actor: Annotated[Actor, Depends(Permit("user.list"))], user_id: str
) -> UserRead:
    return UserRead.model_validate(users.access_user(session, actor, user_id))


@router.patch("/{user_id}", name="user.update", response_model=UserRead)
def update_user(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Permit("user.update"))],
    user_id: str,
    body: UserUpdate,
) -> UserRead:
    user = users.access_user(session, actor, user_id)
    return UserRead.model_validate(users.do_update_user(session, actor=actor, user=user, data=body))


@router.delete("/{user_id}", name="user.delete", status_code=204)
def delete_user(
    session: SessionDep, actor: Annotated[Actor, Depends(Permit("user.delete"))], user_id: str
) -> None:
    users.do_delete_user(session, actor=actor, user=users.access_user(session, actor, user_id))


@router.get("/{user_id}/limits", response_model=UserLimitsRead)
def get_user_limits(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Permit("settings.view"))],
    user_id: str,
    bounds: Annotated[limits.Caps, Depends(caps)],
) -> UserLimitsRead:
    user = users.access_user(session, actor, user_id)
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    return limits.user_limits(tenant, user, bounds)


@router.patch("/{user_id}/limits", name="user.limits.update", response_model=UserLimitsRead)
def update_user_limits(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Permit("settings.edit"))],
    user_id: str,
    body: UserLimitsUpdate,
    bounds: Annotated[limits.Caps, Depends(caps)],
) -> UserLimitsRead:
    user = users.access_user(session, actor, user_id)
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    return limits.do_update_user_limits(session, tenant=tenant, user=user, data=body, caps=bounds)
