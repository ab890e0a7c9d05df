"""The dev-environment forms: create, the idle / scheduled-stop settings and a workspace's
idle policy. Each keeps its boxes as typed and parses them into the API's input model, so
errors read like the API's.

Times are typed as UTC (``datetime-local`` boxes have no zone), like the audit filters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from hangar.devenvs.schemas import DevEnvCreate, IdlePolicyWrite, ScheduleUpdate, TrainingDraft
from hangar.errors import ValidationFailed
from hangar.web.forms import blank_to_none, parse
from hangar.web.pages.job_form import JobForm, parse_env
from hangar.web.pages.mount_picker import requests_of

SSH_NOTE = (
    "SSH logs in as root. Once an environment is created with keys, SSH cannot be turned "
    "off for it: delete the environment instead."
)


@dataclass(frozen=True)
class DevEnvForm:
    """Every box of the create form as text, the way the browser sends it."""

    workspace_id: str = ""
    name: str = ""
    description: str = ""
    ide: str = "jupyterlab"
    image: str = ""
    pool_id: str = ""
    resource_kind: str = "custom"  # "spec" or "custom"
    spec_id: str = ""
    cpu_cores: str = "1"
    mem_gib: str = "2"
    gpus: str = "0"
    gpu_model: str = ""
    env: str = ""  # KEY=VALUE per line
    ssh_keys: str = ""  # ';'-separated OpenSSH public keys
    idle_minutes: str = ""
    stop_at: str = ""  # YYYY-MM-DDTHH:MM, UTC
    start: str = ""
    mounts: list[str] = field(default_factory=list)  # "kind:id" boxes (mount_picker)

    def to_input(self, *, default_workspace: bool) -> DevEnvCreate:
        resources: dict[str, Any] = (
            {
                "cpu_cores": blank_to_none(self.cpu_cores),
                "mem_gib": blank_to_none(self.mem_gib),
                "gpus": self.gpus.strip() or "0",
                "gpu_model": blank_to_none(self.gpu_model),
            }
            if self.resource_kind == "custom"
            else {"spec_id": blank_to_none(self.spec_id)}
        )
        pool = blank_to_none(self.pool_id)
        return parse(
            DevEnvCreate,
            workspace_id=self.workspace_id, name=self.name.strip(),
            description=self.description, ide=self.ide, image=blank_to_none(self.image),
            resources=resources, quota_id=None if default_workspace else pool,
            queue_id=pool if default_workspace else None, env=parse_env(self.env),
            ssh_keys=self.ssh_keys.strip(), idle_minutes=blank_to_none(self.idle_minutes),
            stop_at=utc_time("stop_at", self.stop_at), start=bool(self.start),
            mounts=requests_of(self.mounts),
        )  # fmt: skip

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class ScheduleForm:
    """Idle minutes and the scheduled stop; an empty box clears the setting."""

    idle_minutes: str = ""
    stop_at: str = ""

    def to_input(self) -> ScheduleUpdate:
        return parse(
            ScheduleUpdate,
            idle_minutes=blank_to_none(self.idle_minutes),
            stop_at=utc_time("stop_at", self.stop_at),
        )


@dataclass(frozen=True)
class IdlePolicyForm:
    """A workspace's idle policy (admins); an empty GPU box keeps the API's default."""

    idle_minutes: str = ""
    locked: str = ""  # a checkbox: sent only when ticked
    gpu_busy_percent: str = ""

    def to_input(self) -> IdlePolicyWrite:
        fields: dict[str, Any] = {
            "idle_minutes": blank_to_none(self.idle_minutes), "locked": bool(self.locked),
        }  # fmt: skip
        if gpu := blank_to_none(self.gpu_busy_percent):
            fields["gpu_busy_percent"] = gpu
        return parse(IdlePolicyWrite, **fields)


def utc_time(field: str, raw: str) -> datetime | None:
    """A ``datetime-local`` box read as UTC; a zone, when typed, is honoured."""
    text = raw.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(
            field, f"'{text[:40]}' is not a date and time; use the form 2025-01-31T18:00 (UTC)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_box(value: datetime | None) -> str:
    """A stored time as a ``datetime-local`` box shows it (UTC, minutes)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""


def job_form_of(draft: TrainingDraft) -> JobForm:
    """The job form pre-filled from the environment ("Start training", spec 03 §1.6)."""
    res = draft.resources
    spec_id = str(res.get("spec_id") or "")
    return JobForm(
        workspace_id=draft.workspace_id, name=draft.name, command=draft.command,
        mode=draft.mode, pool_id=draft.quota_id or draft.queue_id or "",
        resource_kind="spec" if spec_id else "custom", spec_id=spec_id,
        cpu_cores=_num(res.get("cpu_cores")), mem_gib=_num(res.get("mem_gib")),
        gpus=str(res.get("gpus") or 0), gpu_model=str(res.get("gpu_model") or ""),
        image=draft.image or "", env="\n".join(f"{k}={v}" for k, v in draft.env.items()),
        mounts=[f"{m.kind}:{m.id}" for m in draft.mounts],
    )  # fmt: skip


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else ""
