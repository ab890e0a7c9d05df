""" "Start training" from a dev environment (spec 03 §1.6, spec 04 §1 entry point 2)."""

from __future__ import annotations

from hangar.devenvs.schemas import TrainingDraft
from hangar.jobs.service import copy_name
from hangar.workloads.orm import Workload

DRAFT_COMMAND = "cd /work/home && python train.py"


def draft(env: Workload) -> TrainingDraft:
    """The training-job form pre-filled with the environment's image, variables, resources
    and pool. Multi-node training needs a job; the terminal runs single-node only (§1.6).
    Training takes whole cards (spec 02 §9 V1): an environment's virtual GPUs become as many
    whole cards of their model."""
    spec = env.spec
    res = spec.get("resources") or {}
    vgpu = res.get("vgpu") or {}
    if res.get("spec_id") and not vgpu:
        resources: dict[str, object] = {"spec_id": res["spec_id"]}
    else:
        resources = {
            "cpu_cores": int(res["cpu_millicores"]) / 1000,
            "mem_gib": int(res["mem_bytes"]) / 2**30,
            "gpus": int(vgpu.get("count") or res.get("gpus") or 0),
            "gpu_model": res.get("gpu_model") or None,
        }
    return TrainingDraft(
        workspace_id=env.workspace_id, name=copy_name(f"{env.name}-train")[:64],
        image=spec.get("image"), resources=resources, quota_id=env.quota_id,
        queue_id=env.queue_id, env=dict(spec.get("env") or {}), command=DRAFT_COMMAND,
        mode="single", mounts=spec.get("mount_requests") or [],
    )  # fmt: skip
