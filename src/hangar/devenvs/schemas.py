"""Dev-environment API models (spec 03 §1.2-§1.9, decisions C1-C8). The SDK imports these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from hangar.assets.dataset_schemas import MountRead, MountRequest
from hangar.jobs.schemas import (
    EventRead,
    Input,
    NodeRequest,
    NodeResources,
    PoolRef,
    check_env_vars,
    check_job_name,
)
from hangar.tenancy.schemas import Output

Ide = Literal["jupyterlab", "code-server"]
IDE_LABELS = {"jupyterlab": "JupyterLab", "code-server": "VS Code"}
MAX_EXPOSED_PORTS = 10
IDLE_MINUTES_MAX = 7 * 24 * 60
Port = Annotated[int, Field(ge=1024, le=65535)]


def _as_utc(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC (what the CLI and console say)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


StopAt = Annotated[
    datetime | None, AfterValidator(_as_utc), Field(description="UTC when it has no zone.")
]


class DevEnvCreate(Input):
    """The create form (spec 03 §1.2). The environment starts as *Not started*."""

    workspace_id: Annotated[str, Field(max_length=16)]
    name: Annotated[str, Field(max_length=200)]
    description: Annotated[str, Field(max_length=128)] = ""
    ide: Ide = "jupyterlab"
    image: Annotated[str | None, Field(max_length=64, description="Image id or name.")] = None
    resources: NodeResources
    quota_id: Annotated[str | None, Field(max_length=16)] = None
    queue_id: Annotated[str | None, Field(max_length=16)] = None
    env: Annotated[dict[str, Annotated[str, Field(max_length=4096)]], Field(max_length=100)] = (
        Field(default_factory=dict)
    )
    ssh_keys: Annotated[
        str, Field(max_length=20_000, description="OpenSSH public keys, ';'-separated, ≤ 10.")
    ] = ""
    idle_minutes: Annotated[int | None, Field(ge=5, le=IDLE_MINUTES_MAX)] = None
    stop_at: StopAt = None
    start: bool = Field(default=False, description="Start it right after creating it.")
    mounts: Annotated[list[MountRequest], Field(max_length=20)] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_job_name(value)

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env_vars(value)


class ScheduleUpdate(Input):
    """Idle timeout and scheduled stop; ``null`` clears a setting."""

    idle_minutes: Annotated[int | None, Field(ge=5, le=IDLE_MINUTES_MAX)] = None
    stop_at: StopAt = None


class PortExpose(Input):
    port: Port


class IdlePolicyWrite(Input):
    """A workspace's idle-shutdown policy (admins). ``locked``: users cannot override it."""

    idle_minutes: Annotated[int, Field(ge=5, le=IDLE_MINUTES_MAX)]
    locked: bool = False
    gpu_busy_percent: Annotated[int, Field(ge=0, le=100)] = 10


class IdlePolicyRead(Output):
    workspace_id: str
    idle_minutes: int
    locked: bool
    gpu_busy_percent: int
    updated_at: datetime


class SshRead(Output):
    """SSH access (spec 03 §1.9). ``host``, ``port``, ``user`` and ``command`` only while
    running: the port is allocated at each start."""

    enabled: bool
    keys: list[str]  # masked: type, fingerprint, comment (spec 03 §1.9)
    host: str | None = None
    port: int | None = None
    user: str | None = None
    command: str | None = None  # "ssh -i <private key> root@host -p 42001"


class IdleRead(Output):
    idle_minutes: int | None  # in force: the user's, or the locked policy's
    locked: bool
    stop_at: datetime | None
    last_activity_at: datetime | None
    last_activity_source: str
    stops_at: datetime | None  # when the idle rule stops it if nothing happens
    warned: bool


class CacheRead(Output):
    limit_gib: int
    stopped_at: datetime | None
    purge_at: datetime | None  # decision C2: retention after stop
    purged: bool


class DevEnvSummary(Output):
    id: str
    name: str
    description: str
    ide: str
    ide_label: str
    workspace_id: str
    workspace_name: str = ""
    created_by: str | None
    created_by_name: str = ""
    created_at: datetime
    state: str
    status: str  # Not started | Starting | Running | Stopping | Failed (spec 03 §1.3)
    state_reason: str
    run_seconds: float  # RUNNING time only, over every start
    run_duration: str  # "2 d 20 h 34 m 5 s"
    image: str
    spec: str  # "2C8G", "21C_175G_1*H800"
    pool: PoolRef | None = None
    open_url: str | None = None  # only while running
    deleting: bool = False


class DevEnvRead(DevEnvSummary):
    resources: NodeRequest
    env: dict[str, str]
    ssh: SshRead
    idle: IdleRead
    cache: CacheRead
    exposed_ports: list[int]
    port_urls: dict[int, str]
    events: list[EventRead]
    mounts: list[MountRead] = Field(default_factory=list)


class DevEnvPage(Output):
    items: list[DevEnvSummary]
    total: int
    limit: int
    offset: int


class TrainingDraft(Output):
    """ "Start training" (spec 03 §1.6): a training-job form pre-filled from the environment."""

    workspace_id: str
    name: str
    image: str | None
    resources: dict[str, object]
    quota_id: str | None
    queue_id: str | None
    env: dict[str, str]
    command: str
    mode: str
    mounts: list[MountRequest] = Field(default_factory=list)


class ImageMake(Input):
    name: Annotated[str, Field(max_length=200)]
    description: Annotated[str, Field(max_length=256)] = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_job_name(value)


class MonitorSeries(Output):
    """The last hour of samples (spec 03 §1.8), oldest first."""

    at: list[datetime]
    cpu_percent: list[float]
    cpu_cores: list[float]
    mem_bytes: list[int]
    mem_percent: list[float]
    gpu_util_percent: list[float | None]
    gpu_mem_bytes: list[int | None]
