"""The create-job form: its fields as typed, prefilled for a copy, and parsed into the API's
input model (so errors read exactly like the API's)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hangar.errors import ValidationFailed
from hangar.jobs.schemas import TrainingJobCreate
from hangar.web.forms import blank_to_none, parse
from hangar.web.pages.mount_picker import requests_of


@dataclass(frozen=True)
class JobForm:
    """Every box of the form as text, the way the browser sends it."""

    workspace_id: str = ""
    name: str = ""
    description: str = ""
    command: str = ""
    mode: str = "ddp"
    worker_count: str = "1"
    procs_per_node: str = ""
    pool_id: str = ""
    resource_kind: str = "spec"  # "spec" or "custom"
    spec_id: str = ""
    cpu_cores: str = ""
    mem_gib: str = ""
    gpus: str = "0"
    gpu_model: str = ""
    image: str = ""
    env: str = ""  # KEY=VALUE per line
    fault_tolerance: str = ""
    max_restarts_per_error: str = "3"
    restart_scope: str = "job"
    on_exhausted: str = "fail"
    mounts: list[str] = field(default_factory=list)  # "kind:id" boxes (mount_picker)

    def to_input(self, *, default_workspace: bool) -> TrainingJobCreate:
        custom = self.resource_kind == "custom"
        resources: dict[str, Any] = (
            {
                "cpu_cores": blank_to_none(self.cpu_cores),
                "mem_gib": blank_to_none(self.mem_gib),
                "gpus": self.gpus.strip() or "0",
                "gpu_model": blank_to_none(self.gpu_model),
            }
            if custom
            else {"spec_id": blank_to_none(self.spec_id)}
        )
        pool = blank_to_none(self.pool_id)
        return parse(
            TrainingJobCreate,
            workspace_id=self.workspace_id, name=self.name.strip(),
            description=self.description, command=self.command, mode=self.mode,
            worker_count=self.worker_count.strip() or "1",
            procs_per_node=blank_to_none(self.procs_per_node), resources=resources,
            quota_id=None if default_workspace else pool,
            queue_id=pool if default_workspace else None,
            image=blank_to_none(self.image), env=parse_env(self.env),
            restart={
                "fault_tolerance": bool(self.fault_tolerance),
                "max_restarts_per_error": self.max_restarts_per_error.strip() or "3",
                "restart_scope": self.restart_scope, "on_exhausted": self.on_exhausted,
            },
            mounts=requests_of(self.mounts),
        )  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_env(text: str) -> dict[str, str]:
    """``KEY=VALUE`` per line; blank lines and ``#`` comments are skipped."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed.field(
                "env", f"line {number} ('{line[:40]}') is not KEY=VALUE; write e.g. LR=0.01"
            )
        env[key.strip()] = value
    return env


def form_of(data: TrainingJobCreate) -> JobForm:
    """The form prefilled with ``data`` (a copy: spec 04 §3, editable before submit)."""
    res = data.resources
    return JobForm(
        workspace_id=data.workspace_id, name=data.name, description=data.description,
        command=data.command, mode=data.mode, worker_count=str(data.worker_count),
        procs_per_node=str(data.procs_per_node or ""),
        pool_id=data.quota_id or data.queue_id or "",
        resource_kind="spec" if res.spec_id else "custom", spec_id=res.spec_id or "",
        cpu_cores=_num(res.cpu_cores), mem_gib=_num(res.mem_gib), gpus=str(res.gpus),
        gpu_model=res.gpu_model or "", image=data.image or "",
        env="\n".join(f"{k}={v}" for k, v in data.env.items()),
        fault_tolerance="on" if data.restart.fault_tolerance else "",
        max_restarts_per_error=str(data.restart.max_restarts_per_error),
        restart_scope=data.restart.restart_scope, on_exhausted=data.restart.on_exhausted,
        mounts=[f"{m.kind}:{m.id}" for m in data.mounts],
    )  # fmt: skip


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
