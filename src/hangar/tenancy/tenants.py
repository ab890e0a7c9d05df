"""Tenants and the first start. A tenant is created with its main account, the preset
``admin`` group and the default workspace, all in the caller's transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import AlreadyExists, ValidationFailed
from hangar.tenancy import credentials
from hangar.tenancy.groups import ensure_admin_group
from hangar.tenancy.orm import Tenant, User
from hangar.tenancy.schemas import TenantCreate, UserCreate
from hangar.tenancy.users import do_create_user
from hangar.tenancy.workspaces import create_default_workspace

_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.name)))


def do_create_tenant(session: Session, *, data: TenantCreate) -> tuple[Tenant, User]:
    note_target("tenant", "", data.name, action="tenant.create")
    if not _TENANT_NAME.match(data.name):
        raise ValidationFailed.field(
            "name", "must be 1-64 letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    if session.scalar(select(func.count()).select_from(Tenant).where(Tenant.name == data.name)):
        raise AlreadyExists(
            f"a tenant named '{data.name}' already exists", fields={"name": "already exists"}
        )
    tenant = Tenant(name=data.name)
    session.add(tenant)
    session.flush()
    owner = do_create_user(
        session,
        tenant_id=tenant.id,
        data=UserCreate(
            username=data.owner_username,
            password=data.owner_password,
            display_name="Main account",
        ),
        is_owner=True,
    )
    ensure_admin_group(session, tenant_id=tenant.id)
    create_default_workspace(session, tenant_id=tenant.id, owner_id=owner.id)
    note_target("tenant", tenant.id, tenant.name, action="tenant.create")
    return tenant, owner


@dataclass(frozen=True)
class FirstStart:
    tenant: Tenant
    admin: User
    password: str | None  # set only when generated, so it can be printed once


def ensure_first_start(
    session: Session, *, admin_username: str, admin_password: str | None, tenant_name: str
) -> FirstStart | None:
    """Create the platform admin and first tenant when the database has no users yet."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    generated = admin_password is None
    password = admin_password or credentials.generate_password()
    tenant, admin = do_create_tenant(
        session,
        data=TenantCreate(name=tenant_name, owner_username=admin_username, owner_password=password),
    )
    admin.is_platform_admin = True
    admin.display_name = "Platform admin"
    return FirstStart(tenant=tenant, admin=admin, password=password if generated else None)
