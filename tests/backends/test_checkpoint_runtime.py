"""The checkpoint helper workloads use (hangar.runtimes.checkpoint), alone and inside a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hangar.backends import Phase
from hangar.backends.local.backend import LocalBackend
from hangar.runtimes import checkpoint
from tests.backends.support import launch, make_spec, read_log, wait_finished


def test_latest_ignores_partial_and_temporary_checkpoints(tmp_path: Path) -> None:
    checkpoint.save(b"one", 1, root=tmp_path)
    checkpoint.save(b"two", 2, root=tmp_path)
    (tmp_path / "step-3").mkdir()  # crashed mid-write: no COMPLETE marker
    (tmp_path / "step-3/state.bin").write_bytes(b"half")
    (tmp_path / ".tmp-step-4-123-abcd").mkdir()  # crashed before the rename
    (tmp_path / "notes").mkdir()

    found = checkpoint.latest(tmp_path)

    assert found is not None and found.step == 2 and found.read_bytes() == b"two"
    assert [c.step for c in checkpoint.complete_checkpoints(tmp_path)] == [1, 2]


def test_objects_roundtrip_and_steps_are_replaced(tmp_path: Path) -> None:
    checkpoint.save({"weights": [1, 2, 3], "lr": 0.1}, 10, root=tmp_path)
    checkpoint.save({"weights": [4], "lr": 0.01}, 10, root=tmp_path)
    found = checkpoint.latest(tmp_path)
    assert found is not None and found.load()["weights"] == [4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-10"]


def test_keep_prunes_old_checkpoints(tmp_path: Path) -> None:
    for step in range(5):
        checkpoint.save(bytes([step]), step, root=tmp_path, keep=2)
    assert [c.step for c in checkpoint.complete_checkpoints(tmp_path)] == [3, 4]


def test_root_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(checkpoint.ENV_VAR, raising=False)
    with pytest.raises(RuntimeError, match=checkpoint.ENV_VAR):
        checkpoint.latest()
    monkeypatch.setenv(checkpoint.ENV_VAR, str(tmp_path / "ckpt"))
    assert checkpoint.latest() is None
    checkpoint.save(b"x", 7)
    assert (tmp_path / "ckpt/step-7/COMPLETE").is_file()


WORKLOAD = """
import json, os
from hangar.runtimes import checkpoint
before = checkpoint.latest()
for step in (1, 2, 3):
    checkpoint.save({"step": step}, step)
partial = os.path.join(os.environ["HANGAR_CHECKPOINT_DIR"], "step-4")
os.makedirs(partial)
open(os.path.join(partial, "state.pkl"), "wb").write(b"torn")
print(json.dumps({"before": before and before.step, "after": checkpoint.latest().step}))
"""


def test_a_run_checkpoints_through_the_helper(any_backend: LocalBackend, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, ["python", "-c", WORKLOAD])
    handle = launch(any_backend, spec)
    state = wait_finished(any_backend, handle)
    log = read_log(any_backend, handle)
    assert state.phase is Phase.SUCCEEDED, log
    assert json.loads(log) == {"before": None, "after": 3}
    found = checkpoint.latest(spec.output_dir / "checkpoints")
    assert found is not None and found.step == 3 and found.load() == {"step": 3}
