"""Organisations (tenants): ``/api/v1/tenants``, for the platform admin only."""

from __future__ import annotations

from hangar.client.transport import Transport, payload
from hangar.tenancy.schemas import TenantCreate, TenantRead

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
