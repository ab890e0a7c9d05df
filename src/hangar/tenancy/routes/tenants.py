"""Tenants (organisations): the platform admin's view."""

from __future__ import annotations

from fastapi import APIRouter

from hangar.api.deps import PlatformAdmin, SessionDep
from hangar.errors import NotFound
from hangar.tenancy import tenants
from hangar.tenancy.orm import Tenant
from hangar.tenancy.schemas import StorageQuotaUpdate, TenantCreate, TenantRead

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"])


@router.get("", response_model=list[TenantRead])
def list_tenants(session: SessionDep, actor: PlatformAdmin) -> list[TenantRead]:
    return [TenantRead.model_validate(t) for t in tenants.list_tenants(session)]


@router.post("", name="tenant.create", response_model=TenantRead, status_code=201)
def create_tenant(session: SessionDep, actor: PlatformAdmin, body: TenantCreate) -> TenantRead:
    """Create an organisation with its main account, ``admin`` group and default workspace."""
    tenant, _owner = tenants.do_create_tenant(session, data=body)
    return TenantRead.model_validate(tenant)


@router.put("/{tenant_id}/storage-quota", response_model=TenantRead)
def set_storage_quota(
    session: SessionDep, actor: PlatformAdmin, tenant_id: str, body: StorageQuotaUpdate
) -> TenantRead:
    """Set a tenant's free platform storage; what it holds already stays, new versions over
    it are refused."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound.of("tenant", tenant_id)
    tenant.storage_quota_gib = body.storage_quota_gib
    return TenantRead.model_validate(tenant)
