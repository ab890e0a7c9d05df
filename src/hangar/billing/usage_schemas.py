"""Usage statistics responses. GPU-hours travel as decimal strings rounded to 0.01."""

from __future__ import annotations

from datetime import date
from typing import Any

from hangar.tenancy.schemas import Output


class WorkspaceUsageRead(Output):
    workspace_id: str
    workspace_name: str | None  # None: the workspace was deleted after the usage
    tags: dict[str, Any]
    gpu_model: str  # "" for a workspace with no GPU usage in the range
    gpu_hours: str


class WorkspaceUsageReport(Output):
    start: date
    end: date  # included
    workspaces_total: int
    workspaces_in_use: int  # GPU-hours used > 0.00
    gpu_hours_total: str
    rows: list[WorkspaceUsageRead]


class UserUsageRead(Output):
    user_id: str | None  # None: usage of deleted users
    username: str | None
    gpu_hours: str


class UserUsageReport(Output):
    start: date
    end: date
    gpu_hours_total: str
    rows: list[UserUsageRead]
