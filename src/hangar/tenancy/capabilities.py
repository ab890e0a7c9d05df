"""Tenant-level capabilities (spec 01 §1.1) as one declarative table.

Rows are capabilities, columns the tenant roles. ``⚠ not stated`` cells of the spec are decided
here and explained in docs/tenancy.md: second-level admins may create workspaces (A2) but not
sub-accounts or groups; every user may read the tenant's user directory, because workspace
admins pick members from it (spec 01 W6). Quotas and queues (spec 01 §1.1, §5.2): only the
main account and IAM admins create them; anyone may hold the resource-level admin or member
role of one, which ``quota.access`` plus the per-object check in ``hangar.resources`` grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TenantRole(StrEnum):
    OWNER = "owner"  # the main account
    ADMIN = "admin"  # member of the preset `admin` group
    SECOND_LEVEL_ADMIN = "second_level_admin"
    USER = "user"


@dataclass(frozen=True)
class Capability:
    key: str
    label: str
    roles: frozenset[TenantRole]

    @property
    def namespace(self) -> str:
        return self.key.split(".", 1)[0]


_ALL = frozenset(TenantRole)
_ADMINS = frozenset({TenantRole.OWNER, TenantRole.ADMIN})
_ADMINS_AND_SECOND = _ADMINS | {TenantRole.SECOND_LEVEL_ADMIN}

CAPABILITIES: tuple[Capability, ...] = (
    Capability("user.list", "List the tenant's user directory", _ALL),
    Capability("user.create", "Create sub-accounts", _ADMINS),
    Capability("user.update", "Edit, disable, enable sub-accounts and reset passwords", _ADMINS),
    Capability("user.delete", "Delete sub-accounts", _ADMINS),
    Capability("group.list", "List user groups", _ADMINS),
    Capability("group.manage", "Create, edit, delete user groups and their members", _ADMINS),
    Capability("workspace.list", "List workspaces the user may enter", _ALL),
    Capability("workspace.create", "Create workspaces", _ADMINS_AND_SECOND),
    Capability("settings.view", "View per-user limits and tenant settings", _ADMINS),
    Capability("settings.edit", "Edit per-user limits and tenant settings", _ADMINS),
    Capability("audit.view", "View and export the audit trail", _ADMINS),
    Capability("token.own", "Create, list and revoke one's own API tokens", _ALL),
    Capability("token.manage", "List and revoke other users' API tokens", _ADMINS),
    Capability("cluster.view", "List clusters and their resource specs", _ALL),
    Capability(
        "cluster.manage", "Define resource specs of the tenant's dedicated clusters", _ADMINS
    ),
    Capability("inventory.view", "View nodes and accelerator devices (GPU inventory)", _ADMINS),
    Capability(
        "quota.access",
        "See the quotas and queues one administers, belongs to or uses through a workspace; "
        "manage those one administers",
        _ALL,
    ),
    Capability("quota.manage", "Create resource quotas and queues; manage all of them", _ADMINS),
    Capability("storage.view", "List the tenant's registered external storages", _ALL),
    Capability(
        "storage.manage", "Register and remove external storages of the tenant's clusters", _ADMINS
    ),
    Capability(
        "dataset.confidential",
        "Configure confidential datasets (spec 01 §1.1: admin users only)",
        _ADMINS,
    ),
)
CAPABILITY: dict[str, Capability] = {c.key: c for c in CAPABILITIES}
