"""Organisations (tenants): ``/api/v1/tenants``, for the platform admin only."""

from __future__ import annotations

from hangar.client.transport import Transport, payload, segment
from hangar.tenancy.schemas import StorageQuotaUpdate, TenantCreate, TenantRead

BASE = "/api/v1/tenants"


class TenantsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> list[TenantRead]:
        return self._t.get_list(TenantRead, BASE)

    def create(self, *, name: str, owner_username: str, owner_password: str) -> TenantRead:
        """Create an organisation with its main account, ``admin`` group and default workspace."""
        body = payload(
            TenantCreate, name=name, owner_username=owner_username, owner_password=owner_password
        )
        return self._t.send(TenantRead, "POST", BASE, json=body)

    def set_storage_quota(self, tenant_id: str, gib: int) -> TenantRead:
        """The tenant's free platform storage, in GiB (platform admin)."""
        body = payload(StorageQuotaUpdate, storage_quota_gib=gib)
        return self._t.send(TenantRead, "PUT", f"{BASE}/{segment(tenant_id)}/storage-quota",
                            json=body)  # fmt: skip
