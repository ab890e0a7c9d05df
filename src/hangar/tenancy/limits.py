"""Per-user limits (spec 02 §7): tenant defaults, per-user overrides, installation caps (A7).

The scheduler enforces these later; this module stores and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hangar.audit.context import note_target
from hangar.errors import ValidationFailed
from hangar.tenancy.orm import Tenant, User
from hangar.tenancy.schemas import LimitsRead, LimitsUpdate, UserLimitsRead, UserLimitsUpdate

FIELDS = ("max_gpus", "max_cpus", "pfs_gib")
LABELS = {
    "max_gpus": "GPU cards in use at once",
    "max_cpus": "CPU cores in use at once",
    "pfs_gib": "parallel file system allocation (GiB)",
}


@dataclass(frozen=True)
class Caps:
    """Installation-wide upper bounds set by the platform operator."""

    max_gpus: int
    max_cpus: int
    pfs_gib: int


def tenant_defaults(tenant: Tenant) -> LimitsRead:
    return LimitsRead(
        max_gpus=tenant.default_max_gpus,
        max_cpus=tenant.default_max_cpus,
        pfs_gib=tenant.default_pfs_gib,
    )


def user_limits(tenant: Tenant, user: User, caps: Caps | None = None) -> UserLimitsRead:
    """A user's limits: the override if set, else the tenant default, never above ``caps``.

    Values stored before the operator lowered a cap stay stored but do not take effect above
    it (decision A7: the installation caps what any tenant may configure).
    """
    defaults = tenant_defaults(tenant)
    overrides = UserLimitsUpdate(
        max_gpus=user.max_gpus, max_cpus=user.max_cpus, pfs_gib=user.pfs_gib
    )
    chosen = {
        f: getattr(overrides, f) if getattr(overrides, f) is not None else getattr(defaults, f)
        for f in FIELDS
    }
    if caps is not None:
        chosen = {f: min(v, getattr(caps, f)) for f, v in chosen.items()}
    effective = LimitsRead(**chosen)
    return UserLimitsRead(
        user_id=user.id,
        effective=effective,
        overrides=LimitsUpdate(**overrides.model_dump()),
        tenant_defaults=defaults,
    )


def do_update_tenant_defaults(
    session: Session, *, tenant: Tenant, data: LimitsUpdate, caps: Caps
) -> LimitsRead:
    note_target("tenant_settings", tenant.id, tenant.name)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise ValidationFailed.field(name, "a tenant default cannot be empty")
        _check_cap(name, value, caps)
        setattr(tenant, f"default_{name}", value)
    return tenant_defaults(tenant)


def do_update_user_limits(
    session: Session, *, tenant: Tenant, user: User, data: UserLimitsUpdate, caps: Caps
) -> UserLimitsRead:
    note_target("user_limits", user.id, user.username)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            _check_cap(name, value, caps)
        setattr(user, name, value)
    return user_limits(tenant, user, caps)


def _check_cap(name: str, value: int, caps: Caps) -> None:
    cap = getattr(caps, name)
    if value > cap:
        raise ValidationFailed.field(
            name,
            f"{LABELS[name]} may be at most {cap} on this installation (asked {value}); "
            "the platform operator sets this cap",
        )
