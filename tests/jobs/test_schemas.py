"""Training-job input validation (spec 04 §1): each rule names the field and the fix."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hangar.jobs.schemas import TrainingJobCreate

BASE: dict[str, Any] = {
    "workspace_id": "w1",
    "name": "resnet-50_run1",
    "command": "torchrun train.py",
    "resources": {"cpu_cores": 2, "mem_gib": 4},
}


def make(**changes: Any) -> TrainingJobCreate:
    return TrainingJobCreate.model_validate({**BASE, **changes})


def error_text(**changes: Any) -> str:
    with pytest.raises(ValidationError) as err:
        make(**changes)
    return str(err.value)


def test_valid_job_and_node_count() -> None:
    assert make().node_count == 2  # DDP: 1 master + 1 worker
    assert make(mode="ddp", worker_count=3).node_count == 4
    assert make(mode="single").node_count == 1
    assert make(name="训练任务1").name == "训练任务1"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "is required"),
        ("-lead", "rule N1"),
        ("has space", "rule N1"),
        ("x" * 65, "at most 64 characters"),
    ],
)
def test_name_rules(name: str, rule: str) -> None:
    assert rule in error_text(name=name)


def test_command_is_required() -> None:
    assert "command" in error_text(command="   ")


def test_description_limit() -> None:
    assert "128" in error_text(description="d" * 129)


def test_env_names_and_reserved_prefixes() -> None:
    assert "invalid: 1BAD" in error_text(env={"1BAD": "x"})
    assert "PET_* and HANGAR_* are set by the platform" in error_text(env={"PET_NNODES": "9"})


def test_resources_spec_or_explicit() -> None:
    assert "not both" in error_text(resources={"spec_id": "s1", "cpu_cores": 2, "mem_gib": 4})
    assert "give a 'spec_id'" in error_text(resources={"gpus": 1})


def test_quota_or_queue_not_both_and_unknown_fields_rejected() -> None:
    assert "not both" in error_text(quota_id="q", queue_id="u")
    assert "Extra inputs are not permitted" in error_text(bogus=1)


def test_restart_policy_bounds() -> None:
    assert make(restart={"fault_tolerance": True}).restart.max_restarts_per_error == 3
    assert "less than or equal to 100" in error_text(restart={"max_restarts_per_error": 101})


def test_restart_modes_not_supported_yet_are_refused_clearly() -> None:
    assert "'pod'" in error_text(restart={"restart_scope": "pod"})
    assert "not supported yet" in error_text(restart={"on_exhausted": "hold"})
