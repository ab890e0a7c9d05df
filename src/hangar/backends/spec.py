"""What a backend is asked to run: :class:`RunSpec` plus one :class:`NodePlacement` per node.

A run spec is backend-neutral and fully resolved: host paths are absolute, resources are per
node, the API URL and run token are ready to inject. Constructing one validates it and raises
:class:`LaunchRejected` naming the broken rule. ``check_placements`` validates the placements
the scheduler produced against the spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from hangar.backends.errors import LaunchRejected

#: Run ids, workspace and mount names become path components: keep them boring.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Every path a workload is promised lives under this root (ARCHITECTURE.md, filesystem contract).
CONTRACT_ROOT = PurePosixPath("/work")
MIB = 1024 * 1024
#: Linux capabilities a run may keep (Docker's default set): none of them reaches past the
#: sandbox's namespaces (no CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE...).
KEEPABLE_CAPABILITIES = frozenset(
    {
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
        "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    }
)  # fmt: skip
#: Where a run may ask for empty directories: runtime state, outside the system directories
#: and the contract.
EMPTY_DIR_ROOTS = (PurePosixPath("/run"), PurePosixPath("/var"))
#: Where a run may lay host files over the system: configuration and runtime state.
OVERLAY_ROOTS = (PurePosixPath("/etc"), PurePosixPath("/run"))


class MountKind(StrEnum):
    """The three mount families of the filesystem contract: ``/work/mount/<kind>/<name>``."""

    DATASET = "dataset"
    MODEL = "model"
    CODE = "code"


@dataclass(frozen=True, kw_only=True)
class Mount:
    """A host directory shown to the workload at ``/work/mount/<kind>/<name>``."""

    kind: MountKind
    name: str
    host_path: Path
    read_only: bool = True

    def __post_init__(self) -> None:
        _require(SAFE_NAME.match(self.name) is not None, "mount name", f"{self.name!r} is unsafe")
        _require(self.host_path.is_absolute(), "mount host_path", "must be absolute")

    @property
    def contract_path(self) -> PurePosixPath:
        return CONTRACT_ROOT / "mount" / self.kind.value / self.name


@dataclass(frozen=True, kw_only=True)
class VGpuSlice:
    """A per-node request for ``count`` fractional GPUs (spec 02 §9), each with these limits."""

    count: int
    vram_bytes: int
    compute_percent: int = 100

    def __post_init__(self) -> None:
        _require(self.count >= 1, "vgpu.count", "must be at least 1")
        _require(self.vram_bytes >= MIB, "vgpu.vram_bytes", "must be at least 1 MiB")
        _require(1 <= self.compute_percent <= 100, "vgpu.compute_percent", "must be 1..100")


@dataclass(frozen=True, kw_only=True)
class NodeResources:
    """Resources of ONE node of the run. ``gpus`` counts whole GPUs; ``vgpu`` asks for slices."""

    cpu_millicores: int
    memory_bytes: int
    gpus: int = 0
    vgpu: VGpuSlice | None = None

    def __post_init__(self) -> None:
        _require(self.cpu_millicores >= 1, "cpu_millicores", "must be positive")
        _require(self.memory_bytes >= MIB, "memory_bytes", "must be at least 1 MiB")
        _require(self.gpus >= 0, "gpus", "must not be negative")
        _require(
            not (self.gpus and self.vgpu), "gpus", "ask for whole GPUs or vGPU slices, not both"
        )


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One start of a workload, as a backend needs it.

    ``command`` is an argv tuple (run as is) or a shell string (run with ``bash -c``, or
    ``sh -c`` where bash is missing). ``env`` is the user's environment; the backend adds its
    own variables on top and those win. ``working_dir`` is a path inside the filesystem
    contract (default ``/work/home``). ``home_dir``, ``output_dir``, ``share_dir`` and
    ``cache_dir`` are host paths shown at ``/work/home``, ``/work/output``,
    ``/work/share/<workspace>`` and ``/work/cache``. Give restarts of one job the same
    ``output_dir``: checkpoints live under it. ``network_isolated`` asks for no network at all
    (confidential datasets); a backend that cannot do that must refuse the launch.

    ``capabilities``, ``empty_dirs`` and ``overlays`` ask the sandbox for what a system
    daemon inside the workload needs (a dev environment's sshd: see
    :mod:`hangar.devenvs.sshd`): Linux capabilities kept when the workload runs as root
    (from :data:`KEEPABLE_CAPABILITIES`), empty directories made under ``/run`` or ``/var``,
    and host files or directories shown read-only at a path under ``/etc`` or ``/run``,
    over what the system shows there (``{"/etc/passwd": Path(...)}``). Only the sandbox
    provides them: a backend that runs workloads unsandboxed must refuse the launch.

    ``image_layers`` are the host directories of the workload's image layers, newest first,
    shown read-only at ``/work/image/<i>``; ``software_dir`` (dev environments) is the
    writable software layer shown at ``/work/software`` (see :mod:`hangar.images.layers`).
    """

    run_id: str
    workload_id: str
    user: str
    workspace: str
    command: tuple[str, ...] | str
    resources: NodeResources
    home_dir: Path
    output_dir: Path
    api_url: str
    run_token: str = field(repr=False)
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    node_count: int = 1
    procs_per_node: int = 1
    mounts: tuple[Mount, ...] = ()
    share_dir: Path | None = None
    cache_dir: Path | None = None
    network_isolated: bool = False
    capabilities: tuple[str, ...] = ()
    empty_dirs: tuple[str, ...] = ()
    overlays: Mapping[str, Path] = field(default_factory=dict)
    image_layers: tuple[Path, ...] = ()
    software_dir: Path | None = None

    def __post_init__(self) -> None:
        if isinstance(self.command, list):
            object.__setattr__(self, "command", tuple(self.command))
        object.__setattr__(self, "env", dict(self.env))
        object.__setattr__(self, "mounts", tuple(self.mounts))
        object.__setattr__(self, "capabilities", tuple(self.capabilities))
        object.__setattr__(self, "empty_dirs", tuple(self.empty_dirs))
        object.__setattr__(self, "overlays", dict(self.overlays))
        object.__setattr__(self, "image_layers", tuple(self.image_layers))
        for name in ("run_id", "workspace"):
            value = getattr(self, name)
            _require(SAFE_NAME.match(value) is not None, name, f"{value!r} is not a safe name")
        _require(bool(self.workload_id), "workload_id", "is required")
        _require(bool(self.user), "user", "is required")
        if isinstance(self.command, str):
            _require(bool(self.command.strip()), "command", "is required")
        else:
            _require(bool(self.command) and bool(self.command[0]), "command", "is required")
        for key, value in self.env.items():
            _require(ENV_NAME.match(key) is not None, "env", f"{key!r} is not a variable name")
            _require("\0" not in value, "env", f"{key} contains a NUL byte")
        _require(self.node_count >= 1, "node_count", "must be at least 1")
        _require(self.procs_per_node >= 1, "procs_per_node", "must be at least 1")
        for name in ("home_dir", "output_dir", "share_dir", "cache_dir", "software_dir"):
            value = getattr(self, name)
            _require(value is None or value.is_absolute(), name, "must be an absolute host path")
        for layer in self.image_layers:
            _require(layer.is_absolute(), "image_layers", "must be absolute host paths")
        seen = {m.contract_path for m in self.mounts}
        _require(len(seen) == len(self.mounts), "mounts", "two mounts share one kind and name")
        if self.working_dir is not None:
            path = PurePosixPath(self.working_dir)
            _require(
                path.is_absolute() and (path == CONTRACT_ROOT or CONTRACT_ROOT in path.parents),
                "working_dir",
                "must be an absolute path under /work",
            )
            _require(".." not in path.parts, "working_dir", "must not contain '..'")
        self._check_sandbox_needs()

    def _check_sandbox_needs(self) -> None:
        for cap in self.capabilities:
            _require(
                cap in KEEPABLE_CAPABILITIES,
                "capabilities",
                f"{cap!r} is not one a run may keep ({', '.join(sorted(KEEPABLE_CAPABILITIES))})",
            )
        _require(
            len(set(self.capabilities)) == len(self.capabilities),
            "capabilities",
            "lists a capability twice",
        )
        for name in self.empty_dirs:
            _require_under(name, EMPTY_DIR_ROOTS, "empty_dirs")
        for target, host in self.overlays.items():
            _require_under(target, OVERLAY_ROOTS, "overlays")
            _require(host.is_absolute(), "overlays", f"{target}: {host} is not an absolute path")

    @property
    def contract_working_dir(self) -> PurePosixPath:
        return PurePosixPath(self.working_dir or "/work/home")

    @property
    def needs_sandbox(self) -> bool:
        """True when the run asks for capabilities, empty directories or overlays."""
        return bool(self.capabilities or self.empty_dirs or self.overlays)


@dataclass(frozen=True, kw_only=True)
class DeviceGrant:
    """One GPU given to a node: whole (no limits) or a slice (VRAM and compute limits set).

    Two slices of one node packed onto the same physical GPU are ONE grant with the summed
    VRAM; a UUID appears at most once per node.
    """

    uuid: str
    vram_limit_bytes: int | None = None
    compute_percent: int | None = None

    @property
    def is_slice(self) -> bool:
        return self.vram_limit_bytes is not None


@dataclass(frozen=True, kw_only=True)
class NodePlacement:
    """Where node ``rank`` of a run goes: the host node's name and its device grants."""

    node_name: str
    rank: int
    devices: tuple[DeviceGrant, ...] = ()

    @property
    def device_uuids(self) -> tuple[str, ...]:
        return tuple(d.uuid for d in self.devices)

    @classmethod
    def whole_gpus(cls, node_name: str, rank: int, uuids: Sequence[str]) -> NodePlacement:
        return cls(
            node_name=node_name, rank=rank, devices=tuple(DeviceGrant(uuid=u) for u in uuids)
        )


def check_placements(spec: RunSpec, placements: Sequence[NodePlacement]) -> list[NodePlacement]:
    """Validate placements against ``spec``; return them ordered by rank.

    Rules: one placement per node, ranks exactly ``0..node_count-1``; whole-GPU runs get
    exactly ``resources.gpus`` unlimited devices; vGPU runs get 1..count slices whose VRAM
    limits add up to ``count × vram_bytes`` and whose compute percent equals the request;
    CPU-only runs get no device; no UUID twice within a node.
    """
    ordered = sorted(placements, key=lambda p: p.rank)
    ranks = [p.rank for p in ordered]
    _require(
        ranks == list(range(spec.node_count)),
        "placements",
        f"need ranks 0..{spec.node_count - 1} once each, got {ranks}",
    )
    res = spec.resources
    for p in ordered:
        where = f"placement of rank {p.rank}"
        _require(len(set(p.device_uuids)) == len(p.devices), where, "lists a device twice")
        if res.vgpu is not None:
            slice_ = res.vgpu
            _require(1 <= len(p.devices) <= slice_.count, where, "needs 1..count slice grants")
            _require(all(d.is_slice for d in p.devices), where, "vGPU grants need a VRAM limit")
            total = sum(d.vram_limit_bytes or 0 for d in p.devices)
            _require(
                total == slice_.count * slice_.vram_bytes,
                where,
                f"slice VRAM adds up to {total} bytes, the spec asks "
                f"{slice_.count} × {slice_.vram_bytes}",
            )
            _require(
                all(d.compute_percent == slice_.compute_percent for d in p.devices),
                where,
                f"every slice needs compute_percent={slice_.compute_percent}",
            )
        else:
            _require(
                len(p.devices) == res.gpus,
                where,
                f"the spec asks {res.gpus} whole GPU(s), the placement gives {len(p.devices)}",
            )
            _require(not any(d.is_slice for d in p.devices), where, "whole GPUs carry no limits")
    return ordered


def _require_under(value: str, roots: Sequence[PurePosixPath], name: str) -> None:
    """``value`` is a plain absolute path strictly inside one of ``roots``."""
    path = PurePosixPath(value)
    _require(
        path.is_absolute()
        and ".." not in path.parts
        and str(path) == value
        and any(root in path.parents for root in roots),
        name,
        f"{value!r} must be a normalised path under {' or '.join(map(str, roots))}",
    )


def _require(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise LaunchRejected(f"{name}: {message}", fields={name: message})
