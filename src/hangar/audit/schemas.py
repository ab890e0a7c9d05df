"""Audit API models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    tenant_id: str | None
    user_id: str | None
    username: str
    workspace_id: str | None
    action: str
    method: str
    path: str
    target_type: str
    target_id: str
    target_name: str
    result: str
    status_code: int
    level: str
    client_addr: str
    duration_ms: int
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditRead]
    total: int
    limit: int
    offset: int
