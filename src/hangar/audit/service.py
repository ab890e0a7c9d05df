"""Writing, querying, exporting and pruning audit records."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from hangar.audit.orm import AuditRecord
from hangar.db.base import utcnow

_SECRET_KEY = re.compile(r"pass(word)?|secret|token|key|credential|authorization|cookie", re.I)
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """Replace the values of secret-looking keys, recursively."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def result_of(status_code: int) -> str:
    if status_code < 400:
        return "success"
    if status_code in (401, 403):
        return "denied"
    if status_code < 500:
        return "failed"
    return "error"


def do_record(session: Session, **fields: Any) -> AuditRecord:
    fields["details"] = redact(fields.get("details") or {})
    record = AuditRecord(**fields)
    session.add(record)
    return record


def do_correct_status(session: Session, *, record_id: str, status_code: int) -> None:
    """Fix the status of a record written before the response was final (rare: a route that
    returned an error page instead of raising). The only update audit records ever get."""
    record = session.get(AuditRecord, record_id)
    if record is not None:
        record.status_code = status_code
        record.result = result_of(status_code)
        if status_code >= 400:
            record.level = "warning"


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: str
    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None
    action: str | None = None
    target_type: str | None = None
    target: str | None = None
    workspace_id: str | None = None
    result: str | None = None
    level: str | None = None


def _query(f: AuditFilter) -> Select[AuditRecord]:
    stmt = select(AuditRecord).where(AuditRecord.tenant_id == f.tenant_id)
    if f.since:
        stmt = stmt.where(AuditRecord.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditRecord.at <= f.until)
    if f.user:
        stmt = stmt.where((AuditRecord.username == f.user) | (AuditRecord.user_id == f.user))
    if f.action:
        stmt = stmt.where(AuditRecord.action.startswith(f.action))
    if f.target_type:
        stmt = stmt.where(AuditRecord.target_type == f.target_type)
    if f.target:
        stmt = stmt.where(
            (AuditRecord.target_id == f.target) | (AuditRecord.target_name.contains(f.target))
        )
    if f.workspace_id:
        stmt = stmt.where(AuditRecord.workspace_id == f.workspace_id)
    if f.result:
        stmt = stmt.where(AuditRecord.result == f.result)
    if f.level:
        stmt = stmt.where(AuditRecord.level == f.level)
    return stmt


def list_records(
    session: Session, *, f: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditRecord], int]:
    stmt = _query(f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditRecord.at.desc(), AuditRecord.id).limit(limit).offset(offset)
    )
    return list(rows), int(total)


CSV_COLUMNS = (
    "at", "username", "user_id", "workspace_id", "action", "method", "path", "target_type",
    "target_id", "target_name", "result", "status_code", "level", "client_addr", "duration_ms",
)  # fmt: skip


def export_csv(session: Session, *, f: AuditFilter, batch: int = 500) -> Iterator[str]:
    """Yield the CSV export in chunks; cells that look like formulas are neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for record in session.scalars(
        _query(f).order_by(AuditRecord.at.desc()).execution_options(yield_per=batch)
    ):
        writer.writerow([_cell(getattr(record, c)) for c in CSV_COLUMNS])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _cell(value: Any) -> str:
    text = (
        value.isoformat()
        if isinstance(value, datetime)
        else str(value if value is not None else "")
    )
    # OWASP CSV injection: spreadsheets evaluate cells starting with these as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def do_prune(session: Session, *, retention: timedelta, now: datetime | None = None) -> int:
    """Delete records older than the retention period; returns how many went."""
    cutoff = (now or utcnow()) - retention
    result = session.execute(delete(AuditRecord).where(AuditRecord.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
