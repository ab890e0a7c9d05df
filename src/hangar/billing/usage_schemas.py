"""Usage statistics responses. GPU-hours travel as decimal strings rounded to 0.01; amounts as
plain decimal strings per unit (``{"DCU": "12.5"}``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hangar.tenancy.schemas import Output


class WorkspaceUsageRead(Output):
    workspace_id: str
    workspace_name: str | None  # None: the workspace was deleted after the usage
    tags: dict[str, Any]
    gpu_model: str  # "" for a workspace with no GPU usage or allocation in the range
    gpu_hours: str
    allocated_gpu_hours: str  # cards allocated through its quotas (queues: default ws) × hours


class WorkspaceUsageReport(Output):
    start: date
    end: date  # included
    workspaces_total: int
    workspaces_in_use: int  # GPU-hours used > 0.00
    gpu_hours_total: str
    allocated_gpu_hours_total: str
    rows: list[WorkspaceUsageRead]


class UserUsageRead(Output):
    user_id: str | None  # None: usage of deleted users
    username: str | None
    gpu_hours: str
    amount_spent: dict[str, str]  # per unit: compute charges and their adjustments


class UserUsageReport(Output):
    start: date
    end: date
    gpu_hours_total: str
    amount_spent_total: dict[str, str]
    rows: list[UserUsageRead]


class AllocationRead(Output):
    tenant_id: str
    tenant_name: str | None  # None: the tenant was deleted
    cluster_id: str
    cluster_name: str | None  # None: the cluster was deleted
    gpu_model: str
    allocated_gpu_hours: str


class AllocationReport(Output):
    """Allocated GPU-hours per cluster × card model (spec 01 §2 allocation detail)."""

    start: date
    end: date  # included
    tenant_id: str | None  # None: every tenant (platform admin), rows grouped by tenant
    allocated_gpu_hours_total: str
    rows: list[AllocationRead]
