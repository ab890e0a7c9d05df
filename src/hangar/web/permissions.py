"""Whether to *show* a control. The same checks that guard the routes, answered as a bool.

Hiding is a courtesy only: every console route still goes through ``Permit``.
"""

from __future__ import annotations

from hangar.errors import PermissionDenied
from hangar.tenancy.access import Actor, check_capability, check_point
from hangar.tenancy.matrix import Role


def can(actor: Actor, capability: str, *, write: bool = False) -> bool:
    """Whether the tenant capability table allows ``capability`` to ``actor``."""
    try:
        check_capability(actor, capability, write=write)
    except PermissionDenied:
        return False
    return True


def can_in_workspace(actor: Actor, point: str, roles: frozenset[Role]) -> bool:
    """Whether the matrix allows the workspace-level ``point`` (no owned object involved)."""
    try:
        check_point(actor, point, roles, owner_id=None, write=True)
    except PermissionDenied:
        return False
    return True
