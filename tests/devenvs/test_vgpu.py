"""Dev environments on virtual GPU slices (spec 02 §9, spec 03 "resources or a vGPU slice").

Environments are created and started through the API of a quiet Hangar (no background loops);
the test then drives the real scheduler cycle (``run_cycle``) and, for the local host, the
real run reconciler and local backend. GPUs are DECLARED ones: on the local host from the
settings, elsewhere as a multi-host backend reports them. Declared cards are not hardware,
so the launched environment sees UUIDs no driver knows; what is checked is what the platform
promises: the placement, the device grants, the MPS limits in the process environment and
the metered share of a card.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from sqlalchemy import select

from hangar.backends.inventory import Inventory
from hangar.backends.local.environment import node_environment
from hangar.backends.spec import DeviceGrant, NodePlacement, VGpuSlice, check_placements
from hangar.backends.state import RunHandle
from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.resources.inventory import sync_inventory
from hangar.scheduling.loop import CycleReport, run_cycle
from hangar.workloads import runspec
from hangar.workloads.orm import Run, RunNode, UsageInterval, Workload
from hangar.workloads.reconciler import RunReconciler
from hangar.workloads.service import current_run
from tests.devenvs.support import DEVENVS, env_body
from tests.jobs.support import JOBS, job_body, quiet_hangar
from tests.resources.conftest import GIB, Setup, build_setup, gpus, host
from tests.support import Hangar, assert_error

L40S = [{"model": "L40S", "memory_gib": 44, "count": 2}]


@pytest.fixture
def local(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    """The local host with two declared 44 GiB L40S cards, in the default cluster; sandboxed,
    as dev environments need (their software layer lives in the sandbox)."""
    with quiet_hangar(tmp_path / "home", db_url, declared_gpus=L40S, sandbox="auto") as h:
        yield h


@pytest.fixture
def quiet(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as h:
        yield h


def default_cluster(h: Hangar) -> dict[str, Any]:
    found: dict[str, Any] = next(
        c for c in h.admin.call("GET", "/api/v1/clusters") if c["kind"] == "default"
    )
    return found


def vgpu_spec(
    h: Hangar, cluster_id: str, model: str, *, count: int, vram: int, cpu: int, mem: int,
    compute: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``count*(<model>(eGPU)_<vram>G_<cpu>C_<mem>G)``: cpu and mem per virtual card."""
    spec: dict[str, Any] = h.admin.call(
        "POST", "/api/v1/specs", 201,
        json={"cluster_id": cluster_id, "cpu_millicores": cpu * count * 1000,
              "mem_bytes": mem * count * GIB, "accel_model": model, "accel_count": count,
              "vgpu_vram_gib": vram, "vgpu_compute_pct": compute},
    )  # fmt: skip
    return spec


def started(h: Hangar, ws_id: str, name: str, spec_id: str, **changes: Any) -> dict[str, Any]:
    body = env_body(ws_id, name, resources={"spec_id": spec_id}, start=True, **changes)
    env: dict[str, Any] = h.admin.call("POST", DEVENVS, 201, json=body)
    return env


def cycle(h: Hangar) -> CycleReport:
    with transaction(h.state.sessions) as session:
        return run_cycle(session, now=utcnow())


def held(h: Hangar, env_id: str) -> dict[str, Any]:
    """What the environment's current run holds on its node (the scheduler's grant)."""
    with h.state.sessions() as session:
        workload = session.get(Workload, env_id)
        assert workload is not None
        run = current_run(session, workload)
        assert run is not None, f"{workload.state}: {workload.state_reason}"
        [node] = session.scalars(select(RunNode).where(RunNode.run_id == run.id))
        return {"node": node.node_name, **node.resources}


def state_of(h: Hangar, env_id: str) -> tuple[str, str]:
    env = h.admin.call("GET", f"{DEVENVS}/{env_id}")
    return env["state"], env["state_reason"]


def test_an_environment_on_a_vgpu_slice_runs_with_its_mps_limits_and_is_metered(
    local: Hangar,
) -> None:
    h = local
    cluster = default_cluster(h)
    spec = vgpu_spec(h, cluster["id"], "L40S", count=2, vram=10, cpu=1, mem=1, compute=25)
    assert spec["display"] == "2*(L40S(eGPU)_10G_1C_1G)"
    ws = h.default_workspace()
    env = started(h, ws["id"], "sliced", spec["id"])
    assert env["spec"] == "2*(L40S(eGPU)_10G_1C_1G)"
    assert env["resources"]["vgpu"] == {"count": 2, "vram_gib": 10, "compute_percent": 25}
    assert env["resources"]["gpus"] == 0 and env["resources"]["gpu_milli"] == 455  # 20/44

    assert cycle(h).admitted == 1
    grant = held(h, env["id"])
    declared = [d["uuid"] for d in h.admin.call("GET", "/api/v1/devices?source=DECLARED")]
    # Both slices pack onto the first card (V2); no whole card is taken.
    assert grant["node"] == h.state.backend.config.node_name
    assert grant["devices"] == [] and grant["gpus"] == 0
    assert grant["slices"] == [
        {"uuid": declared[0], "vram_gib": 10, "compute_percent": 25},
        {"uuid": declared[0], "vram_gib": 10, "compute_percent": 25},
    ]
    assert (grant["vgpu_vram_gib"], grant["gpu_milli"]) == (20, 455)

    # The run spec and placements the reconciler hands the backend.
    with h.state.sessions() as session:
        workload = session.get(Workload, env["id"])
        assert workload is not None
        run = current_run(session, workload)
        assert run is not None
        nodes = list(session.scalars(select(RunNode).where(RunNode.run_id == run.id)))
        run_spec = runspec.build_run_spec(
            home=h.settings.home, workload=workload, run=run, api_url="http://127.0.0.1:1",
            run_token="t",
        )  # fmt: skip
        places = runspec.placements(nodes)
    assert run_spec.resources.gpus == 0
    assert run_spec.resources.vgpu == VGpuSlice(count=2, vram_bytes=10 * GIB, compute_percent=25)
    # Two slices on one card are ONE grant with their VRAM summed (DeviceGrant's contract).
    assert places == [
        NodePlacement(
            node_name=grant["node"], rank=0,
            devices=(DeviceGrant(uuid=declared[0], vram_limit_bytes=20 * GIB, compute_percent=25),),
        )
    ]  # fmt: skip
    assert check_placements(run_spec, places) == places
    env_vars = node_environment(
        run_spec, places[0], work_root=PurePosixPath("/work"), master_addr="x", master_port=1
    )
    assert env_vars["CUDA_VISIBLE_DEVICES"] == declared[0]
    assert env_vars["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=20480MB"
    assert env_vars["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"

    # The real reconciler launches it on the local backend: the process has those limits.
    reconciler = RunReconciler(
        h.state.sessions, h.state.backend, home=h.settings.home, api_url="http://127.0.0.1:1",
        stop_grace_seconds=2,
    )  # fmt: skip
    try:
        launched = _process_env(h, reconciler, env["id"])
        assert launched["CUDA_VISIBLE_DEVICES"] == declared[0]
        assert launched["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=20480MB"
        assert launched["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"
        with h.state.sessions() as session:
            [usage] = session.scalars(
                select(UsageInterval).where(UsageInterval.workload_id == env["id"])
            )
            assert (usage.gpus, usage.gpu_milli, usage.vgpu_vram_gib) == (0, 455, 20)
            assert usage.gpu_model == "L40S"
    finally:
        h.admin.call("POST", f"{DEVENVS}/{env['id']}/stop")
        _converge(h, reconciler, env["id"], {"STOPPED", "FAILED"})
    # The training draft asks for whole cards: training takes no slices (V1).
    draft = h.admin.call("GET", f"{DEVENVS}/{env['id']}/training-draft")
    assert draft["resources"]["gpus"] == 2 and draft["resources"]["gpu_model"] == "L40S"
    assert "spec_id" not in draft["resources"]


def _converge(h: Hangar, rec: RunReconciler, env_id: str, until: set[str]) -> str:
    deadline = time.monotonic() + 60
    while True:
        rec.step()
        state, reason = state_of(h, env_id)
        if state in until:
            return state
        assert time.monotonic() < deadline, f"stuck in {state}: {reason}"
        time.sleep(0.1)


def _process_env(h: Hangar, rec: RunReconciler, env_id: str) -> dict[str, str]:
    """Launch through the reconciler and read the node process's environment (Linux)."""
    _converge(h, rec, env_id, {"RUNNING"})
    with h.state.sessions() as session:
        run = session.scalars(select(Run).where(Run.workload_id == env_id)).one()
        [node] = session.scalars(select(RunNode).where(RunNode.run_id == run.id))
        handle = node.handle
    observed = h.state.backend.poll(RunHandle.from_dict(handle))
    pid = observed.nodes[0].pid
    assert pid is not None
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_two_slices_share_a_card_and_a_third_waits_with_the_reason(quiet: Hangar) -> None:
    h = quiet
    one_card = Inventory(hosts=(host("gpu-v1", 32, 256, gpus("gpu-v1", "L40S", 44, 1)),))
    with transaction(h.state.sessions) as session:
        sync_inventory(session, one_card, backend="ci")
    spec = vgpu_spec(h, default_cluster(h)["id"], "L40S", count=1, vram=20, cpu=1, mem=1)
    ws = h.default_workspace()
    envs = [started(h, ws["id"], f"nb-{i}", spec["id"]) for i in range(3)]
    report = cycle(h)
    assert (report.admitted, report.waiting) == (2, 1)
    first, second = held(h, envs[0]["id"]), held(h, envs[1]["id"])
    # Packed onto the one card: 2 × 20 GiB of its 44 GiB (V2), no whole card held.
    for grant in (first, second):
        assert grant["node"] == "gpu-v1" and grant["devices"] == []
        assert grant["slices"] == [
            {"uuid": "DECLARED-gpu-v1-0", "vram_gib": 20, "compute_percent": None}
        ]
    state, reason = state_of(h, envs[2]["id"])
    assert state == "QUEUED"
    assert "has room but no node" in reason and "1 × 20 GiB L40S vGPU" in reason, reason
    assert "the most free on one node: 0 × 20 GiB L40S slices" in reason, reason
    [pool] = h.admin.call("GET", "/api/v1/queue")
    [waiting] = pool["workloads"]
    assert waiting["id"] == envs[2]["id"]
    assert waiting["request"].startswith("1 × 20 GiB L40S vGPU"), waiting
    # The first environment's stop frees its slice for the third.
    h.admin.call("POST", f"{DEVENVS}/{envs[0]['id']}/stop")
    with transaction(h.state.sessions) as session:
        workload = session.get(Workload, envs[0]["id"])
        assert workload is not None and workload.state == "STOPPING"
    _finish_stops(h)
    assert cycle(h).admitted == 1
    third = held(h, envs[2]["id"])
    assert third["slices"] == [
        {"uuid": "DECLARED-gpu-v1-0", "vram_gib": 20, "compute_percent": None}
    ]


def _finish_stops(h: Hangar) -> None:
    """What the reconciler does for a run the backend never launched: it ends stopped."""
    reconciler = RunReconciler(
        h.state.sessions, h.state.backend, home=h.settings.home, api_url="http://127.0.0.1:1"
    )
    reconciler.step()


def test_a_quota_counts_slices_as_their_share_of_a_card(quiet: Hangar) -> None:
    s: Setup = build_setup(quiet)  # ded-a: gpu-a1, gpu-a2 with 8 × 80 GiB H800 each
    quota = s.quota(
        "ide-q", cards=1, instance_count=1, workload_types=["ide", "training"],
        workspace_ids=[s.workspace["id"]],
    )  # fmt: skip
    spec = vgpu_spec(quiet, s.cluster["id"], "H800", count=1, vram=40, cpu=2, mem=16)
    envs = [
        started(quiet, s.workspace["id"], f"nb-{i}", spec["id"], quota_id=quota["id"])
        for i in range(3)
    ]
    assert envs[0]["spec"] == "1*(H800(eGPU)_40G_2C_16G)"
    assert envs[0]["resources"]["gpu_milli"] == 500  # 40 of 80 GiB
    report = cycle(quiet)
    assert (report.admitted, report.waiting) == (2, 1)
    for env in envs[:2]:
        grant = held(quiet, env["id"])
        assert grant["node"] == "gpu-a1"
        assert grant["slices"] == [
            {"uuid": "DECLARED-gpu-a1-0", "vram_gib": 40, "compute_percent": None}
        ]
    state, reason = state_of(quiet, envs[2]["id"])
    assert state == "QUEUED" and "head of quota 'ide-q' needs" in reason, reason
    usage = quiet.admin.call("GET", f"/api/v1/quotas/{quota['id']}")["usage"]
    assert usage["used"]["gpus"] == 0 and usage["used"]["gpu_milli"] == 1000
    # Training jobs take whole cards (V1): the same spec is refused, naming the field.
    body = job_body(s.workspace["id"], "train", quota_id=quota["id"],
                    resources={"spec_id": spec["id"]})  # fmt: skip
    err = assert_error(quiet.admin.post(JOBS, json=body), 422)
    assert "resources.spec_id" in err["fields"], err
    assert "slices virtual GPUs; training jobs take whole cards" in err["message"]
    # The create forms offer it to dev environments only, with the pools that take each kind.
    options = f"{JOBS}/options?workspace={s.workspace['id']}"
    for_env = quiet.admin.call("GET", f"{options}&workload_type=ide")
    for_job = quiet.admin.call("GET", options)
    assert spec["id"] in {x["id"] for x in for_env["specs"]}
    assert spec["id"] not in {x["id"] for x in for_job["specs"]}
    assert quota["id"] in {p["id"] for p in for_env["pools"]}
    assert_error(quiet.admin.get(f"{options}&workload_type=serving"), 422)
