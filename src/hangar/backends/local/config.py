"""Settings of the local backend. The server builds one from its own settings."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DeclaredGpu(BaseModel):
    """GPUs an operator declares for demos and CI; they are labelled DECLARED everywhere."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="Card model, e.g. 'A100-80G' or 'L40S'.")
    memory_gib: float = Field(gt=0, description="VRAM per card in GiB.")
    count: int = Field(default=1, ge=1, le=1024)


class LocalBackendConfig(BaseModel):
    """Local backend settings. ``state_dir`` holds the run directories: keep it on local disk,
    private to the server, and the same across restarts (re-adoption reads it)."""

    model_config = ConfigDict(extra="forbid")

    state_dir: Path
    node_name: str = Field(
        default_factory=socket.gethostname, description="Name of this host in the inventory."
    )
    sandbox: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="auto: bubblewrap when it works here; required: refuse to start without "
        "it; off: never (workloads see the whole host).",
    )
    bwrap_path: str = "bwrap"
    runtime_paths: list[Path] = Field(
        default_factory=list,
        description="Extra host paths shown read-only inside the sandbox (toolchains, conda).",
    )
    hidden_paths: list[Path] = Field(
        default_factory=list,
        description="Host paths masked inside the sandbox (the server's home, config files); "
        "the state directory is always hidden.",
    )
    cgroup_parent: Path | None = Field(
        default=None,
        description="Delegated cgroup v2 directory for per-node cgroups; default: probe the "
        "server's own cgroup. Without one, limits fall back to affinity + rlimit.",
    )
    discover_gpus: bool = True
    declared_gpus: list[DeclaredGpu] = Field(default_factory=list)
    mps_pipe_dir: Path | None = Field(
        default=None,
        description="CUDA_MPS_PIPE_DIRECTORY of the host's MPS control daemon, shown to "
        "sandboxed vGPU runs (start the daemon yourself: nvidia-cuda-mps-control -d).",
    )
    endpoint_host: str = "127.0.0.1"
    default_grace_seconds: float = Field(
        default=10.0, ge=0, description="Grace period when a supervisor is signalled directly."
    )
    start_timeout_seconds: float = Field(
        default=15.0, gt=0, description="How long a supervisor may take to come up."
    )
