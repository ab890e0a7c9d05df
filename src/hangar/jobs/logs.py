"""Per-node logs of a run, live (by polling offsets) and as a whole download (spec 04 §3).

A run's node rows carry the backend handle of its *current* attempt; each fault-tolerant
restart is a fresh launch under a new backend run id (:func:`runspec.attempt_id`), so older
attempts' logs stay readable by attempt number. Backend calls happen outside the database
session: the route reads the job in its transaction and calls these afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.backends.base import Backend
from hangar.backends.state import RunHandle
from hangar.errors import HangarError, NotFound
from hangar.jobs.schemas import LogChunkRead
from hangar.workloads import runspec
from hangar.workloads.orm import Run, RunNode, Workload

CHUNK_BYTES = 256 * 1024
_LEADS = {2: (5, 0b110), 3: (4, 0b1110), 4: (3, 0b11110)}  # sequence length: lead-byte prefix


def attempt_id(run: Run, attempt: int) -> str:
    """The backend run id of attempt ``attempt`` (0 = first launch) of ``run``.

    Must agree with :func:`hangar.workloads.runspec.attempt_id` for the current attempt.
    """
    return f"{run.id}-a{attempt}"


def attempt_handles(run: Run, current: RunHandle) -> list[RunHandle]:
    """Handles of every attempt of ``run``, oldest first, shaped like ``current``."""
    return [
        RunHandle(backend=current.backend, run_id=attempt_id(run, i), node_count=current.node_count)
        for i in range(run.restarts + 1)
    ]


@dataclass(frozen=True)
class LogTarget:
    """Where one node's log of one attempt is: None while the run has not launched."""

    run_id: str
    node: int
    attempt: int
    handle: RunHandle | None
    finished: bool


def log_target(
    session: Session, *, job: Workload, run_id: str, node: int, attempt: int | None
) -> LogTarget:
    """Resolve run, node and attempt of ``job``; unknown ones are 404 naming what exists."""
    run = session.get(Run, run_id)
    if run is None or run.workload_id != job.id:
        raise NotFound(
            f"run '{run_id}' not found in job '{job.name}'; the job's details list its runs",
            fields={"run_id": "unknown run"},
            kind="run",
            id=run_id,
        )
    ranks = list(
        session.scalars(select(RunNode).where(RunNode.run_id == run.id).order_by(RunNode.rank))
    )
    row = next((n for n in ranks if n.rank == node), None)
    if row is None:
        have = f"0-{len(ranks) - 1}" if ranks else "none yet"
        raise NotFound(
            f"node {node} not found in run {run.number} of job '{job.name}' (nodes: {have})",
            fields={"node": "unknown node"},
            kind="node",
            id=str(node),
        )
    chosen = run.restarts if attempt is None else attempt
    if not 0 <= chosen <= run.restarts:
        raise NotFound(
            f"attempt {chosen} not found: run {run.number} has attempts 0-{run.restarts}",
            fields={"attempt": "unknown attempt"},
            kind="attempt",
            id=str(chosen),
        )
    handle = None
    if row.handle.get("run_id"):
        stored = RunHandle.from_dict(row.handle)
        handle = attempt_handles(run, stored)[chosen]
        if chosen == run.restarts and stored.run_id != runspec.attempt_id(run):
            handle = None  # the current attempt has not launched yet
    return LogTarget(run.id, node, chosen, handle, run.finished_at is not None)


def read_chunk(
    backend: Backend, target: LogTarget, *, offset: int, max_bytes: int = CHUNK_BYTES
) -> LogChunkRead:
    """Text from ``offset``; never splits a UTF-8 character (the rest comes next time)."""
    if target.handle is None:
        return LogChunkRead(
            run_id=target.run_id, node=target.node, attempt=target.attempt, offset=offset,
            next_offset=offset, complete=target.finished, data="",
        )  # fmt: skip
    chunk = backend.logs(target.handle, node=target.node, since_offset=offset, max_bytes=max_bytes)
    keep = len(chunk.data) if chunk.complete else utf8_prefix(chunk.data)
    end = chunk.offset + keep
    return LogChunkRead(
        run_id=target.run_id, node=target.node, attempt=target.attempt, offset=chunk.offset,
        next_offset=end, complete=chunk.complete and end == chunk.next_offset,
        data=chunk.data[:keep].decode("utf-8", errors="replace"),
    )  # fmt: skip


def utf8_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 sequence."""
    end = len(data)
    cont = 0
    while cont < 3 and end - cont > 0 and data[end - cont - 1] & 0xC0 == 0x80:
        cont += 1
    if end - cont == 0:
        return end  # only continuation bytes: not UTF-8 text, pass it on as it is
    lead = data[end - cont - 1]
    need = next((n for n, (shift, bits) in _LEADS.items() if lead >> shift == bits), 1)
    return end - cont - 1 if need > cont + 1 else end


def open_stream(backend: Backend, target: LogTarget) -> Iterator[bytes]:
    """The whole log as it is now, chunk by chunk (for a download).

    The first chunk is read here, before any byte is sent, so that a missing run is still a
    clean 404 rather than a response broken off half-way.
    """
    if target.handle is None:
        return iter(())
    handle = target.handle
    first = backend.logs(handle, node=target.node, since_offset=0)

    def rest() -> Iterator[bytes]:
        chunk = first
        while chunk.data:
            yield chunk.data
            chunk = backend.logs(handle, node=target.node, since_offset=chunk.next_offset)

    return rest()


def forget(backend: Backend, handles: list[RunHandle]) -> None:
    """Delete what the backend keeps of a deleted job's runs; missing runs are fine."""
    for handle in handles:
        try:
            backend.forget(handle)
        except HangarError:
            continue  # still running (never for a finished job) or already gone
