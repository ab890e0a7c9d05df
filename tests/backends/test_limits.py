"""CPU and memory limits are applied to the real processes and reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hangar.backends import LimitMechanism, NodeResources, Phase
from hangar.backends.local.backend import LocalBackend
from tests.backends.support import MIB, launch, make_spec, read_log, wait_finished

REPORT = [
    "python",
    "-c",
    "import json, os, resource; print(json.dumps({"
    "'cpus': sorted(os.sched_getaffinity(0)), "
    "'data': resource.getrlimit(resource.RLIMIT_DATA)[0], "
    "'cgroup': open('/proc/self/cgroup').read()}))",
]


def test_limits_are_applied_and_reported(any_backend: LocalBackend, tmp_path: Path) -> None:
    resources = NodeResources(cpu_millicores=1000, memory_bytes=300 * MIB)
    handle = launch(any_backend, make_spec(tmp_path, REPORT, resources=resources))
    state = wait_finished(any_backend, handle)
    seen = json.loads(read_log(any_backend, handle))
    limits = state.nodes[0].limits

    assert state.phase is Phase.SUCCEEDED and limits is not None
    assert limits.mechanism is any_backend.limits_mechanism
    assert (limits.cpu_millicores, limits.memory_bytes) == (1000, 300 * MIB)
    if limits.mechanism is LimitMechanism.CGROUP_V2:
        assert limits.cgroup and Path(limits.cgroup).name in seen["cgroup"]
    else:
        assert len(limits.cpus) == 1 and seen["cpus"] == list(limits.cpus)
        assert seen["data"] == 300 * MIB
        assert limits.detail == any_backend.limits_reason  # why cgroup v2 was not used
    record = tmp_path / f"state/runs/{handle.run_id}/node-0/workload.json"
    assert json.loads(record.read_text())["limits"]["mechanism"] == limits.mechanism.value


def test_affinity_rounds_millicores_up_to_cores(plain: LocalBackend, tmp_path: Path) -> None:
    resources = NodeResources(cpu_millicores=1500, memory_bytes=300 * MIB)
    handle = launch(plain, make_spec(tmp_path, REPORT, resources=resources))
    wait_finished(plain, handle)
    seen = json.loads(read_log(plain, handle))
    if plain.limits_mechanism is LimitMechanism.AFFINITY_RLIMIT:
        assert len(seen["cpus"]) == min(2, len(os.sched_getaffinity(0)))


def test_memory_limit_bites(any_backend: LocalBackend, tmp_path: Path) -> None:
    hog = ["python", "-c", "x = bytearray(1024 * 1024 * 1024); print('allocated')"]
    resources = NodeResources(cpu_millicores=1000, memory_bytes=256 * MIB)
    handle = launch(any_backend, make_spec(tmp_path, hog, resources=resources))
    state = wait_finished(any_backend, handle)
    assert state.phase is Phase.FAILED and state.exit_code not in (None, 0)
    assert "allocated" not in read_log(any_backend, handle)
