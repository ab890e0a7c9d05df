"""Resource amounts: CPU, memory and GPU cards, as one immutable value type.

GPU cards are counted in whole cards (``gpus``) plus thousandths of a card (``gpu_milli``)
so that virtual GPU slices (spec 02 §9) draw fractional cards from quotas and per-user
limits (decision I1: a vGPU counts as its VRAM share of a card). ``gpu_milli`` is kept
normalised to ``0 <= gpu_milli < 1000``; two amounts with the same total compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
MILLI = 1000


@dataclass(frozen=True, slots=True)
class Resources:
    """An amount of compute. Addition keeps the left operand's GPU model (or the right's when
    the left has none); subtraction keeps the left's, even none (capacity minus usage stays
    open to any model); ``fits`` is where models are compared."""

    cpu_millicores: int = 0
    mem_bytes: int = 0
    gpus: int = 0
    gpu_model: str | None = None
    gpu_milli: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.gpu_milli < MILLI:
            whole, rest = divmod(self.gpu_milli, MILLI)
            object.__setattr__(self, "gpus", self.gpus + whole)
            object.__setattr__(self, "gpu_milli", rest)

    @classmethod
    def of(
        cls,
        *,
        cpu: float = 0,
        mem_gib: float = 0,
        gpus: int = 0,
        gpu_model: str | None = None,
        gpu_milli: int = 0,
    ) -> Resources:
        """Build from human units: CPU cores and GiB."""
        return cls(round(cpu * MILLI), round(mem_gib * GIB), gpus, gpu_model, gpu_milli)

    @property
    def gpu_total_milli(self) -> int:
        """Whole and fractional cards together, in thousandths of a card."""
        return self.gpus * MILLI + self.gpu_milli

    @property
    def cpu_cores(self) -> float:
        return self.cpu_millicores / MILLI

    @property
    def mem_gib(self) -> float:
        return self.mem_bytes / GIB

    def _model(self, other: Resources) -> str | None:
        return self.gpu_model if self.gpu_model is not None else other.gpu_model

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_millicores + other.cpu_millicores,
            self.mem_bytes + other.mem_bytes,
            0,
            self._model(other),
            self.gpu_total_milli + other.gpu_total_milli,
        )

    def __sub__(self, other: Resources) -> Resources:
        # Capacity minus usage stays what the capacity was: a pool open to any card model
        # must not become a pool of the first model charged to it.
        return Resources(
            self.cpu_millicores - other.cpu_millicores,
            self.mem_bytes - other.mem_bytes,
            0,
            self.gpu_model,
            self.gpu_total_milli - other.gpu_total_milli,
        )

    def add(self, other: Resources) -> Resources:
        return self + other

    def sub(self, other: Resources) -> Resources:
        return self - other

    def times(self, n: int) -> Resources:
        """``n`` copies: a spec × instance count, or per-node resources × nodes."""
        return Resources(
            self.cpu_millicores * n, self.mem_bytes * n, 0, self.gpu_model, self.gpu_total_milli * n
        )

    def is_zero(self) -> bool:
        return self.cpu_millicores == 0 and self.mem_bytes == 0 and self.gpu_total_milli == 0

    def is_nonnegative(self) -> bool:
        return self.cpu_millicores >= 0 and self.mem_bytes >= 0 and self.gpu_total_milli >= 0

    def model_compatible(self, capacity: Resources) -> bool:
        """A GPU request names no model, or the capacity names none, or they agree."""
        return (
            self.gpu_model is None
            or capacity.gpu_model is None
            or self.gpu_model == capacity.gpu_model
            or self.gpu_total_milli == 0
        )

    def fits(self, capacity: Resources) -> bool:
        """Every component of ``self`` is within ``capacity`` and the GPU models agree."""
        return (
            self.cpu_millicores <= capacity.cpu_millicores
            and self.mem_bytes <= capacity.mem_bytes
            and self.gpu_total_milli <= capacity.gpu_total_milli
            and self.model_compatible(capacity)
        )

    def min(self, other: Resources) -> Resources:
        """Component-wise minimum, never below zero (what can be taken from ``other``); keeps
        this amount's GPU model."""
        return Resources(
            max(0, min(self.cpu_millicores, other.cpu_millicores)),
            max(0, min(self.mem_bytes, other.mem_bytes)),
            0,
            self.gpu_model,
            max(0, min(self.gpu_total_milli, other.gpu_total_milli)),
        )

    def shortfall(self, capacity: Resources) -> Resources:
        """What ``capacity`` lacks to hold ``self``, per component (zero where it suffices)."""
        return Resources(
            max(0, self.cpu_millicores - capacity.cpu_millicores),
            max(0, self.mem_bytes - capacity.mem_bytes),
            0,
            self.gpu_model,
            max(0, self.gpu_total_milli - capacity.gpu_total_milli),
        )

    def clamp(self) -> Resources:
        """Negative components raised to zero (idle capacity is never negative)."""
        if self.is_nonnegative():
            return self
        return Resources(
            max(0, self.cpu_millicores),
            max(0, self.mem_bytes),
            0,
            self.gpu_model,
            max(0, self.gpu_total_milli),
        )

    def describe(self) -> str:
        """``4 GPUs (H800), 16 CPU cores, 64 GiB memory``; zero parts are left out."""
        parts = []
        if self.gpu_total_milli:
            model = f" ({self.gpu_model})" if self.gpu_model else ""
            parts.append(f"{fmt_gpus(self.gpu_total_milli)}{model}")
        if self.cpu_millicores:
            parts.append(fmt_cpu(self.cpu_millicores))
        if self.mem_bytes:
            parts.append(fmt_mem(self.mem_bytes))
        return ", ".join(parts) or "nothing"


ZERO = Resources()


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fmt_gpus(milli: int) -> str:
    """``1 GPU``, ``4 GPUs``, ``0.23 GPUs``."""
    if milli == MILLI:
        return "1 GPU"
    return f"{_num(milli / MILLI)} GPUs"


def fmt_cpu(millicores: int) -> str:
    """``1 CPU core``, ``16 CPU cores``, ``0.5 CPU cores``."""
    if millicores == MILLI:
        return "1 CPU core"
    return f"{_num(millicores / MILLI)} CPU cores"


def fmt_mem(mem_bytes: int) -> str:
    """``64 GiB memory``."""
    return f"{_num(mem_bytes / GIB)} GiB memory"
