"""Training-job API models (spec 04 §1, decisions D1-D4). The SDK imports these too."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hangar.assets.dataset_schemas import MountRead, MountRequest
from hangar.errors import ValidationFailed
from hangar.naming import check_n1
from hangar.resources.schemas import SpecRead, Usage
from hangar.tenancy.schemas import Output

JOB_NAME_MAX = 64  # rule N1, ≤ 64 (decision C1 applied to jobs)
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"


def check_job_name(value: str) -> str:
    """Rule N1 with the job length cap, reported through pydantic with the other fields."""
    try:
        return check_n1(value, max_length=JOB_NAME_MAX)
    except ValidationFailed as err:
        raise ValueError(err.fields["name"]) from None


def check_env_vars(value: dict[str, str]) -> dict[str, str]:
    """User environment variables: valid names, none of the platform's own."""
    bad = [k for k in value if not re.match(ENV_KEY, k)]
    if bad:
        raise ValueError(
            f"variable names must match {ENV_KEY} (letters, digits, '_', not starting "
            f"with a digit); invalid: {', '.join(sorted(bad)[:5])}"
        )
    reserved = [k for k in value if k.startswith(("PET_", "HANGAR_"))]
    if reserved:
        raise ValueError(
            f"PET_* and HANGAR_* are set by the platform; remove {', '.join(reserved[:5])}"
        )
    return value


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RestartPolicy(Input):
    """Fault tolerance (spec 04 §5, decision D2). Off by default."""

    fault_tolerance: bool = False
    max_restarts_per_error: Annotated[int, Field(ge=0, le=100)] = 3
    restart_scope: Literal["pod", "job"] = "job"
    on_exhausted: Literal["fail", "hold"] = "fail"

    @field_validator("restart_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value == "pod":
            raise ValueError(
                "'pod' (restart only the failed node, spec 04 §5.5) is not supported yet; "
                "use 'job' (the whole gang restarts from the last checkpoint)"
            )
        return value

    @field_validator("on_exhausted")
    @classmethod
    def _exhausted(cls, value: str) -> str:
        if value == "hold":
            raise ValueError(
                "'hold' (keep the job for inspection) is not supported yet; use 'fail'"
            )
        return value


class NodeResources(Input):
    """Per-node request. Either a spec id, or explicit CPU / memory / GPUs."""

    spec_id: Annotated[str | None, Field(max_length=16)] = None
    cpu_cores: Annotated[float | None, Field(gt=0, le=4096)] = None
    mem_gib: Annotated[float | None, Field(gt=0, le=65536)] = None
    gpus: Annotated[int, Field(ge=0, le=64)] = 0
    gpu_model: Annotated[str | None, Field(max_length=64)] = None

    @model_validator(mode="after")
    def _spec_or_explicit(self) -> NodeResources:
        explicit = self.cpu_cores is not None or self.mem_gib is not None
        if self.spec_id and (explicit or self.gpus):
            raise ValueError("give either 'spec_id' or explicit cpu_cores/mem_gib/gpus, not both")
        if not self.spec_id and (self.cpu_cores is None or self.mem_gib is None):
            raise ValueError("give a 'spec_id', or both 'cpu_cores' and 'mem_gib'")
        return self


class TrainingJobCreate(Input):
    workspace_id: Annotated[str, Field(max_length=16)]
    name: Annotated[str, Field(max_length=200)]
    description: Annotated[str, Field(max_length=128)] = ""
    command: Annotated[str, Field(min_length=1, max_length=16384)]
    mode: Literal["ddp", "single"] = "ddp"
    worker_count: Annotated[int, Field(ge=1, le=1024)] = 1
    procs_per_node: Annotated[int | None, Field(ge=1, le=64)] = None
    resources: NodeResources
    quota_id: Annotated[str | None, Field(max_length=16)] = None
    queue_id: Annotated[str | None, Field(max_length=16)] = None
    image: Annotated[str | None, Field(max_length=256)] = None
    env: Annotated[dict[str, Annotated[str, Field(max_length=4096)]], Field(max_length=100)] = {}
    restart: RestartPolicy = RestartPolicy()
    mounts: Annotated[list[MountRequest], Field(max_length=20)] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_job_name(value)

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is required: the shell command that starts training")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env_vars(value)

    @model_validator(mode="after")
    def _one_source(self) -> TrainingJobCreate:
        if self.quota_id and self.queue_id:
            raise ValueError("give 'quota_id' (custom workspaces) or 'queue_id', not both")
        return self

    @property
    def node_count(self) -> int:
        """DDP: 1 master + N workers (spec 04 §1); single-node: 1."""
        return 1 + self.worker_count if self.mode == "ddp" else 1


class JobCopy(Input):
    """Copy a job (spec 04 §3): same configuration and inputs; these may be changed."""

    name: Annotated[str | None, Field(max_length=200)] = None
    description: Annotated[str | None, Field(max_length=128)] = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else check_job_name(value)


class PriorityUpdate(Input):
    """Decision B6: higher goes first in its quota's or queue's queue; 0 is the default."""

    priority: Annotated[int, Field(ge=-1000, le=1000)]


# --- reads ---------------------------------------------------------------------------------
class PoolRef(Output):
    """The quota or queue a workload draws from."""

    kind: Literal["quota", "queue"]
    id: str
    name: str


class VgpuRequest(Output):
    """Virtual GPUs per node (spec 02 §9): ``count`` slices of ``vram_gib`` each."""

    count: int
    vram_gib: int
    compute_percent: int | None = None


class NodeRequest(Output):
    """Per-node resources as stored in the workload spec. With ``vgpu`` set, ``gpus`` is 0
    and ``gpu_milli`` is the slices' share of a card in thousandths (decision I1)."""

    cpu_millicores: int
    mem_bytes: int
    gpus: int
    gpu_model: str | None = None
    spec_id: str | None = None
    vgpu: VgpuRequest | None = None
    gpu_milli: int = 0


class JobSummary(Output):
    """One row of the job list (spec 04 §2 list columns)."""

    id: str
    name: str
    description: str
    workspace_id: str
    workspace_name: str = ""
    created_by: str | None
    created_by_name: str = ""
    mode: str
    node_count: int
    worker_count: int
    occupied: str  # "master 2C8G×1 + worker 2C8G×2", or "2C8G×1"
    state: str
    state_display: str
    state_reason: str
    source: str
    priority: int
    pool: PoolRef | None = None
    run_count: int
    restart_count: int
    submitted_at: datetime
    created_at: datetime
    started_at: datetime | None = None  # of the latest run
    finished_at: datetime | None = None
    duration_seconds: float | None = None  # of the latest run, so far if still running


class JobPage(Output):
    items: list[JobSummary]
    total: int
    running: int  # spec 04 §2 "Running jobs: n", over every job the filters match
    limit: int
    offset: int


class RunNodeRead(Output):
    rank: int
    node_name: str
    state: str
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None


class UsageIntervalRead(Output):
    node_name: str
    gpus: int
    gpu_model: str
    vgpu_vram_gib: int = 0
    gpu_milli: int = 0
    cpu_millicores: int
    mem_bytes: int
    started_at: datetime
    ended_at: datetime | None


class RunUsage(Output):
    """Metered time of one run (fault-recovery windows excluded, spec 04 §5.6)."""

    gpu_hours: float = 0.0
    cpu_core_hours: float = 0.0
    intervals: list[UsageIntervalRead] = Field(default_factory=list)


class RunRead(Output):
    """A run record (spec 04 §3): every start creates one."""

    id: str
    number: int
    state: str
    restarts: int
    exit_code: int | None
    reason: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None = None
    nodes: list[RunNodeRead] = Field(default_factory=list)
    usage: RunUsage = RunUsage()


class EventRead(Output):
    id: int
    run_id: str | None
    at: datetime
    kind: str  # transition | alert | info | scheduling
    rule: str
    from_state: str
    to_state: str
    message: str


class JobRead(JobSummary):
    """A job's details: configuration, runs (newest first) and events (oldest first)."""

    command: str
    env: dict[str, str]
    image: str | None
    procs_per_node: int
    resources: NodeRequest
    spec_display: str
    request: dict[str, int]
    restart: RestartPolicy
    mounts: list[MountRead] = Field(default_factory=list)
    runs: list[RunRead] = Field(default_factory=list)
    events: list[EventRead] = Field(default_factory=list)


class LogChunkRead(Output):
    """Bytes [offset, next_offset) of one node's log as text. Poll with ``next_offset``
    until ``complete`` (the node ended and nothing follows)."""

    run_id: str
    node: int
    attempt: int
    offset: int
    next_offset: int
    complete: bool
    data: str


class PoolChoice(Output):
    """A quota or queue a job in this workspace may draw from, with its usage (RQ12)."""

    kind: Literal["quota", "queue"]
    id: str
    name: str
    cluster_id: str
    cluster_name: str
    status: str
    usage: Usage
    spec_display: str = ""  # instance spec × count, "" for the on-demand default queue
    instance_count: int | None = None


class UserUsage(Output):
    """What the caller's live workloads hold against their per-user limits (spec 02 §7)."""

    gpus_used: int
    gpus_limit: int
    cpu_cores_used: float
    cpu_cores_limit: int


class JobOptions(Output):
    """What the create form offers in one workspace (RQ17, RQ18)."""

    workspace_id: str
    workspace_name: str
    is_default: bool
    pools: list[PoolChoice]
    specs: list[SpecRead]
    notice: str = ""  # RQ18 when no quota can take a job here
    user: UserUsage


# --- the admission queue (issue 3 item 7) ----------------------------------------------------
class QueuedWorkload(Output):
    position: int  # 1 = next to be admitted in its pool
    id: str
    kind: str
    name: str
    workspace_id: str
    workspace_name: str
    created_by: str | None
    created_by_name: str
    state: str
    state_display: str
    priority: int
    submitted_at: datetime
    wait_seconds: float
    reason: str
    request: str


class PoolQueue(Output):
    """Waiting workloads of one quota or queue, in admission order (priority, then FIFO)."""

    pool: PoolRef
    cluster_name: str
    status: str
    can_prioritise: bool
    workloads: list[QueuedWorkload]


class PriorityRead(Output):
    id: str
    name: str
    state: str
    priority: int
    previous: int
