"""Reading the Alibaba GPU cluster trace (v2023, "openb") and Hangar's own scenario JSON.

Every row that cannot be used is reported with its file and line and counted, never dropped
silently: malformed numbers, a GPU node without a model, an unknown GPU model (no VRAM known,
or a pod's ``gpu_spec`` naming a model no node has), a negative time. What the scheduler
itself refuses (a pod larger than any node) is reported by the replay, also with its line.

The node file: ``sn,cpu_milli,memory_mib,gpu,model``. The pod files:
``name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,
deletion_time,scheduled_time`` (seconds from the trace start).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

# VRAM per card model in GiB (the trace gives none). G2 and G3 are anonymised; 32 and 80 GiB
# are assumptions, as in bench/admission_throughput.py.
VRAM_GIB = {"P100": 16, "T4": 16, "V100M16": 16, "V100M32": 32, "A10": 24, "G2": 32, "G3": 80}

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "creation_time")


@dataclass(frozen=True, slots=True)
class Problem:
    """One unusable input row (or a workload the scheduler refused)."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class TraceNode:
    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int
    model: str | None
    line: int


@dataclass(frozen=True, slots=True)
class TracePod:
    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int
    gpu_spec: tuple[str, ...]
    qos: str
    creation: int
    scheduled: int | None
    deletion: int | None
    file: str
    line: int


T = TypeVar("T")


@dataclass
class Loaded(Generic[T]):
    items: list[T] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f"{path}: not a trace file of this kind: missing column(s) {', '.join(missing)} "
                f"(expected {', '.join(required)})"
            )
        for row in reader:
            yield reader.line_num, row


def _int(row: dict[str, str], column: str, *, blank: int | None = None) -> int | None:
    raw = (row.get(column) or "").strip()
    if raw == "":
        if blank is not None:
            return blank
        return None
    return int(raw)


def read_nodes(path: Path) -> Loaded[TraceNode]:
    out: Loaded[TraceNode] = Loaded()
    name = path.name
    for line, row in _rows(path, NODE_COLUMNS):
        try:
            cpu, mem, gpus = (_int(row, c) for c in ("cpu_milli", "memory_mib", "gpu"))
        except ValueError as err:
            out.problems.append(Problem(name, line, f"malformed number: {err}"))
            continue
        if cpu is None or mem is None or gpus is None or min(cpu, mem, gpus) < 0:
            out.problems.append(Problem(name, line, "cpu_milli, memory_mib and gpu must be ≥ 0"))
            continue
        model = (row.get("model") or "").strip() or None
        if gpus and model is None:
            out.problems.append(Problem(name, line, f"{gpus} GPUs but no model"))
            continue
        if model is not None and model not in VRAM_GIB:
            known = ", ".join(sorted(VRAM_GIB))
            out.problems.append(
                Problem(name, line, f"unknown GPU model {model!r} (VRAM unknown; known: {known})")
            )
            continue
        out.items.append(TraceNode(row["sn"].strip(), cpu, mem, gpus, model, line))
    return out


def read_pods(path: Path, *, models: set[str]) -> Loaded[TracePod]:
    """Pods of ``path``; ``models`` are the GPU models the nodes have (for ``gpu_spec``)."""
    out: Loaded[TracePod] = Loaded()
    name = path.name
    for line, row in _rows(path, POD_COLUMNS):
        try:
            values = {
                c: _int(row, c)
                for c in ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "creation_time")
            }
            scheduled = _int(row, "scheduled_time")
            deletion = _int(row, "deletion_time")
        except ValueError as err:
            out.problems.append(Problem(name, line, f"malformed number: {err}"))
            continue
        if any(v is None or v < 0 for v in values.values()):
            blank = sorted(c for c, v in values.items() if v is None or v < 0)
            out.problems.append(Problem(name, line, f"missing or negative: {', '.join(blank)}"))
            continue
        spec = tuple(m for m in (row.get("gpu_spec") or "").split("|") if m)
        unknown = [m for m in spec if m not in models]
        if unknown:
            out.problems.append(
                Problem(name, line, f"unknown GPU model(s) in gpu_spec: {', '.join(unknown)}")
            )
            continue
        cpu, mem, gpus, milli, created = (values[c] or 0 for c in values)
        if gpus and not 0 < milli <= 1000:
            out.problems.append(Problem(name, line, f"gpu_milli must be 1-1000 (got {milli})"))
            continue
        out.items.append(
            TracePod(
                name=(row.get("name") or f"{name}:{line}").strip(), cpu_milli=cpu,
                memory_mib=mem, num_gpu=gpus, gpu_milli=milli, gpu_spec=spec,
                qos=(row.get("qos") or "").strip() or "none", creation=created,
                scheduled=scheduled, deletion=deletion, file=name, line=line,
            )
        )  # fmt: skip
    return out
