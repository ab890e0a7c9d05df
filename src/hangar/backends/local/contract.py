"""The filesystem contract every workload sees (ARCHITECTURE.md):

=================================  ==========================  ==========
``/work/home``                     the user's persistent home  read-write
``/work/output``                   the run's output area       read-write
``/work/output/checkpoints``       ``HANGAR_CHECKPOINT_DIR``   read-write
``/work/cache``                    per-environment cache       read-write
``/work/share/<workspace>``        the workspace's share       read-write
``/work/mount/<kind>/<name>``      dataset, model, code        read-only unless the mount says so
``/work/image/<i>``                image layers, newest first  read-only
``/work/software``                 a dev environment's layer   read-write
=================================  ==========================  ==========

Sandboxed, these are bind mounts at exactly those paths. Unsandboxed, the node gets a *view*
directory of symlinks with the same layout, and ``HANGAR_WORK_DIR`` points at it: commands
that use the ``HANGAR_*`` variables work both ways; hard-coded ``/work/...`` paths only work
sandboxed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hangar.backends.errors import LaunchRejected
from hangar.backends.spec import CONTRACT_ROOT, RunSpec

CHECKPOINT_SUBDIR = "checkpoints"


@dataclass(frozen=True, kw_only=True)
class ContractBind:
    host: Path
    target: PurePosixPath
    read_only: bool


def contract_binds(spec: RunSpec) -> list[ContractBind]:
    """Every host directory of ``spec`` and where the workload sees it."""
    binds = [
        ContractBind(host=spec.home_dir, target=CONTRACT_ROOT / "home", read_only=False),
        ContractBind(host=spec.output_dir, target=CONTRACT_ROOT / "output", read_only=False),
    ]
    if spec.cache_dir is not None:
        binds.append(
            ContractBind(host=spec.cache_dir, target=CONTRACT_ROOT / "cache", read_only=False)
        )
    if spec.share_dir is not None:
        binds.append(
            ContractBind(
                host=spec.share_dir,
                target=CONTRACT_ROOT / "share" / spec.workspace,
                read_only=False,
            )
        )
    binds.extend(
        ContractBind(host=m.host_path, target=m.contract_path, read_only=m.read_only)
        for m in spec.mounts
    )
    binds.extend(
        ContractBind(host=layer, target=CONTRACT_ROOT / "image" / str(i), read_only=True)
        for i, layer in enumerate(spec.image_layers)
    )
    if spec.software_dir is not None:
        binds.append(
            ContractBind(host=spec.software_dir, target=CONTRACT_ROOT / "software", read_only=False)
        )
    return binds


def prepare_host_dirs(spec: RunSpec) -> None:
    """Create the run's own areas; refuse when a shared directory or mount is missing."""
    for path in (spec.home_dir, spec.output_dir, spec.output_dir / CHECKPOINT_SUBDIR):
        path.mkdir(parents=True, exist_ok=True)
    for kept in (spec.cache_dir, spec.software_dir):
        if kept is not None:
            kept.mkdir(parents=True, exist_ok=True)
    missing = [str(b.host) for b in contract_binds(spec) if not b.host.is_dir()]
    if missing:
        raise LaunchRejected(
            f"mounts: host director{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(missing)} missing; create or re-import the asset",
            fields={"mounts": "host directory missing"},
        )


def make_view(view_root: Path, binds: list[ContractBind]) -> None:
    """Unsandboxed stand-in for the contract: ``view_root/<path under /work>`` → host dir."""
    for bind in binds:
        link = view_root / bind.target.relative_to(CONTRACT_ROOT)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(bind.host, target_is_directory=True)


def in_view(view_root: Path, contract_path: PurePosixPath) -> Path:
    """Where the unsandboxed workload finds ``contract_path``."""
    return view_root / contract_path.relative_to(CONTRACT_ROOT)
