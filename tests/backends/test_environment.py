"""The environment a workload really gets: GPUs, MPS slices, torchrun variables, HANGAR_*."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hangar.backends import DeviceGrant, NodePlacement, NodeResources, Phase, VGpuSlice
from hangar.backends.local.backend import LocalBackend
from tests.backends.support import MIB, make_backend, make_spec, wait_finished

DUMP_ENV = [
    "python",
    "-c",
    "import json, os; "
    "p = os.path.join(os.environ['HANGAR_OUTPUT_DIR'], f\"env-{os.environ['HANGAR_NODE_RANK']}.json\"); "
    "json.dump(dict(os.environ), open(p, 'w'))",
]
GIB = 1024 * MIB


@pytest.fixture
def gpu_backend(tmp_path: Path) -> Iterator[LocalBackend]:
    """Four declared A100s, so placements can name real inventory UUIDs on any machine."""
    os.environ["HANGAR_SERVER_ONLY_SECRET"] = "must-not-leak"
    try:
        yield make_backend(
            tmp_path, declared_gpus=[{"model": "A100", "memory_gib": 80, "count": 4}]
        )
    finally:
        del os.environ["HANGAR_SERVER_ONLY_SECRET"]


def run_and_read_env(
    backend: LocalBackend, spec: Any, placements: list[NodePlacement]
) -> list[dict[str, str]]:
    handle = backend.launch(spec, placements)
    assert wait_finished(backend, handle).phase is Phase.SUCCEEDED
    return [
        json.loads((spec.output_dir / f"env-{rank}.json").read_text())
        for rank in range(spec.node_count)
    ]


def test_multi_node_whole_gpu_environment(gpu_backend: LocalBackend, tmp_path: Path) -> None:
    host = gpu_backend.inventory().hosts[0]
    uuids = [g.uuid for g in host.gpus]
    spec = make_spec(
        tmp_path,
        DUMP_ENV,
        node_count=2,
        resources=NodeResources(cpu_millicores=500, memory_bytes=GIB, gpus=2),
        env={"MY_SETTING": "42", "HANGAR_RUN_TOKEN": "spoofed", "PET_NNODES": "99"},
    )
    placements = [
        NodePlacement.whole_gpus(host.name, 0, uuids[:2]),
        NodePlacement.whole_gpus(host.name, 1, uuids[2:]),
    ]
    envs = run_and_read_env(gpu_backend, spec, placements)

    for rank, env in enumerate(envs):
        assert env["CUDA_VISIBLE_DEVICES"] == ",".join(uuids[2 * rank : 2 * rank + 2])
        assert env["PET_NNODES"] == "2"
        assert env["PET_NODE_RANK"] == str(rank) == env["NODE_RANK"] == env["HANGAR_NODE_RANK"]
        assert env["PET_NPROC_PER_NODE"] == "2"
        assert env["PET_MASTER_ADDR"] == env["MASTER_ADDR"] == "127.0.0.1"
        assert env["WORLD_SIZE"] == "4" and env["RANK"] == str(2 * rank)
        assert env["HANGAR_RUN_ID"] == spec.run_id
        assert env["HANGAR_RUN_TOKEN"] == spec.run_token  # the user cannot override it
        assert env["HANGAR_API_URL"] == spec.api_url
        assert env["HANGAR_CHECKPOINT_DIR"] == env["HANGAR_OUTPUT_DIR"] + "/checkpoints"
        assert env["MY_SETTING"] == "42"
        assert "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" not in env
        assert "HANGAR_SERVER_ONLY_SECRET" not in env
    assert envs[0]["PET_MASTER_PORT"] == envs[1]["PET_MASTER_PORT"] == envs[0]["MASTER_PORT"]
    if gpu_backend.isolation_enabled:
        assert envs[0]["HANGAR_OUTPUT_DIR"] == "/work/output"


def test_vgpu_slices_get_mps_limits(gpu_backend: LocalBackend, tmp_path: Path) -> None:
    host = gpu_backend.inventory().hosts[0]
    spec = make_spec(
        tmp_path,
        DUMP_ENV,
        resources=NodeResources(
            cpu_millicores=1000,
            memory_bytes=GIB,
            vgpu=VGpuSlice(count=3, vram_bytes=5 * GIB, compute_percent=25),
        ),
    )
    # Two slices packed onto the first GPU (one grant, summed VRAM), one on the second.
    grants = (
        DeviceGrant(uuid=host.gpus[0].uuid, vram_limit_bytes=10 * GIB, compute_percent=25),
        DeviceGrant(uuid=host.gpus[1].uuid, vram_limit_bytes=5 * GIB, compute_percent=25),
    )
    (env,) = run_and_read_env(
        gpu_backend, spec, [NodePlacement(node_name=host.name, rank=0, devices=grants)]
    )

    assert env["CUDA_VISIBLE_DEVICES"] == f"{host.gpus[0].uuid},{host.gpus[1].uuid}"
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=10240MB,1=5120MB"
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"
    assert env["PET_NPROC_PER_NODE"] == "2"


def test_cpu_only_nodes_see_no_gpu(gpu_backend: LocalBackend, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, DUMP_ENV, procs_per_node=3)
    host = gpu_backend.inventory().hosts[0].name
    (env,) = run_and_read_env(gpu_backend, spec, [NodePlacement(node_name=host, rank=0)])
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["PET_NPROC_PER_NODE"] == "3" and env["PET_NNODES"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
