"""Training-job API models (spec 04 §1, decisions D1-D4). The SDK imports these too."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hangar.errors import ValidationFailed
from hangar.naming import check_n1

JOB_NAME_MAX = 64  # rule N1, ≤ 64 (decision C1 applied to jobs)
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RestartPolicy(Input):
    """Fault tolerance (spec 04 §5, decision D2). Off by default."""

    fault_tolerance: bool = False
    max_restarts_per_error: Annotated[int, Field(ge=0, le=100)] = 3
    restart_scope: Literal["pod", "job"] = "job"
    on_exhausted: Literal["fail", "hold"] = "fail"


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

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return check_n1(value, max_length=JOB_NAME_MAX)
        except ValidationFailed as err:  # report through pydantic, with the other fields
            raise ValueError(err.fields["name"]) from None

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is required: the shell command that starts training")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
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

    @model_validator(mode="after")
    def _one_source(self) -> TrainingJobCreate:
        if self.quota_id and self.queue_id:
            raise ValueError("give 'quota_id' (custom workspaces) or 'queue_id', not both")
        return self

    @property
    def node_count(self) -> int:
        """DDP: 1 master + N workers (spec 04 §1); single-node: 1."""
        return 1 + self.worker_count if self.mode == "ddp" else 1


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: int
    state: str
    restarts: int
    exit_code: int | None
    reason: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
