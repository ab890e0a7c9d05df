"""Usage statistics as tables and server-drawn SVG bar charts (no chart library, no script).

The reports come from :mod:`hangar.billing.usage_service`; this module only lays them out.
Columns follow the report models' fields, so a measure added to a report (allocated
GPU-hours, say) shows up as a column and a bar series without a change here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

# Fields that say who or what a row is about; every other field is shown as a measure.
IDENTITY = frozenset({
    "workspace_id", "workspace_name", "tags", "gpu_model", "user_id", "username",
    "tenant_id", "tenant_name", "cluster_id", "cluster_name",
})  # fmt: skip
RANGE = frozenset({"start", "end", "rows", "tenant_id"})
LABELS = {
    "gpu_hours": "Used GPU-hours",
    "allocated_gpu_hours": "Allocated GPU-hours",
    "gpu_hours_total": "Used GPU-hours",
    "allocated_gpu_hours_total": "Allocated GPU-hours",
    "workspaces_total": "Workspaces",
    "workspaces_in_use": "Workspaces in use",
    "amount_spent": "Amount spent",
    "amount_spent_total": "Amount spent",
}
COLOURS = ("#1f4e79", "#6a9fd4", "#c77c2e", "#5b8c5a")

WIDTH = 640
LABEL_W = 180
VALUE_W = 90
BAR_H = 12
ROW_GAP = 8
MAX_BARS = 20


def label(field: str) -> str:
    return LABELS.get(field) or field.replace("_", " ").capitalize()


def measures(model: type[BaseModel]) -> list[str]:
    """The row model's fields other than the identifying ones, in declaration order."""
    return [name for name in model.model_fields if name not in IDENTITY]


def show(value: object) -> str:
    """A report value as text; amounts per unit (``{"DCU": "12.5"}``) as "12.5 DCU"."""
    if isinstance(value, dict):
        return " · ".join(f"{amount} {unit}" for unit, amount in sorted(value.items())) or "—"
    return "—" if value is None else str(value)


def summary(report: BaseModel) -> list[tuple[str, str]]:
    """``(label, value)`` of every report-level figure (totals, counts)."""
    return [
        (label(name), show(getattr(report, name)))
        for name in type(report).model_fields
        if name not in RANGE
    ]


def number(value: object) -> Decimal | None:
    """A report value as a number, if it is one (GPU-hours travel as decimal strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


@dataclass(frozen=True)
class Bar:
    series: str
    x: float
    y: float
    width: float
    fill: str
    value: str


@dataclass(frozen=True)
class BarRow:
    label: str
    y: float  # the label's baseline
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one row per item and one bar per series in each row."""

    title: str
    width: int
    height: int
    bar_height: int
    rows: list[BarRow]
    legend: list[tuple[str, str]]  # (series label, colour)
    left_out: int  # items beyond MAX_BARS, not drawn


def totals_by(
    rows: Iterable[BaseModel], key: Callable[[Any], str], series: Sequence[str]
) -> list[tuple[str, list[Decimal]]]:
    """Rows summed per ``key(row)`` for each numeric series; largest first."""
    sums: dict[str, list[Decimal]] = {}
    for row in rows:
        name = key(row)
        values = [number(getattr(row, s)) or Decimal(0) for s in series]
        old = sums.get(name)
        sums[name] = values if old is None else [a + b for a, b in zip(old, values, strict=True)]
    return sorted(sums.items(), key=lambda kv: (-max(kv[1], default=Decimal(0)), kv[0]))


def numeric_series(rows: Sequence[BaseModel], fields: Sequence[str]) -> list[str]:
    """The measures whose every value is a number (those can be drawn)."""
    return [f for f in fields if rows and all(number(getattr(r, f)) is not None for r in rows)]


def bar_chart(
    title: str, items: Sequence[tuple[str, list[Decimal]]], series: Sequence[str]
) -> BarChart:
    """Lay out ``items`` (label, one value per series) as horizontal bars scaled to the peak."""
    shown = items[:MAX_BARS] if series else []
    peak = max((v for _, values in shown for v in values), default=Decimal(0)) or Decimal(1)
    span = WIDTH - LABEL_W - VALUE_W
    per_row = len(series) * BAR_H + ROW_GAP
    rows = []
    for i, (name, values) in enumerate(shown):
        top = ROW_GAP + i * per_row
        bars = [
            Bar(
                series=label(s),
                x=float(LABEL_W),
                y=float(top + j * BAR_H),
                width=round(max(float(v / peak), 0.0) * span, 1),
                fill=COLOURS[j % len(COLOURS)],
                value=f"{v:.2f}",
            )
            for j, (s, v) in enumerate(zip(series, values, strict=True))
        ]
        rows.append(BarRow(label=name[:28], y=top + len(series) * BAR_H / 2 + 4, bars=bars))
    return BarChart(
        title=title,
        width=WIDTH,
        height=ROW_GAP + len(shown) * per_row,
        bar_height=BAR_H - 2,
        rows=rows,
        legend=[(label(s), COLOURS[j % len(COLOURS)]) for j, s in enumerate(series)],
        left_out=max(len(items) - MAX_BARS, 0),
    )
