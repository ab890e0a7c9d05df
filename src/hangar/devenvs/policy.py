"""A workspace's idle-shutdown policy ("auto-recycle", spec 03 §2): set by its admins.

An open policy is the default idle timeout of environments that set none; a locked one caps
every environment's timeout and refuses "keep alive" (see :func:`service.effective_idle`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hangar.devenvs.orm import IdlePolicy
from hangar.devenvs.schemas import IdlePolicyWrite
from hangar.devenvs.service import policy_of
from hangar.errors import NotFound, PermissionDenied
from hangar.tenancy.access import Actor, access_workspace, workspace_roles
from hangar.tenancy.matrix import Role
from hangar.tenancy.orm import Workspace


def workspace_for_policy(
    session: Session, actor: Actor, workspace_id: str, *, write: bool
) -> Workspace:
    """The workspace (any member may read its policy; only its admins may change it)."""
    ws = access_workspace(session, actor, workspace_id)
    if write and Role.ADMIN not in workspace_roles(session, actor, ws):
        raise PermissionDenied(f"only an admin of workspace '{ws.name}' may change its idle policy")
    return ws


def get_policy(session: Session, ws: Workspace) -> IdlePolicy:
    policy = policy_of(session, ws.id)
    if policy is None:
        raise NotFound(
            f"workspace '{ws.name}' has no idle policy: environments stop when idle only if "
            "they set idle_minutes themselves",
            kind="idle policy",
            id=ws.id,
        )
    return policy


def do_set_policy(
    session: Session, actor: Actor, ws: Workspace, data: IdlePolicyWrite
) -> IdlePolicy:
    policy = policy_of(session, ws.id)
    if policy is None:
        policy = IdlePolicy(
            tenant_id=ws.tenant_id, workspace_id=ws.id, idle_minutes=data.idle_minutes
        )
        session.add(policy)
    policy.idle_minutes, policy.locked = data.idle_minutes, data.locked
    policy.gpu_busy_percent, policy.updated_by = data.gpu_busy_percent, actor.id
    session.flush()
    return policy


def do_clear_policy(session: Session, ws: Workspace) -> None:
    session.delete(get_policy(session, ws))
