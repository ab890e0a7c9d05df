"""The real distributed test: a 2-node × 2-process torch job on this host, each node its own
supervised process group, rendezvous through the injected PET_* variables, gloo all-reduce."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hangar.backends import Mount, MountKind, NodeResources, Phase
from hangar.backends.local.backend import LocalBackend
from tests.backends.support import MIB, launch, make_spec, read_log, wait_finished

if importlib.util.find_spec("torch") is None:  # pragma: no cover
    pytest.fail("torch==2.13.0 is a dev dependency: pip install -e '.[dev]'", pytrace=False)

ALLREDUCE = """
import os
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
expected = world * (world + 1) / 2
with open(os.path.join(os.environ["HANGAR_OUTPUT_DIR"], f"rank-{rank}.txt"), "w") as fh:
    fh.write(f"{world} {value.item():g}")
print(f"rank {rank} of {world} (node {os.environ['HANGAR_NODE_RANK']}): sum {value.item():g}")
dist.destroy_process_group()
assert value.item() == expected, (value.item(), expected)
"""

TORCHRUN = (
    "python -m torch.distributed.run --nnodes $PET_NNODES --node-rank $PET_NODE_RANK "
    "--nproc-per-node 2 --master-addr $PET_MASTER_ADDR --master-port $PET_MASTER_PORT "
    '"$HANGAR_WORK_DIR/mount/code/ddp/allreduce.py"'
)


@pytest.mark.slow
def test_two_nodes_two_processes_allreduce(any_backend: LocalBackend, tmp_path: Path) -> None:
    backend = any_backend
    code = tmp_path / "assets/code/ddp"
    code.mkdir(parents=True)
    (code / "allreduce.py").write_text(ALLREDUCE)
    spec = make_spec(
        tmp_path,
        TORCHRUN,
        node_count=2,
        procs_per_node=2,
        resources=NodeResources(cpu_millicores=1000, memory_bytes=4096 * MIB),
        mounts=(Mount(kind=MountKind.CODE, name="ddp", host_path=code),),
    )

    handle = launch(backend, spec)
    state = wait_finished(backend, handle)

    logs = [read_log(backend, handle, node) for node in (0, 1)]
    assert state.phase is Phase.SUCCEEDED, logs
    assert [n.exit_code for n in state.nodes] == [0, 0]
    assert state.nodes[0].pgid != state.nodes[1].pgid  # each node its own process group
    results = sorted(p.read_text() for p in spec.output_dir.glob("rank-*.txt"))
    assert results == ["4 10"] * 4
    assert "sum 10" in logs[0] and "sum 10" in logs[1]
