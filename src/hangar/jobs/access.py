"""Who may see and act on a training job (matrix rows 63-69, 79-81; spec 01 §5).

A job lives in a workspace. The caller must be able to enter that workspace (else 404, so
ids of other tenants and other teams never leak), then the matrix cell for their roles
there decides, choosing the *own* or *others'* column by the job's creator. A job whose
creator was deleted counts as someone else's: nobody owns it any more.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from hangar.audit.context import note_workspace
from hangar.errors import NotFound, PermissionDenied
from hangar.tenancy.access import (
    Actor,
    access_workspace,
    check_point,
    decide,
    workspace_roles,
)
from hangar.tenancy.matrix import BY_KEY, Role
from hangar.tenancy.orm import Workspace
from hangar.tenancy.workspaces import list_workspaces, roles_by_workspace
from hangar.workloads.orm import Workload

KIND = "training"


@dataclass(frozen=True)
class JobAccess:
    """A job the caller may act on, its workspace and the caller's roles there."""

    actor: Actor
    job: Workload
    workspace: Workspace
    roles: frozenset[Role]


def owner_of(job: Workload) -> str:
    """The owner id for the matrix: "" (nobody, hence others') when the creator is gone."""
    return job.created_by or ""


def access_job(
    session: Session,
    actor: Actor,
    job_id: str,
    point: str,
    *,
    write: bool,
    lock: bool = False,
    kind: str = KIND,
    label: str = "job",
) -> JobAccess:
    """The job ``job_id`` if ``point`` allows the caller to act on it.

    ``lock`` takes a row lock (PostgreSQL) so that a state change here and one by another
    request serialise instead of overwriting each other.
    """
    stmt = select(Workload).where(Workload.id == job_id, Workload.kind == kind)
    if lock:
        stmt = stmt.with_for_update()
    job = session.scalar(stmt)
    if job is None or job.tenant_id != actor.tenant_id:
        raise NotFound.of(label, job_id)
    try:
        ws = access_workspace(session, actor, job.workspace_id)
    except NotFound:
        raise NotFound.of(label, job_id) from None
    note_workspace(ws.id)
    roles = workspace_roles(session, actor, ws)
    check_point(actor, point, roles, owner_id=owner_of(job), write=write)
    return JobAccess(actor=actor, job=job, workspace=ws, roles=roles)


def can(actor: Actor, point: str, roles: frozenset[Role], job: Workload) -> bool:
    """Whether the matrix allows ``point`` on ``job`` (for showing a control)."""
    try:
        check_point(actor, point, roles, owner_id=owner_of(job), write=True)
    except PermissionDenied:
        return False
    return True


def visible_jobs(
    session: Session, actor: Actor, *, point: str = "training.list", kind: str = KIND
) -> ColumnElement[bool]:
    """A WHERE clause: the jobs ``point`` lets the caller see, in every workspace they enter.

    Per workspace: all jobs where the others' column allows it, else only their own.
    """
    if not actor.scope_allows(BY_KEY[point].namespace, write=False):
        raise PermissionDenied(
            f"this API token lacks the scope '{BY_KEY[point].namespace}:read'",
            required_scope=f"{BY_KEY[point].namespace}:read",
        )
    held = roles_by_workspace(session, actor=actor)
    every: list[str] = []
    own: list[str] = []
    for ws in list_workspaces(session, actor=actor):
        roles = frozenset(
            held.get(ws.id, set()) | ({Role.ADMIN} if actor.is_tenant_admin else set())
        )
        if decide(BY_KEY[point], roles, owner_is_actor=False):
            every.append(ws.id)
        elif decide(BY_KEY[point], roles, owner_is_actor=True):
            own.append(ws.id)
    if not every and not own:
        return false()
    return and_(
        Workload.tenant_id == actor.tenant_id,
        Workload.kind == kind,
        or_(
            Workload.workspace_id.in_(every),
            and_(Workload.workspace_id.in_(own), Workload.created_by == actor.id),
        ),
    )


def access_workspace_for_create(
    session: Session, actor: Actor, workspace_id: str, *, point: str = "training.create"
) -> Workspace:
    """The workspace a new job goes to, if the caller may create jobs there (row 63)."""
    ws = access_workspace(session, actor, workspace_id)
    note_workspace(ws.id)
    roles = workspace_roles(session, actor, ws)
    check_point(actor, point, roles, owner_id=None, write=True)
    return ws


def access_workspace_ref(session: Session, actor: Actor, ref: str) -> Workspace:
    """A workspace by id or name that the caller may enter (404 otherwise)."""
    found = session.scalar(
        select(Workspace.id).where(
            Workspace.tenant_id == actor.tenant_id, or_(Workspace.id == ref, Workspace.name == ref)
        )
    )
    return access_workspace(session, actor, found or ref)
