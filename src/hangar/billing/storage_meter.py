"""Storage meter: how many bytes each user, workspace and tenant keeps under ``HANGAR_HOME``,
folded into today's :class:`~hangar.billing.orm.StoragePeak` rows (spec 10 B-E2).

Owners and their host directories (the filesystem contract of
:mod:`hangar.workloads.runspec`):

- a **user**: ``users/<user id>/`` (``/work/home`` of every run and dev environment);
- a **workspace**: ``workspaces/<workspace id>/`` (``/work/share``, members' sub-directories
  included), and every directory of its workloads: ``workloads/<workload id>/`` (``/work/output``,
  checkpoints) and ``devenvs/<workload id>/`` (a dev environment's ``/work/cache`` and software
  layer, kept while it is stopped);
- a **tenant**: all of its users and workspaces together. Its row is the peak of the *sum*
  sampled at one instant, which is what storage settlement bills (moving 40 GB from a home to
  the share during the day is not billed twice; the owners' rows show who holds what).

A directory whose owner is not in the database (a deleted user, an unknown workload) is not
counted. Images (``images/``) and server state are the platform's, not an owner's.

Walking (outside any transaction): ``os.scandir`` + ``lstat``; symbolic links are never
followed (nor counted), mount points below an owner's directory are not entered (mounted
datasets are not the owner's storage), a file with several hard links counts once per owner
and once per tenant. Sizes are apparent sizes (``st_size``). The cost is bounded: at most
``max_entries`` directory entries per owner and pass; an owner cut short is recorded with
what was counted (a lower bound, logged), so the meter never over-bills.

Writing: one transaction per pass. ``peak_bytes = max(peak_bytes, now)`` is a single
``UPDATE`` (no lost update between two writers), and the row is inserted under a savepoint
when absent. A day already settled (``SettlementMark 'storage'``) is never written again: a
sample that arrives late for it is dropped and logged, so a settled day's bill never changes.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hangar.billing.orm import SettlementMark, StoragePeak
from hangar.billing.times import require_aware
from hangar.db.engine import transaction
from hangar.tenancy.orm import User, Workspace
from hangar.workloads.orm import Workload

log = logging.getLogger("hangar.billing")

MARK = "storage"
"""The :class:`SettlementMark` of storage settlement: days before it are settled."""
USER, WORKSPACE, TENANT = "user", "workspace", "tenant"
MAX_ENTRIES = 1_000_000
"""Directory entries walked per owner and pass, at most."""
_CHUNK = 500


def utc_day(at: datetime) -> str:
    """The ISO UTC calendar day of ``at`` (``YYYY-MM-DD``), as stored in ``StoragePeak.day``."""
    return require_aware(at, field="at").astimezone(UTC).date().isoformat()


@dataclass
class Usage:
    """Bytes found for one owner: files with one link summed, hard-linked files by inode."""

    single: int = 0
    linked: dict[tuple[int, int], int] = field(default_factory=dict)
    entries: int = 0
    truncated: bool = False

    @property
    def bytes(self) -> int:
        return self.single + sum(self.linked.values())

    def add(self, other: Usage) -> None:
        self.single += other.single
        self.linked.update(other.linked)
        self.entries += other.entries
        self.truncated = self.truncated or other.truncated


def walk(root: Path, usage: Usage, *, max_entries: int = MAX_ENTRIES) -> Usage:
    """Add the regular files under ``root`` to ``usage`` (see the module docstring)."""
    try:
        top = os.lstat(root)
    except OSError:
        return usage
    if not stat.S_ISDIR(top.st_mode):  # a symlink or a file in place of the directory
        return usage
    stack = [os.fspath(root)]
    while stack:
        path = stack.pop()
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if usage.entries >= max_entries:
                        usage.truncated = True
                        return usage
                    usage.entries += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:  # removed while walking
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        if st.st_dev == top.st_dev:  # never enter a mount point
                            stack.append(entry.path)
                    elif stat.S_ISREG(st.st_mode):
                        if st.st_nlink > 1:
                            usage.linked[(st.st_dev, st.st_ino)] = st.st_size
                        else:
                            usage.single += st.st_size
        except OSError:  # unreadable or removed while walking
            continue
    return usage


@dataclass(frozen=True, slots=True)
class Sample:
    owner_kind: str
    owner_id: str
    tenant_id: str
    bytes: int


@dataclass(frozen=True, slots=True)
class _Owner:
    kind: str
    id: str
    tenant_id: str
    roots: tuple[Path, ...]


def _ids(directory: Path) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def owners(session: Session, home: Path) -> list[_Owner]:
    """The owners with a directory under ``home``, each with its directories."""
    user_ids, ws_ids = _ids(home / "users"), _ids(home / "workspaces")
    workload_ids = sorted(set(_ids(home / "workloads")) | set(_ids(home / "devenvs")))
    tenant_of_user: dict[str, str] = {}
    tenant_of_ws: dict[str, str] = {}
    for chunk in _chunks(user_ids):
        tenant_of_user.update(
            (uid, tid) for uid, tid in session.execute(
                select(User.id, User.tenant_id).where(User.id.in_(chunk))
            )
        )  # fmt: skip
    ws_roots: dict[str, list[Path]] = {}
    for chunk in _chunks(ws_ids):
        for ws_id, tid in session.execute(
            select(Workspace.id, Workspace.tenant_id).where(Workspace.id.in_(chunk))
        ):
            tenant_of_ws[ws_id] = tid
            ws_roots.setdefault(ws_id, []).append(home / "workspaces" / ws_id)
    for chunk in _chunks(workload_ids):
        for wid, ws_id, tid in session.execute(
            select(Workload.id, Workload.workspace_id, Workload.tenant_id).where(
                Workload.id.in_(chunk)
            )
        ):
            tenant_of_ws.setdefault(ws_id, tid)
            ws_roots.setdefault(ws_id, []).extend(
                (home / "workloads" / wid, home / "devenvs" / wid)
            )
    result = [
        _Owner(USER, uid, tid, (home / "users" / uid,))
        for uid, tid in sorted(tenant_of_user.items())
    ]
    result += [
        _Owner(WORKSPACE, ws_id, tenant_of_ws[ws_id], tuple(roots))
        for ws_id, roots in sorted(ws_roots.items())
    ]
    return result


def measure(session_owners: Sequence[_Owner], *, max_entries: int = MAX_ENTRIES) -> list[Sample]:
    """Walk every owner's directories (no database access); one sample per owner, and one
    per tenant for the sum of its owners (hard links across owners counted once)."""
    samples: list[Sample] = []
    tenants: dict[str, Usage] = {}
    for owner in session_owners:
        usage = Usage()
        for root in owner.roots:
            walk(root, usage, max_entries=max_entries)
        if usage.truncated:
            log.warning(
                "storage meter: %s %s has more than %d entries; recorded the %d bytes counted "
                "so far (a lower bound)", owner.kind, owner.id, max_entries, usage.bytes,
            )  # fmt: skip
        samples.append(Sample(owner.kind, owner.id, owner.tenant_id, usage.bytes))
        tenants.setdefault(owner.tenant_id, Usage()).add(usage)
    samples += [Sample(TENANT, tid, tid, usage.bytes) for tid, usage in sorted(tenants.items())]
    return samples


def do_record_samples(session: Session, *, samples: Sequence[Sample], now: datetime) -> int:
    """Fold ``samples`` into the ``StoragePeak`` rows of ``now``'s UTC day, inside the
    caller's transaction. Returns the rows written; 0 if that day is already settled."""
    day = utc_day(now)
    mark = session.get(SettlementMark, MARK)
    if mark is not None and utc_day(mark.settled_until) > day:
        log.warning("storage meter: day %s is already settled; sample of %s dropped", day, now)
        return 0
    for sample in samples:
        where = (
            StoragePeak.owner_kind == sample.owner_kind,
            StoragePeak.owner_id == sample.owner_id,
            StoragePeak.day == day,
        )
        raise_peak = (
            update(StoragePeak)
            .where(*where)
            .values(
                peak_bytes=case(
                    (StoragePeak.peak_bytes < sample.bytes, sample.bytes),
                    else_=StoragePeak.peak_bytes,
                ),
                last_bytes=sample.bytes,
                sampled_at=now,
                tenant_id=sample.tenant_id,
            )
            .execution_options(synchronize_session=False)
        )
        if session.execute(raise_peak).rowcount:  # type: ignore[attr-defined]
            continue
        try:
            with session.begin_nested():
                session.add(
                    StoragePeak(
                        owner_kind=sample.owner_kind, owner_id=sample.owner_id, day=day,
                        tenant_id=sample.tenant_id, peak_bytes=sample.bytes,
                        last_bytes=sample.bytes, sampled_at=now,
                    )
                )  # fmt: skip
        except IntegrityError:  # another writer inserted it first: raise its peak instead
            session.execute(raise_peak)
    return len(samples)


class StorageMeter:
    """The loop body: list owners (short read), walk their directories (no transaction),
    then record the samples in one transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], home: Path, *, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.sessions, self.home, self.max_entries = sessions, home, max_entries

    def sample(self) -> list[Sample]:
        with self.sessions() as session:
            found = owners(session, self.home)
        return measure(found, max_entries=self.max_entries)

    def step(self, now: datetime | None = None) -> int:
        samples = self.sample()
        when = now or datetime.now(UTC)
        with transaction(self.sessions) as session:
            return do_record_samples(session, samples=samples, now=when)
