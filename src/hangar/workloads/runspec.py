"""Turn a workload's stored spec and a run's node rows into what a backend launches.

The workload spec (built by each workload kind, e.g. :mod:`hangar.jobs`) is a JSON dict:
``command``, ``env``, ``node_count``, ``procs_per_node``, ``resources`` (per node:
``cpu_millicores``, ``mem_bytes``, ``gpus``, ``gpu_model``, and ``vgpu`` for virtual GPU
slices: see :mod:`hangar.workloads.requests`) and ``restart``. Host paths follow
the filesystem contract under the server's home: ``users/<id>/home``,
``workloads/<id>/output`` (the same for every run and restart, so checkpoints survive),
``workspaces/<id>/share`` and, for kinds that keep one (``spec["cache"]``: dev environments),
``devenvs/<id>/cache``. ``spec["launch_env"]`` holds variables the platform sets for a kind's
launcher (e.g. a dev environment's IDE plan); they join the user's ``env``.
``spec["image_layers"]`` lists the host directories of the workload's image layers and
``spec["software"]`` gives a dev environment its software layer, ``devenvs/<id>/software``
(see :mod:`hangar.images.layers`).
``spec["mounts"]`` lists the assets shown at ``/work/mount/<kind>/<name>`` (resolved at
submit by :mod:`hangar.assets.mounts`); with a confidential dataset among them the run has no
network and its home and output are folders of the confidential output dataset.
``spec["sandbox"]`` (``capabilities``, ``empty_dirs``, ``overlays``: target → host path) is
what the platform asks the sandbox to add for a daemon of the kind (a dev environment's
sshd); users never set it. It becomes :class:`RunSpec`'s fields of the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hangar.backends.spec import (
    DeviceGrant,
    Mount,
    MountKind,
    NodePlacement,
    NodeResources,
    RunSpec,
    VGpuSlice,
)
from hangar.images.layers import software_host_dir
from hangar.scheduling.resources import GIB
from hangar.workloads.orm import Run, RunNode, Workload
from hangar.workloads.requests import vgpu_of


def attempt_id(run: Run) -> str:
    """The backend run id of the run's current attempt: a restart is a fresh launch."""
    return f"{run.id}-a{run.restarts}"


@dataclass(frozen=True)
class HostDirs:
    home: Path
    output: Path
    share: Path | None
    cache: Path


def confidential_output(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The confidential output mount of a workload that mounts a confidential dataset."""
    mounted = spec.get("mounts") or []
    if not any(m.get("confidential") for m in mounted):
        return None
    return next((m for m in mounted if m.get("confidential_output")), None)


def host_dirs(home: Path, workload: Workload) -> HostDirs:
    return HostDirs(
        home=home / "users" / (workload.created_by or "unknown") / "home",
        output=home / "workloads" / workload.id / "output",
        share=home / "workspaces" / workload.workspace_id / "share",
        cache=home / "devenvs" / workload.id / "cache",
    )


def make_host_dirs(spec: RunSpec) -> None:
    """Create the run's host directories; called before a launch, outside any transaction."""
    for path in (spec.home_dir, spec.output_dir, spec.share_dir, spec.cache_dir):
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
    if spec.share_dir is not None:  # decision C4: a sub-directory of one's own in the share
        (spec.share_dir / spec.user).mkdir(exist_ok=True)


def build_run_spec(
    *,
    home: Path,
    workload: Workload,
    run: Run,
    api_url: str,
    run_token: str,
) -> RunSpec:
    spec: dict[str, Any] = workload.spec
    res = spec["resources"]
    dirs = host_dirs(home, workload)
    sandbox: dict[str, Any] = spec.get("sandbox") or {}
    mounted = tuple(
        Mount(kind=MountKind(m["kind"]), name=m["name"], host_path=Path(m["host_path"]),
              read_only=bool(m.get("read_only", True)))
        for m in spec.get("mounts") or ()
    )  # fmt: skip
    sealed = confidential_output(spec)
    if sealed is not None:
        # Spec 07 §2.2: what a workload with confidential data writes stays in the
        # confidential output dataset, /work/output and /work/home included; no network.
        out = Path(sealed["host_path"]) / "workloads" / workload.id
        dirs = HostDirs(home=out / "home", output=out / "output", share=None, cache=dirs.cache)
    return RunSpec(
        run_id=attempt_id(run),
        workload_id=workload.id,
        user=workload.created_by or "unknown",
        workspace=workload.workspace_id,
        command=str(spec["command"]),
        resources=node_resources(res),
        env={**spec.get("env", {}), **spec.get("launch_env", {}), "HANGAR_JOB_ID": workload.id},
        node_count=int(spec.get("node_count", 1)),
        procs_per_node=int(spec.get("procs_per_node", 1)),
        api_url=api_url,
        run_token=run_token,
        home_dir=dirs.home,
        output_dir=dirs.output,
        share_dir=dirs.share,
        cache_dir=dirs.cache if spec.get("cache") else None,
        capabilities=tuple(sandbox.get("capabilities", ())),
        empty_dirs=tuple(sandbox.get("empty_dirs", ())),
        overlays={str(t): Path(h) for t, h in dict(sandbox.get("overlays", {})).items()},
        image_layers=tuple(Path(p) for p in spec.get("image_layers", ())),
        software_dir=software_host_dir(home, workload.id) if spec.get("software") else None,
        mounts=mounted,
        network_isolated=sealed is not None,
    )


def node_resources(res: dict[str, Any]) -> NodeResources:
    """Per-node resources for the backend: whole GPUs, or vGPU slices with their limits."""
    demand = vgpu_of(res)
    vgpu = None
    if demand is not None:
        vgpu = VGpuSlice(
            count=demand.count, vram_bytes=demand.vram_gib * GIB,
            compute_percent=demand.compute_percent or 100,
        )  # fmt: skip
    return NodeResources(
        cpu_millicores=int(res["cpu_millicores"]),
        memory_bytes=int(res["mem_bytes"]),
        gpus=0 if vgpu else int(res.get("gpus", 0)),
        vgpu=vgpu,
    )


def placements(nodes: list[RunNode]) -> list[NodePlacement]:
    """One placement per run node: its whole cards, or its slices as device grants."""
    return [_placement(n) for n in sorted(nodes, key=lambda n: n.rank)]


def _placement(node: RunNode) -> NodePlacement:
    slices = node.resources.get("slices") or ()
    if not slices:
        devices = list(node.resources.get("devices", []))
        return NodePlacement.whole_gpus(node.node_name, node.rank, devices)
    # Slices packed onto one physical card become ONE grant with their VRAM summed
    # (DeviceGrant's contract: a UUID at most once per node). A VRAM-only slice runs at the
    # full compute share, as VGpuSlice's default says.
    vram: dict[str, int] = {}
    pct: dict[str, int] = {}
    for piece in slices:
        uuid = str(piece["uuid"])
        vram[uuid] = vram.get(uuid, 0) + int(piece["vram_gib"]) * GIB
        pct[uuid] = int(piece.get("compute_percent") or 100)
    grants = tuple(
        DeviceGrant(uuid=u, vram_limit_bytes=v, compute_percent=pct[u]) for u, v in vram.items()
    )
    return NodePlacement(node_name=node.node_name, rank=node.rank, devices=grants)
