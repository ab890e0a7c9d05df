"""API models for clusters, nodes, devices, specs, quotas and queues. The SDK imports these.

Inputs forbid unknown fields. Ranges are checked by the services, whose messages name the
field, the rule and the fix; the bounds here only keep absurd input out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from hangar.resources.types import (
    ClusterKind,
    Policy,
    QueueRole,
    Source,
    Status,
    WorkloadType,
)
from hangar.tenancy.schemas import Input, Output

Id = Annotated[str, Field(max_length=64)]
Name = Annotated[str, Field(max_length=1000)]
Text = Annotated[str, Field(max_length=5000)]
Ids = Annotated[list[Id], Field(max_length=500)]


# --- inventory --------------------------------------------------------------------------
class Capacity(Output):
    """Whole cards per model, and CPU and memory, of healthy nodes."""

    gpus: int = 0
    gpu_models: dict[str, int] = Field(default_factory=dict)
    cpu_millicores: int = 0
    mem_bytes: int = 0


class ClusterRead(Output):
    id: str
    name: str
    description: str
    kind: ClusterKind
    tenant_id: str | None
    created_at: datetime
    nodes: int = 0
    healthy_nodes: int = 0
    capacity: Capacity = Capacity()
    # Cards held by quotas and queues of this cluster, and the rest (spec 02 §6).
    allocated_gpus: int = 0
    unallocated_gpus: int = 0


class ClusterCreate(Input):
    name: Name
    description: Text = ""
    tenant_id: Id


class ClusterUpdate(Input):
    name: Name | None = None
    description: Text | None = None


class DeviceRead(Output):
    id: str
    node_id: str
    node_name: str = ""
    uuid: str
    index: int
    model: str
    vendor: str
    memory_bytes: int
    source: Source
    healthy: bool
    hardware_error: str
    last_seen_at: datetime


class NodeRead(Output):
    id: str
    name: str
    cluster_id: str
    cluster_name: str = ""
    source: Source
    backend: str
    cpu_millicores: int
    mem_bytes: int
    healthy: bool
    cordoned: bool
    status_reason: str
    labels: dict[str, str]
    first_seen_at: datetime
    last_seen_at: datetime
    devices: list[DeviceRead] = Field(default_factory=list)


class NodeAssign(Input):
    cluster_id: Id


# --- specs ------------------------------------------------------------------------------
class SpecCreate(Input):
    cluster_id: Id
    name: Annotated[str, Field(max_length=200)] = ""  # default: the display string
    cpu_millicores: int
    mem_bytes: int
    accel_model: Annotated[str, Field(max_length=200)] = ""
    accel_count: int = 0
    vgpu_vram_gib: int | None = None
    vgpu_compute_pct: int | None = None


class SpecRead(Output):
    id: str
    cluster_id: str
    name: str
    display: str = ""
    cpu_millicores: int
    mem_bytes: int
    accel_model: str
    accel_count: int
    vgpu_vram_gib: int | None
    vgpu_compute_pct: int | None
    created_at: datetime


# --- usage ------------------------------------------------------------------------------
class Amount(Output):
    """Whole cards, CPU and memory; ``gpu_milli``: virtual GPU slices' share of cards in
    thousandths (decision I1), on top of ``gpus``."""

    gpus: int = 0
    gpu_milli: int = 0
    cpu_millicores: int = 0
    mem_bytes: int = 0


class Usage(Output):
    """RQ12: per GPU / CPU / MEM, what the quota holds, what its tasks use, what they borrow."""

    total: Amount = Amount()
    used: Amount = Amount()
    borrowed: Amount = Amount()
    running: int = 0
    queued: int = 0


# --- quotas -----------------------------------------------------------------------------
class QuotaCreate(Input):
    name: Name
    description: Text = ""
    cluster_id: Id
    workload_types: Annotated[list[str], Field(max_length=20)]
    spec_id: Id
    instance_count: int = 1
    weight: int = 1
    borrowing: bool = False  # RQ7: default off
    exclusive: bool = True  # RQ9: default on
    policy: Annotated[str, Field(max_length=32)] = Policy.FIFO.value
    admin_ids: Ids = Field(default_factory=list)  # empty: the creator (the form pre-fills them, Q4)
    workspace_ids: Ids = Field(default_factory=list)


class QuotaEdit(Input):
    """RQ13: only the name and the description."""

    name: Name | None = None
    description: Text | None = None


class QuotaResize(Input):
    """RQ14: the quota must be stopped. Absent fields keep their value."""

    workload_types: Annotated[list[str] | None, Field(max_length=20)] = None
    spec_id: Id | None = None
    instance_count: int | None = None
    weight: int | None = None
    borrowing: bool | None = None
    exclusive: bool | None = None
    policy: Annotated[str | None, Field(max_length=32)] = None


class AdminsIn(Input):
    user_ids: Ids


class AssociateIn(Input):
    workspace_id: Id


class WorkspaceRef(Output):
    id: str
    name: str


class UserRef(Output):
    id: str
    username: str


class QuotaRead(Output):
    id: str
    tenant_id: str
    cluster_id: str
    cluster_name: str = ""
    name: str
    description: str
    workload_types: list[WorkloadType]
    spec: SpecRead
    instance_count: int
    weight: int
    borrowing: bool
    exclusive: bool
    policy: Policy
    status: Status
    admins: list[UserRef] = Field(default_factory=list)
    workspaces: list[WorkspaceRef] = Field(default_factory=list)
    usage: Usage = Usage()
    created_by: str | None
    created_at: datetime
    updated_at: datetime


# --- queues -----------------------------------------------------------------------------
class QueueUserIn(Input):
    user_id: Id
    role: QueueRole = QueueRole.MEMBER  # the "manage users" dialog's default


class QueueUsersIn(Input):
    users: Annotated[list[QueueUserIn], Field(max_length=500)]


class QueueUserRead(Output):
    user_id: str
    username: str
    role: QueueRole


class QueueCreate(Input):
    name: Name
    description: Text = ""
    cluster_id: Id
    workload_types: Annotated[list[str], Field(max_length=20)]
    spec_id: Id
    instance_count: int = 1
    admin_ids: Ids = Field(
        default_factory=list
    )  # empty: the creator (Q4 pre-fills the current user)
    member_ids: Ids = Field(default_factory=list)


class QueueEdit(Input):
    """Q8: only the name and the description."""

    name: Name | None = None
    description: Text | None = None


class QueueResize(Input):
    """Q8/Q9: workload types, spec and count. Absent fields keep their value."""

    workload_types: Annotated[list[str] | None, Field(max_length=20)] = None
    spec_id: Id | None = None
    instance_count: int | None = None


class QueueRead(Output):
    id: str
    tenant_id: str
    cluster_id: str
    cluster_name: str = ""
    name: str
    description: str
    builtin: bool
    workload_types: list[WorkloadType]
    spec: SpecRead | None
    instance_count: int | None
    status: Status
    workspace: WorkspaceRef | None = None  # queues serve the default workspace only (Q3)
    users: list[QueueUserRead] = Field(default_factory=list)
    usage: Usage = Usage()
    created_by: str | None
    created_at: datetime
    updated_at: datetime
