"""Crash-safe checkpoints for workloads: ``save()`` and "the last complete one", ``latest()``.

Contract (what fault-tolerant restarts rely on):

* **Where**: ``$HANGAR_CHECKPOINT_DIR``, set by every backend to ``<output>/checkpoints``. The
  platform gives every restart of a job the same output area, so a restarted run finds the
  checkpoints of the run before it.
* **Layout**: ``step-<n>/`` holding one payload file (``state.bin`` for bytes, ``state.pt`` for
  ``torch.save`` when torch is in use, ``state.pkl`` otherwise), ``meta.json`` and, last of
  all, an empty ``COMPLETE`` marker.
* **Commit point**: a checkpoint exists only once ``COMPLETE`` does. ``save()`` writes into a
  hidden temporary directory, fsyncs every file and the directory, renames it to
  ``step-<n>``, and only then writes ``COMPLETE`` (temporary file, fsync, rename, fsync).
  A crash at any instant leaves either the previous complete checkpoint or a new complete
  one; never a half-written checkpoint that looks whole.
* **Reading**: ``latest()`` returns the highest complete step, ignoring partial directories
  (no ``COMPLETE``), temporary directories and anything else. Only load checkpoints you
  wrote: non-bytes payloads are pickles.

Standard library only; torch is used if (and only if) the workload already imported it.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENV_VAR = "HANGAR_CHECKPOINT_DIR"
COMPLETE = "COMPLETE"
META = "meta.json"
STEP_DIR = re.compile(r"^step-(\d+)$")
PAYLOAD = {"bytes": "state.bin", "torch": "state.pt", "pickle": "state.pkl"}


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint."""

    step: int
    path: Path
    format: str

    @property
    def payload_path(self) -> Path:
        return self.path / PAYLOAD[self.format]

    def read_bytes(self) -> bytes:
        return self.payload_path.read_bytes()

    def load(self, **torch_load_kwargs: Any) -> Any:
        """The saved object: bytes as saved, else unpickled (``torch.load`` for torch)."""
        if self.format == "bytes":
            return self.read_bytes()
        if self.format == "torch":
            torch = importlib.import_module("torch")
            return torch.load(self.payload_path, **torch_load_kwargs)
        with self.payload_path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - the workload's own checkpoint


def checkpoint_root(root: str | Path | None = None) -> Path:
    """``root``, else ``$HANGAR_CHECKPOINT_DIR``; created if missing."""
    value = root if root is not None else os.environ.get(ENV_VAR)
    if not value:
        raise RuntimeError(f"{ENV_VAR} is not set: run inside Hangar or pass root=")
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(
    state: Any, step: int, *, root: str | Path | None = None, keep: int | None = None
) -> Checkpoint:
    """Save ``state`` (bytes, a state dict, any picklable object) as step ``step``.

    Saving a step again replaces it. ``keep`` keeps only the newest ``keep`` complete
    checkpoints (and drops partial ones older than them).
    """
    if step < 0:
        raise ValueError("step must be >= 0")
    base = checkpoint_root(root)
    fmt = _format_of(state)
    tmp = base / f".tmp-step-{step}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        _write_payload(tmp / PAYLOAD[fmt], state, fmt)
        meta = {"step": step, "format": fmt, "saved_at": datetime.now(UTC).isoformat()}
        _write_durably(tmp / META, json.dumps(meta).encode())
        _fsync_dir(tmp)
        final = base / f"step-{step}"
        if final.exists():
            old = base / f".old-step-{step}-{secrets.token_hex(4)}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
        _fsync_dir(base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    marker = final / f".{COMPLETE}.tmp"
    _write_durably(marker, b"")
    marker.rename(final / COMPLETE)
    _fsync_dir(final)
    if keep is not None:
        prune(keep=keep, root=base)
    return Checkpoint(step=step, path=final, format=fmt)


def complete_checkpoints(root: str | Path | None = None) -> list[Checkpoint]:
    """Every complete checkpoint, oldest step first."""
    base = checkpoint_root(root)
    found = []
    for entry in base.iterdir():
        match = STEP_DIR.match(entry.name)
        if not match or not (entry / COMPLETE).is_file():
            continue
        try:
            fmt = json.loads((entry / META).read_text())["format"]
        except (OSError, ValueError, KeyError):
            continue
        if fmt in PAYLOAD and (entry / PAYLOAD[fmt]).is_file():
            found.append(Checkpoint(step=int(match.group(1)), path=entry, format=fmt))
    return sorted(found, key=lambda c: c.step)


def latest(root: str | Path | None = None) -> Checkpoint | None:
    """The complete checkpoint with the highest step, or None."""
    done = complete_checkpoints(root)
    return done[-1] if done else None


def prune(*, keep: int, root: str | Path | None = None) -> None:
    """Keep the newest ``keep`` complete checkpoints; drop older and older-partial ones."""
    if keep < 1:
        raise ValueError("keep must be >= 1")
    base = checkpoint_root(root)
    done = complete_checkpoints(base)
    if len(done) <= keep:
        return
    oldest_kept = done[-keep].step
    for entry in base.iterdir():
        match = STEP_DIR.match(entry.name)
        if match and int(match.group(1)) < oldest_kept:
            shutil.rmtree(entry, ignore_errors=True)


def _format_of(state: Any) -> str:
    if isinstance(state, bytes | bytearray | memoryview):
        return "bytes"
    return "torch" if "torch" in sys.modules else "pickle"


def _write_payload(path: Path, state: Any, fmt: str) -> None:
    if fmt == "bytes":
        _write_durably(path, bytes(state))
        return
    with path.open("wb") as fh:
        if fmt == "torch":
            sys.modules["torch"].save(state, fh)
        else:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
