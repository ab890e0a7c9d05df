"""API models for tenancy. The SDK imports these too. Inputs forbid unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from hangar.tenancy.capabilities import TenantRole
from hangar.tenancy.matrix import Role


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Name64 = Annotated[str, Field(max_length=64)]


# --- auth -------------------------------------------------------------------------------
class LoginIn(Input):
    username: Name64
    password: Annotated[str, Field(max_length=256)]


class TokenLoginIn(LoginIn):
    token_name: Name64 = "cli"  # noqa: S105 - a label, not a secret
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = 30


# --- users ------------------------------------------------------------------------------
class UserCreate(Input):
    username: Name64
    password: Annotated[str, Field(max_length=256)]
    display_name: Annotated[str, Field(max_length=128)] = ""
    email: Annotated[str, Field(max_length=254)] = ""


class PasswordChange(Input):
    current_password: Annotated[str, Field(max_length=256)]
    new_password: Annotated[str, Field(max_length=256)]


class UserUpdate(Input):
    display_name: Annotated[str | None, Field(max_length=128)] = None
    email: Annotated[str | None, Field(max_length=254)] = None
    disabled: bool | None = None
    password: Annotated[str | None, Field(max_length=256)] = None


class UserRead(Output):
    id: str
    tenant_id: str
    username: str
    display_name: str
    email: str
    is_owner: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class Me(UserRead):
    tenant_name: str
    tenant_roles: list[TenantRole]
    is_platform_admin: bool
    via: str
    scopes: list[str]


# --- groups -----------------------------------------------------------------------------
class GroupCreate(Input):
    name: Name64
    description: Annotated[str, Field(max_length=300)] = ""
    policy: Annotated[str | None, Field(pattern="^second_level_admin$")] = None


class GroupUpdate(Input):
    name: Name64 | None = None
    description: Annotated[str | None, Field(max_length=300)] = None
    policy: Annotated[str | None, Field(pattern="^(second_level_admin|none)$")] = None


class GroupRead(Output):
    id: str
    name: str
    description: str
    builtin: bool
    policy: str | None
    created_at: datetime
    member_ids: list[str] = []


class GroupMembersIn(Input):
    user_ids: Annotated[list[str], Field(min_length=1, max_length=500)]


class GroupQuota(Output):
    custom_groups: int
    cap: int
    remaining: int


# --- workspaces -------------------------------------------------------------------------
class WorkspaceCreate(Input):
    name: Annotated[str, Field(max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    tags: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=128)]] = {}


class WorkspaceUpdate(Input):
    name: Annotated[str | None, Field(max_length=200)] = None
    description: Annotated[str | None, Field(max_length=2000)] = None
    tags: (
        dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=128)]] | None
    ) = None


class WorkspaceRead(Output):
    id: str
    name: str
    description: str
    is_default: bool
    tags: dict[str, str]
    created_by: str | None
    created_at: datetime
    my_roles: list[Role] = []
    member_count: int = 0
    owner_username: str = ""


class MemberAdd(Input):
    user_id: Annotated[str, Field(max_length=64)]
    roles: Annotated[list[Role], Field(min_length=1, max_length=3)]


class MemberUpdate(Input):
    roles: Annotated[list[Role], Field(min_length=1, max_length=3)]


class MemberRead(Output):
    user_id: str
    username: str
    display_name: str
    roles: list[Role]
    implicit: bool  # tenant admins: implicit, irremovable workspace admins (W7)


class AccessReviewIn(Input):
    points: Annotated[list[str], Field(min_length=1, max_length=200)]
    owner_id: Annotated[str | None, Field(max_length=64)] = None


class AccessDecision(Output):
    point: str
    number: int
    allowed: bool


class AccessReviewOut(Output):
    roles: list[Role]
    decisions: list[AccessDecision]


# --- tokens -----------------------------------------------------------------------------
class TokenCreate(Input):
    name: Name64
    scopes: Annotated[list[str], Field(max_length=40)] = ["all"]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = 90


class TokenRead(Output):
    id: str
    user_id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str  # shown once


# --- limits -----------------------------------------------------------------------------
class LimitsRead(Output):
    max_gpus: int
    max_cpus: int
    pfs_gib: int


class LimitsUpdate(Input):
    max_gpus: Annotated[int | None, Field(ge=0)] = None
    max_cpus: Annotated[int | None, Field(ge=0)] = None
    pfs_gib: Annotated[int | None, Field(ge=0)] = None


class UserLimitsRead(Output):
    user_id: str
    effective: LimitsRead
    overrides: LimitsUpdate
    tenant_defaults: LimitsRead


class UserLimitsUpdate(Input):
    """Per-user overrides; ``null`` clears an override so the tenant default applies."""

    max_gpus: Annotated[int | None, Field(ge=0)] = None
    max_cpus: Annotated[int | None, Field(ge=0)] = None
    pfs_gib: Annotated[int | None, Field(ge=0)] = None


# --- tenants (platform admin) -----------------------------------------------------------
class TenantCreate(Input):
    name: Annotated[str, Field(max_length=64)]
    owner_username: Name64
    owner_password: Annotated[str, Field(max_length=256)]


class TenantRead(Output):
    id: str
    name: str
    created_at: datetime
    storage_quota_gib: int = 300


class StorageQuotaUpdate(Input):
    """The tenant's free platform storage (spec 07 §0: 300 G by default)."""

    storage_quota_gib: Annotated[int, Field(ge=0, le=1_000_000)]
