"""Usage statistics as files: CSV (tags as a JSON object) and XLSX (GPU-hours as numbers)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from openpyxl import Workbook

from hangar.billing.usage_schemas import WorkspaceUsageReport

CSV_HEADER = ("workspace_id", "workspace_name", "tags", "gpu_model", "gpu_hours")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _table(report: WorkspaceUsageReport) -> list[tuple[str, str, str, str, Decimal]]:
    return [
        (r.workspace_id, r.workspace_name or "", json.dumps(r.tags, sort_keys=True),
         r.gpu_model, Decimal(r.gpu_hours))
        for r in report.rows
    ]  # fmt: skip


def _attachment(report: WorkspaceUsageReport, ext: str) -> dict[str, str]:
    name = f"hangar-usage-{report.start}-{report.end}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def to_csv(report: WorkspaceUsageReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    writer.writerows(_table(report))
    return buf.getvalue()


def to_xlsx(report: WorkspaceUsageReport) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "usage"
    sheet.append(CSV_HEADER)
    for row in _table(report):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def attachment(report: WorkspaceUsageReport, ext: str) -> dict[str, str]:
    name = f"hangar-usage-{report.start}-{report.end}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}
