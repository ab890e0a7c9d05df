"""Usage statistics as files: CSV (tags as a JSON object) and XLSX (GPU-hours as numbers)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook

from hangar.billing.usage_schemas import AllocationReport, WorkspaceUsageReport

CSV_HEADER = (
    "workspace_id", "workspace_name", "tags", "gpu_model", "gpu_hours", "allocated_gpu_hours",
)  # fmt: skip
ALLOCATION_HEADER = (
    "tenant_id", "tenant_name", "cluster_id", "cluster_name", "gpu_model", "allocated_gpu_hours",
)  # fmt: skip
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Row = tuple[str | Decimal, ...]


def _table(report: WorkspaceUsageReport) -> list[Row]:
    return [
        (r.workspace_id, r.workspace_name or "", json.dumps(r.tags, sort_keys=True),
         r.gpu_model, Decimal(r.gpu_hours), Decimal(r.allocated_gpu_hours))
        for r in report.rows
    ]  # fmt: skip


def _allocation_table(report: AllocationReport) -> list[Row]:
    return [
        (r.tenant_id, r.tenant_name or "", r.cluster_id, r.cluster_name or "", r.gpu_model,
         Decimal(r.allocated_gpu_hours))
        for r in report.rows
    ]  # fmt: skip


def _csv(header: Sequence[str], rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _xlsx(title: str, header: Sequence[str], rows: list[Row]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = title
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def to_csv(report: WorkspaceUsageReport) -> str:
    return _csv(CSV_HEADER, _table(report))


def to_xlsx(report: WorkspaceUsageReport) -> bytes:
    return _xlsx("usage", CSV_HEADER, _table(report))


def allocations_csv(report: AllocationReport) -> str:
    return _csv(ALLOCATION_HEADER, _allocation_table(report))


def allocations_xlsx(report: AllocationReport) -> bytes:
    return _xlsx("allocations", ALLOCATION_HEADER, _allocation_table(report))


def attachment(
    report: WorkspaceUsageReport | AllocationReport, ext: str, *, stem: str = "hangar-usage"
) -> dict[str, str]:
    name = f"{stem}-{report.start}-{report.end}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}
