"""Resource quotas and queues: ``/api/v1/quotas`` and ``/api/v1/queues``."""

from __future__ import annotations

from collections.abc import Sequence

from hangar.client.errors import by_name_or_id
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
from hangar.resources.schemas import (
    AdminsIn,
    AssociateIn,
    QueueCreate,
    QueueEdit,
    QueueRead,
    QueueResize,
    QueueUserIn,
    QueueUsersIn,
    QuotaCreate,
    QuotaEdit,
    QuotaRead,
    QuotaResize,
    Usage,
)
from hangar.resources.types import QueueRole, Status, WorkloadType

QUOTAS = "/api/v1/quotas"
QUEUES = "/api/v1/queues"


def _listed(values: Sequence[str] | Unset) -> list[str] | Unset:
    return values if isinstance(values, Unset) else list(values)


class QuotasAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(
        self,
        *,
        cluster: str | None = None,
        workspace: str | None = None,
        search: str | None = None,
        status: Status | None = None,
        workload_type: WorkloadType | None = None,
    ) -> list[QuotaRead]:
        """The quotas you may see, with usage (all of the tenant's for tenant admins).

        ``workspace`` (name or id) keeps the quotas associated with it; ``search`` matches
        part of a name, or an id.
        """
        params = {
            "cluster": cluster, "workspace": workspace, "q": search,
            "status": status.value if status else None,
            "type": workload_type.value if workload_type else None,
        }  # fmt: skip
        return self._t.get_list(QuotaRead, QUOTAS, params=params)

    def get(self, quota: str) -> QuotaRead:
        """One quota by id or name."""
        return self._t.get(QuotaRead, f"{QUOTAS}/{segment(quota)}")

    def find(self, ref: str) -> QuotaRead:
        return by_name_or_id(self.list(), ref, "quota")

    def usage(self, quota: str) -> Usage:
        return self._t.get(Usage, f"{QUOTAS}/{segment(quota)}/usage")

    def create(
        self,
        *,
        name: str,
        cluster_id: str,
        spec_id: str,
        workload_types: Sequence[str],
        instance_count: int = 1,
        weight: int = 1,
        borrowing: bool = False,
        exclusive: bool = True,
        description: str = "",
        admin_ids: Sequence[str] = (),
        workspace_ids: Sequence[str] = (),
        policy: str = "fifo",
    ) -> QuotaRead:
        body = payload(
            QuotaCreate, name=name, description=description, cluster_id=cluster_id,
            workload_types=list(workload_types), spec_id=spec_id,
            instance_count=instance_count, weight=weight, borrowing=borrowing,
            exclusive=exclusive, admin_ids=list(admin_ids), workspace_ids=list(workspace_ids),
            policy=policy,
        )  # fmt: skip
        return self._t.send(QuotaRead, "POST", QUOTAS, json=body)

    def edit(
        self, quota_id: str, *, name: str | Unset = UNSET, description: str | Unset = UNSET
    ) -> QuotaRead:
        """RQ13: name and description only."""
        body = payload(QuotaEdit, name=name, description=description)
        return self._t.send(QuotaRead, "PATCH", f"{QUOTAS}/{segment(quota_id)}", json=body)

    def resize(
        self,
        quota_id: str,
        *,
        workload_types: Sequence[str] | Unset = UNSET,
        spec_id: str | Unset = UNSET,
        instance_count: int | Unset = UNSET,
        weight: int | Unset = UNSET,
        borrowing: bool | Unset = UNSET,
        exclusive: bool | Unset = UNSET,
        policy: str | Unset = UNSET,
    ) -> QuotaRead:
        """RQ14: stop the quota first. Only what is passed changes."""
        body = payload(
            QuotaResize,
            workload_types=_listed(workload_types),
            spec_id=spec_id, instance_count=instance_count, weight=weight,
            borrowing=borrowing, exclusive=exclusive, policy=policy,
        )  # fmt: skip
        return self._t.send(QuotaRead, "POST", f"{QUOTAS}/{segment(quota_id)}/resize", json=body)

    def start(self, quota_id: str) -> QuotaRead:
        return self._t.send(QuotaRead, "POST", f"{QUOTAS}/{segment(quota_id)}/start")

    def stop(self, quota_id: str) -> QuotaRead:
        return self._t.send(QuotaRead, "POST", f"{QUOTAS}/{segment(quota_id)}/stop")

    def delete(self, quota_id: str) -> None:
        self._t.request("DELETE", f"{QUOTAS}/{segment(quota_id)}")

    def set_admins(self, quota_id: str, user_ids: Sequence[str]) -> QuotaRead:
        body = payload(AdminsIn, user_ids=list(user_ids))
        return self._t.send(QuotaRead, "PUT", f"{QUOTAS}/{segment(quota_id)}/admins", json=body)

    def associate(self, quota_id: str, workspace_id: str) -> QuotaRead:
        body = payload(AssociateIn, workspace_id=workspace_id)
        path = f"{QUOTAS}/{segment(quota_id)}/workspaces"
        return self._t.send(QuotaRead, "POST", path, json=body)

    def dissociate(self, quota_id: str, workspace_id: str) -> None:
        """Refused while that workspace has running or queued workloads on the quota (A4)."""
        self._t.request(
            "DELETE", f"{QUOTAS}/{segment(quota_id)}/workspaces/{segment(workspace_id)}"
        )


class QueuesAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(
        self,
        *,
        cluster: str | None = None,
        search: str | None = None,
        status: Status | None = None,
        workload_type: WorkloadType | None = None,
    ) -> list[QueueRead]:
        """The queues you may see, the built-in default queue first."""
        params = {
            "cluster": cluster, "q": search, "status": status.value if status else None,
            "type": workload_type.value if workload_type else None,
        }  # fmt: skip
        return self._t.get_list(QueueRead, QUEUES, params=params)

    def get(self, queue: str) -> QueueRead:
        return self._t.get(QueueRead, f"{QUEUES}/{segment(queue)}")

    def find(self, ref: str) -> QueueRead:
        return by_name_or_id(self.list(), ref, "queue")

    def usage(self, queue: str) -> Usage:
        return self._t.get(Usage, f"{QUEUES}/{segment(queue)}/usage")

    def create(
        self,
        *,
        name: str,
        cluster_id: str,
        spec_id: str,
        workload_types: Sequence[str],
        instance_count: int = 1,
        description: str = "",
        admin_ids: Sequence[str] = (),
        member_ids: Sequence[str] = (),
    ) -> QueueRead:
        body = payload(
            QueueCreate, name=name, description=description, cluster_id=cluster_id,
            workload_types=list(workload_types), spec_id=spec_id,
            instance_count=instance_count, admin_ids=list(admin_ids),
            member_ids=list(member_ids),
        )  # fmt: skip
        return self._t.send(QueueRead, "POST", QUEUES, json=body)

    def edit(
        self, queue_id: str, *, name: str | Unset = UNSET, description: str | Unset = UNSET
    ) -> QueueRead:
        body = payload(QueueEdit, name=name, description=description)
        return self._t.send(QueueRead, "PATCH", f"{QUEUES}/{segment(queue_id)}", json=body)

    def resize(
        self,
        queue_id: str,
        *,
        workload_types: Sequence[str] | Unset = UNSET,
        spec_id: str | Unset = UNSET,
        instance_count: int | Unset = UNSET,
    ) -> QueueRead:
        body = payload(
            QueueResize,
            workload_types=_listed(workload_types),
            spec_id=spec_id, instance_count=instance_count,
        )  # fmt: skip
        return self._t.send(QueueRead, "POST", f"{QUEUES}/{segment(queue_id)}/resize", json=body)

    def start(self, queue_id: str) -> QueueRead:
        return self._t.send(QueueRead, "POST", f"{QUEUES}/{segment(queue_id)}/start")

    def stop(self, queue_id: str) -> QueueRead:
        return self._t.send(QueueRead, "POST", f"{QUEUES}/{segment(queue_id)}/stop")

    def delete(self, queue_id: str) -> None:
        self._t.request("DELETE", f"{QUEUES}/{segment(queue_id)}")

    def set_users(
        self, queue_id: str, *, admins: Sequence[str] = (), members: Sequence[str] = ()
    ) -> QueueRead:
        """Replace the queue's users: ``admins`` manage it, ``members`` only use it."""
        users = [QueueUserIn(user_id=u, role=QueueRole.ADMIN) for u in admins]
        users += [QueueUserIn(user_id=u, role=QueueRole.MEMBER) for u in members]
        body = payload(QueueUsersIn, users=[u.model_dump(mode="json") for u in users])
        path = f"{QUEUES}/{segment(queue_id)}/users"
        return self._t.send(QueueRead, "PUT", path, json=body)
