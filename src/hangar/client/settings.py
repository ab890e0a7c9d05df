"""Tenant settings: the per-user limit defaults, ``/api/v1/settings``."""

from __future__ import annotations

from hangar.client.transport import UNSET, Transport, Unset, payload
from hangar.tenancy.schemas import LimitsRead, LimitsUpdate

BASE = "/api/v1/settings"


class SettingsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def get_limits(self) -> LimitsRead:
        """The tenant's default per-user limits (users without an override get these)."""
        return self._t.get(LimitsRead, f"{BASE}/limits")

    def set_limits(
        self,
        *,
        max_gpus: int | Unset = UNSET,
        max_cpus: int | Unset = UNSET,
        pfs_gib: int | Unset = UNSET,
    ) -> LimitsRead:
        """Change only the defaults passed; each must be within the installation's cap."""
        body = payload(LimitsUpdate, max_gpus=max_gpus, max_cpus=max_cpus, pfs_gib=pfs_gib)
        return self._t.send(LimitsRead, "PATCH", f"{BASE}/limits", json=body)
