"""Resource specs and their display strings (spec 02 §3, decision B7).

A spec is an explicit record: the whole-node H800 spec is ``170C_1400G_8*H800`` although
8 × ``21C_175G_1*H800`` would be 168 cores, so nothing here derives one spec from another
(B7). Display formats:

- accelerator spec: ``<cpu>C_<mem>G_<n>*<model>``, e.g. ``21C_175G_1*H800``
- CPU-only spec: ``<cpu>C<mem>G``, e.g. ``2C8G`` (``2C_8G`` and ``CPU_2C-内存_8G`` parse too)
- virtual GPU spec: ``N*(<card>(eGPU)_<vram>G_<cpu>C_<mem>G)``, e.g. ``2*(L40s(eGPU)_5G_1C_8G)``,
  where vram, cpu and mem are per virtual card.

``G`` means GiB throughout.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hangar.errors import ValidationFailed
from hangar.scheduling.model import Request, VgpuDemand
from hangar.scheduling.resources import GIB, MILLI, Resources

_NUM = r"\d+(?:\.\d+)?"
_MODEL = r"[A-Za-z0-9][A-Za-z0-9 ._+-]*"
_ACCEL_RE = re.compile(rf"^(?P<cpu>{_NUM})C_(?P<mem>{_NUM})G_(?P<n>\d+)\*(?P<model>{_MODEL})$")
_CPU_RE = re.compile(rf"^(?:CPU_)?(?P<cpu>{_NUM})C(?:_|-内存_)?(?P<mem>{_NUM})G$")
_VGPU_RE = re.compile(
    rf"^(?P<n>\d+)\*\((?P<model>{_MODEL}?)\(eGPU\)_(?P<vram>\d+)G_(?P<cpu>\d+)C_(?P<mem>\d+)G\)$"
)
SPEC_FORMATS = (
    "'<cpu>C_<mem>G_<n>*<card>' (e.g. 21C_175G_1*H800), '<cpu>C<mem>G' (e.g. 2C8G) or "
    "'N*(<card>(eGPU)_<vram>G_<cpu>C_<mem>G)' (e.g. 2*(L40s(eGPU)_5G_1C_8G))"
)


@dataclass(frozen=True, slots=True)
class VgpuSlice:
    """One virtual GPU (spec 02 §9): VRAM, CPU cores and memory per virtual card.

    ``compute_percent`` is the optional advanced compute share (decision B8); ``None`` means
    the slice is isolated by VRAM only (V2).
    """

    vram_gib: int
    cpu_cores: int
    mem_gib: int
    compute_percent: int | None = None


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Spec:
    """An instance spec: totals per instance (for a vGPU spec, of all its virtual cards).

    ``accel_count`` counts physical cards, or virtual cards when ``vgpu`` is set.
    """

    cpu_millicores: int
    mem_bytes: int
    accel_count: int = 0
    accel_model: str | None = None
    vgpu: VgpuSlice | None = None

    def __post_init__(self) -> None:
        if self.cpu_millicores <= 0:
            raise ValidationFailed.field("cpu", "must be more than 0 cores")
        if self.mem_bytes <= 0:
            raise ValidationFailed.field("mem", "must be more than 0 GiB")
        if self.accel_count < 0:
            raise ValidationFailed.field("accel_count", "cannot be negative")
        if self.accel_count and not self.accel_model:
            raise ValidationFailed.field(
                "accel_model", "is required when the spec has accelerator cards"
            )
        if self.vgpu is not None and not self.accel_count:
            raise ValidationFailed.field(
                "accel_count", "a virtual GPU spec needs at least 1 virtual card"
            )

    @classmethod
    def virtual(cls, model: str, count: int, vgpu: VgpuSlice) -> Spec:
        """``count`` virtual cards of ``model``; CPU and memory are the slice values × count."""
        return cls(
            cpu_millicores=vgpu.cpu_cores * MILLI * count,
            mem_bytes=vgpu.mem_gib * GIB * count,
            accel_count=count,
            accel_model=model,
            vgpu=vgpu,
        )

    @classmethod
    def cpu_only(cls, cpu_cores: float, mem_gib: float) -> Spec:
        return cls(round(cpu_cores * MILLI), round(mem_gib * GIB))

    @classmethod
    def accel(cls, cpu_cores: float, mem_gib: float, count: int, model: str) -> Spec:
        return cls(round(cpu_cores * MILLI), round(mem_gib * GIB), count, model)

    @property
    def cards(self) -> int:
        """Physical cards per instance (0 for CPU-only and vGPU specs): RQ4's granularity."""
        return 0 if self.vgpu is not None else self.accel_count

    def display(self) -> str:
        """The spec string of spec 02 §3."""
        cpu = self.cpu_millicores / MILLI
        mem = self.mem_bytes / GIB
        if self.vgpu is not None:
            v = self.vgpu
            card = f"{self.accel_model}(eGPU)_{v.vram_gib}G_{v.cpu_cores}C_{v.mem_gib}G"
            return f"{self.accel_count}*({card})"
        if self.accel_count:
            return f"{_num(cpu)}C_{_num(mem)}G_{self.accel_count}*{self.accel_model}"
        return f"{_num(cpu)}C{_num(mem)}G"

    def __str__(self) -> str:
        return self.display()

    def resources(self, *, phys_vram_gib: int | None = None) -> Resources:
        """What one instance draws from a quota.

        A vGPU spec draws its VRAM share of a physical card (decision I1), which needs the
        physical card's VRAM.
        """
        if self.vgpu is None:
            return Resources(
                self.cpu_millicores, self.mem_bytes, self.accel_count, self.accel_model
            )
        if not phys_vram_gib:
            raise ValueError("a vGPU spec needs the physical card's VRAM to count its share")
        milli = vgpu_share_milli(self.accel_count, self.vgpu.vram_gib, phys_vram_gib)
        return Resources(self.cpu_millicores, self.mem_bytes, 0, self.accel_model, milli)

    def request(self, *, nodes: int = 1, phys_vram_gib: int | None = None) -> Request:
        """A request for ``nodes`` instances of this spec, one per node (a gang if > 1)."""
        per_node = self.resources(phys_vram_gib=phys_vram_gib)
        if self.vgpu is None or self.accel_model is None:
            return Request(per_node, nodes)
        v = self.vgpu
        demand = VgpuDemand(self.accel_model, self.accel_count, v.vram_gib, v.compute_percent)
        return Request(per_node, nodes, demand)


def vgpu_share_milli(count: int, vram_gib: int, phys_vram_gib: int) -> int:
    """Thousandths of a physical card that ``count`` slices of ``vram_gib`` occupy (ceil)."""
    return math.ceil(count * vram_gib * MILLI / phys_vram_gib)


def parse_spec(text: str, field: str = "spec") -> Spec:
    """Parse any of the three display formats; errors name the field and the formats."""
    raw = text.strip()
    if m := _VGPU_RE.match(raw):
        count = int(m["n"])
        if count < 1:
            raise ValidationFailed.field(field, f"'{raw}': the virtual card count must be ≥ 1")
        slice_ = VgpuSlice(int(m["vram"]), int(m["cpu"]), int(m["mem"]))
        return Spec.virtual(m["model"], count, slice_)
    if m := _ACCEL_RE.match(raw):
        count = int(m["n"])
        if count < 1:
            raise ValidationFailed.field(field, f"'{raw}': the card count must be ≥ 1")
        return _checked(raw, field, float(m["cpu"]), float(m["mem"]), count, m["model"].strip())
    if m := _CPU_RE.match(raw):
        return _checked(raw, field, float(m["cpu"]), float(m["mem"]), 0, None)
    raise ValidationFailed.field(field, f"'{raw}' is not a spec string: expected {SPEC_FORMATS}")


def _checked(raw: str, field: str, cpu: float, mem: float, n: int, model: str | None) -> Spec:
    if cpu <= 0 or mem <= 0:
        raise ValidationFailed.field(field, f"'{raw}': CPU and memory must be more than 0")
    return Spec(round(cpu * MILLI), round(mem * GIB), n, model)
