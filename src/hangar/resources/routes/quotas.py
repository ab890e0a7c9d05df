"""Resource quotas: ``/api/v1/quotas`` (spec 02 §5, §6, §10).

Tenant admins create quotas (``quota.manage``). Everyone may call the rest (``quota.access``);
the services then allow tenant admins and the quota's admins to manage it (RQ11), and members
of associated workspaces to read it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from hangar.api.deps import Permit, SessionDep
from hangar.resources import quotas, workspace_links
from hangar.resources.access import access_quota
from hangar.resources.orm import Quota
from hangar.resources.reads import describe_quotas, quota_usage
from hangar.resources.schemas import (
    AdminsIn,
    AssociateIn,
    QuotaCreate,
    QuotaEdit,
    QuotaRead,
    QuotaResize,
    Usage,
)
from hangar.resources.types import Status, WorkloadType
from hangar.tenancy.access import Actor

router = APIRouter(prefix="/api/v1/quotas", tags=["quotas"])

Creator = Annotated[Actor, Depends(Permit("quota.manage"))]
User = Annotated[Actor, Depends(Permit("quota.access"))]


def _read(session: Session, quota: Quota) -> QuotaRead:
    return describe_quotas(session, [quota])[0]


@router.get("", response_model=list[QuotaRead])
def list_quotas(
    session: SessionDep,
    actor: User,
    cluster: Annotated[str | None, Query(description="Cluster id or name.")] = None,
    workspace: Annotated[str | None, Query(description="Associated workspace, name or id.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains, or the id.")] = None,
    status: Annotated[Status | None, Query(description="started or stopped.")] = None,
    workload_type: Annotated[
        WorkloadType | None, Query(alias="type", description="Allows this workload type.")
    ] = None,
) -> list[QuotaRead]:
    """RQ12: the quotas you may see, with usage; search by name, cluster, workspace."""
    found = quotas.list_quotas(
        session, actor=actor, cluster_id=cluster, workspace=workspace, search=q, status=status,
        workload_type=workload_type,
    )  # fmt: skip
    return describe_quotas(session, found)


@router.post("", name="quota.create", response_model=QuotaRead, status_code=201)
def create_quota(session: SessionDep, actor: Creator, body: QuotaCreate) -> QuotaRead:
    return _read(session, quotas.do_create_quota(session, actor=actor, data=body))


@router.get("/{quota_id}", response_model=QuotaRead)
def get_quota(session: SessionDep, actor: User, quota_id: str) -> QuotaRead:
    return _read(session, access_quota(session, actor, quota_id))


@router.get("/{quota_id}/usage", response_model=Usage)
def get_usage(session: SessionDep, actor: User, quota_id: str) -> Usage:
    """RQ12's details: used, borrowed and total per GPU / CPU / MEM."""
    return quota_usage(session, access_quota(session, actor, quota_id))


@router.patch("/{quota_id}", name="quota.update", response_model=QuotaRead)
def edit_quota(session: SessionDep, actor: User, quota_id: str, body: QuotaEdit) -> QuotaRead:
    """RQ13: name and description only."""
    quota = access_quota(session, actor, quota_id)
    return _read(session, quotas.do_edit_quota(session, actor=actor, quota=quota, data=body))


@router.post("/{quota_id}/resize", name="quota.resize", response_model=QuotaRead)
def resize_quota(session: SessionDep, actor: User, quota_id: str, body: QuotaResize) -> QuotaRead:
    """RQ14: stop the quota first; the spec changes only with no running or queued task."""
    quota = access_quota(session, actor, quota_id)
    return _read(session, quotas.do_resize_quota(session, actor=actor, quota=quota, data=body))


@router.post("/{quota_id}/start", name="quota.start", response_model=QuotaRead)
def start_quota(session: SessionDep, actor: User, quota_id: str) -> QuotaRead:
    quota = access_quota(session, actor, quota_id)
    return _read(session, quotas.do_set_status(session, actor=actor, quota=quota, started=True))


@router.post("/{quota_id}/stop", name="quota.stop", response_model=QuotaRead)
def stop_quota(session: SessionDep, actor: User, quota_id: str) -> QuotaRead:
    """RQ15: no new submissions; running tasks go on to completion."""
    quota = access_quota(session, actor, quota_id)
    return _read(session, quotas.do_set_status(session, actor=actor, quota=quota, started=False))


@router.delete("/{quota_id}", name="quota.delete", status_code=204)
def delete_quota(session: SessionDep, actor: User, quota_id: str) -> None:
    """RQ16: only when stopped with no unfinished task."""
    quota = access_quota(session, actor, quota_id)
    quotas.do_delete_quota(session, actor=actor, quota=quota)


@router.put("/{quota_id}/admins", name="quota.admins.set", response_model=QuotaRead)
def set_admins(session: SessionDep, actor: User, quota_id: str, body: AdminsIn) -> QuotaRead:
    """RQ11 "manage users": replace the quota's admins."""
    quota = access_quota(session, actor, quota_id)
    return _read(
        session, quotas.do_set_admins(session, actor=actor, quota=quota, user_ids=body.user_ids)
    )


@router.post("/{quota_id}/workspaces", name="quota.workspaces.add", response_model=QuotaRead)
def associate(session: SessionDep, actor: User, quota_id: str, body: AssociateIn) -> QuotaRead:
    """Associate a non-default workspace (RQ1, W4)."""
    quota = access_quota(session, actor, quota_id)
    workspace_links.do_associate(session, actor=actor, quota=quota, workspace_id=body.workspace_id)
    return _read(session, quota)


@router.delete(
    "/{quota_id}/workspaces/{workspace_id}", name="quota.workspaces.remove", status_code=204
)
def dissociate(session: SessionDep, actor: User, quota_id: str, workspace_id: str) -> None:
    """A4: refused while the workspace has running or queued workloads on the quota."""
    quota = access_quota(session, actor, quota_id)
    workspace_links.do_dissociate(session, actor=actor, quota=quota, workspace_id=workspace_id)
