"""The environment of one node's workload, in three layers (later layers win):

1. **base**: ``PATH`` (the server's interpreter first), ``HOME``, ``USER``, ``LANG``,
   ``PYTHONUNBUFFERED=1`` (logs stream live), and for multi-node runs on one host
   ``GLOO_SOCKET_IFNAME=lo`` / ``NCCL_SOCKET_IFNAME=lo``. Nothing of the server's own
   environment leaks in (it holds secrets).
2. **the user's** ``RunSpec.env``, then the image layers' ``PYTHONPATH`` and ``PATH`` in front
   (:func:`hangar.images.layers.workload_environment`; not for dev environments, whose
   software layer adds them).
3. **injected**, never overridable: ``HANGAR_*`` (run id, workload, user, workspace, API URL,
   run token, work/output/checkpoint dirs, node rank), ``CUDA_VISIBLE_DEVICES`` (device UUIDs;
   empty for CPU-only nodes, so they see no GPU), the NVIDIA MPS limits for vGPU slices, and
   the torchrun variables ``PET_NNODES``, ``PET_NODE_RANK``, ``PET_MASTER_ADDR``,
   ``PET_MASTER_PORT``, ``PET_NPROC_PER_NODE`` plus ``MASTER_ADDR``, ``MASTER_PORT``,
   ``WORLD_SIZE``, ``RANK`` (of the node's first process), ``NODE_RANK``, ``NODE_NAME``.

``PET_NPROC_PER_NODE`` is the node's GPU count, or ``procs_per_node`` for CPU-only nodes.
``CUDA_MPS_PINNED_DEVICE_MEM_LIMIT`` lists ``<ordinal>=<MiB>MB`` per visible device;
``CUDA_MPS_ACTIVE_THREAD_PERCENTAGE`` is one number per process, so the smallest slice wins.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

from hangar.backends.local.contract import CHECKPOINT_SUBDIR
from hangar.backends.spec import MIB, NodePlacement, RunSpec
from hangar.images.layers import workload_environment

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def nproc_per_node(spec: RunSpec, placement: NodePlacement) -> int:
    return len(placement.devices) or spec.procs_per_node


def node_environment(
    spec: RunSpec,
    placement: NodePlacement,
    *,
    work_root: PurePosixPath,
    master_addr: str,
    master_port: int,
    mps_pipe_dir: str | None = None,
) -> dict[str, str]:
    """The complete environment for node ``placement.rank`` of ``spec``."""
    runtime_bin = Path(sys.executable).parent
    env = {
        "PATH": f"{runtime_bin}:{SYSTEM_PATH}",
        "HOME": str(work_root / "home"),
        "USER": spec.user,
        "LOGNAME": spec.user,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    if spec.node_count > 1:
        env.update(GLOO_SOCKET_IFNAME="lo", NCCL_SOCKET_IFNAME="lo")
    env.update(spec.env)
    if spec.software_dir is None:  # a dev environment's software layer adds them itself
        workload_environment(str(work_root), len(spec.image_layers), env)
    env.update(_hangar_vars(spec, placement, work_root))
    env.update(_gpu_vars(placement))
    if mps_pipe_dir and any(d.is_slice for d in placement.devices):
        env["CUDA_MPS_PIPE_DIRECTORY"] = mps_pipe_dir
    env.update(_torchrun_vars(spec, placement, master_addr, master_port))
    return env


def _hangar_vars(
    spec: RunSpec, placement: NodePlacement, work_root: PurePosixPath
) -> dict[str, str]:
    output = work_root / "output"
    return {
        "HANGAR_RUN_ID": spec.run_id,
        "HANGAR_WORKLOAD_ID": spec.workload_id,
        "HANGAR_USER": spec.user,
        "HANGAR_WORKSPACE": spec.workspace,
        "HANGAR_API_URL": spec.api_url,
        "HANGAR_RUN_TOKEN": spec.run_token,
        "HANGAR_WORK_DIR": str(work_root),
        "HANGAR_OUTPUT_DIR": str(output),
        "HANGAR_CHECKPOINT_DIR": str(output / CHECKPOINT_SUBDIR),
        "HANGAR_NODE_RANK": str(placement.rank),
    }


def _gpu_vars(placement: NodePlacement) -> dict[str, str]:
    env = {"CUDA_VISIBLE_DEVICES": ",".join(placement.device_uuids)}
    slices = [d for d in placement.devices if d.is_slice]
    if slices:
        env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] = ",".join(
            f"{ordinal}={(d.vram_limit_bytes or 0) // MIB}MB"
            for ordinal, d in enumerate(placement.devices)
            if d.is_slice
        )
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(
            min(d.compute_percent or 100 for d in slices)
        )
    return env


def _torchrun_vars(
    spec: RunSpec, placement: NodePlacement, master_addr: str, master_port: int
) -> dict[str, str]:
    nproc = nproc_per_node(spec, placement)
    return {
        "PET_NNODES": str(spec.node_count),
        "PET_NODE_RANK": str(placement.rank),
        "PET_MASTER_ADDR": master_addr,
        "PET_MASTER_PORT": str(master_port),
        "PET_NPROC_PER_NODE": str(nproc),
        "MASTER_ADDR": master_addr,
        "MASTER_PORT": str(master_port),
        "WORLD_SIZE": str(spec.node_count * nproc),
        "RANK": str(placement.rank * nproc),
        "NODE_RANK": str(placement.rank),
        "NODE_NAME": placement.node_name,
    }
