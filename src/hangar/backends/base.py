"""The backend contract (JupyterHub-Spawner style): a small base class whose docstrings are
the required behaviour. Every backend (local, slurm, kubernetes, and the misbehaving test
backends that prove the reconciler copes) implements it.

Methods are synchronous and quick (they never wait for a workload to finish); async callers
run them in a worker thread. They are called from reconcile loops, OUTSIDE database
transactions, and must be safe to repeat: the loop may crash and retry any call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from hangar.backends.inventory import Inventory
from hangar.backends.spec import NodePlacement, RunSpec
from hangar.backends.state import LogChunk, ObservedState, RunHandle

DEFAULT_LOG_CHUNK_BYTES = 1024 * 1024


class Backend(ABC):
    """Runs workloads somewhere and reports what it observes."""

    #: Stable name stored in :class:`RunHandle` (``local``, ``slurm``...).
    name: str = "abstract"

    @property
    def isolation_enabled(self) -> bool:
        """True when workloads see only their filesystem contract, not other users' files.

        When False the server must warn at start (and say :attr:`isolation_reason`).
        """
        return False

    @property
    def isolation_reason(self) -> str:
        """Why isolation is on or off, in one sentence an operator can act on."""
        return "this backend does not isolate workloads"

    @abstractmethod
    def launch(self, spec: RunSpec, placements: Sequence[NodePlacement]) -> RunHandle:
        """Start every node of ``spec`` where ``placements`` say, and return a handle.

        Must validate the placements (:func:`hangar.backends.spec.check_placements`) and
        raise :class:`LaunchRejected` for anything it cannot honour (unknown device, network
        isolation it cannot provide, missing mount path). Must be idempotent by
        ``spec.run_id``: launching a run id again with the same spec returns the same handle
        and starts only nodes that never started; a different spec under a known run id
        raises :class:`RunConflict`. Returns once every node is PENDING or further; started
        workloads must outlive the server process.
        """

    @abstractmethod
    def poll(self, handle: RunHandle) -> ObservedState:
        """Observe the run now. Never raises for a vanished run: that is Phase.LOST.

        A node is terminal only when none of its processes is left. A node that ended after
        stop() is STOPPED whatever its exit code; one that ended before stop() keeps its
        outcome. Exit codes follow the shell: 128+N when killed by signal N.
        """

    @abstractmethod
    def stop(self, handle: RunHandle, *, grace_seconds: float) -> None:
        """Ask every node to end: SIGTERM (or equivalent) now, SIGKILL after ``grace_seconds``.

        Returns without waiting for the processes to end; poll() reports STOPPED once they
        have. The escalation must happen even if the server dies right after this call.
        Calling it again is safe; a shorter grace period takes effect. Stopping a finished
        run does nothing.
        """

    @abstractmethod
    def logs(
        self,
        handle: RunHandle,
        *,
        node: int = 0,
        since_offset: int = 0,
        max_bytes: int = DEFAULT_LOG_CHUNK_BYTES,
    ) -> LogChunk:
        """Return node ``node``'s combined stdout+stderr from byte ``since_offset``.

        Live streaming: call again with ``next_offset`` until ``complete``. Full download:
        start at 0. Logs stay readable after the run ends and after a server restart.
        Raises :class:`RunNotFound` for an unknown run or node.
        """

    @abstractmethod
    def endpoint(self, handle: RunHandle, port: int, *, node: int = 0) -> str:
        """Return the base URL the server's proxy uses to reach ``port`` of ``node``.

        Raises :class:`LaunchRejected` when the run cannot be reached (network isolated).
        """

    @abstractmethod
    def inventory(self) -> Inventory:
        """Return the hosts, CPUs, memory and GPUs this backend can place work on.

        No GPU driver is not an error: the host simply has no discovered GPUs, and
        ``HostInventory.gpu_discovery`` says why.
        """

    @abstractmethod
    def adopt(self, run_ids: Iterable[str] | None = None) -> list[RunHandle]:
        """Find runs started earlier (by this or a previous server process) and return handles.

        ``run_ids`` limits the search; ids the backend does not know are left out of the
        result (the caller marks those runs LOST). ``None`` returns every run the backend
        still holds, so the caller can stop runs its database no longer knows.
        """

    @abstractmethod
    def forget(self, handle: RunHandle) -> None:
        """Delete what the backend keeps for a finished run (run directory, logs).

        Raises :class:`RunConflict` while any node is not terminal. The caller archives
        logs first if it wants to keep them.
        """
