"""A version's manifest: its files as ``(relative path, blob, mode)`` entries.

Built from a directory (every regular file stored as a blob; identical files stored once),
materialised into a directory as a read-only tree of hard links to the blobs (a copy for
executables, and where the file system cannot link). Paths are checked both ways: a manifest
never names an absolute path, ``..``, or anything that resolves outside its target, and
building refuses a symlink that points outside the source tree (one inside is followed as the
file it names) and special files.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hangar.assets.blobs import BlobStore
from hangar.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Entry:
    path: str  # relative, POSIX, normalised
    sha256: str
    size: int
    executable: bool = False


@dataclass(frozen=True, slots=True)
class Manifest:
    entries: tuple[Entry, ...]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def blobs(self) -> dict[str, int]:
        """Distinct blobs and their sizes (what the version stores)."""
        return {e.sha256: e.size for e in self.entries}

    def to_json(self) -> list[dict[str, object]]:
        return [
            {"path": e.path, "sha256": e.sha256, "size": e.size, "executable": e.executable}
            for e in self.entries
        ]

    @classmethod
    def from_json(cls, data: list[dict[str, object]]) -> Manifest:
        return cls(
            tuple(
                Entry(safe_path(str(d["path"])), str(d["sha256"]), int(str(d["size"])),
                      bool(d.get("executable", False)))
                for d in data
            )
        )  # fmt: skip


def safe_path(raw: str, *, field: str = "path") -> str:
    """``raw`` as a normalised relative POSIX path, or a 422 naming what is wrong with it."""
    path = PurePosixPath(raw.replace("\\", "/"))
    if not raw or path.is_absolute() or raw.startswith("/"):
        raise ValidationFailed.field(field, f"{raw!r} must be a relative path")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValidationFailed.field(field, f"{raw!r} must not contain '..' or be empty")
    return "/".join(parts)


def build(store: BlobStore, source: Path, *, limit: int | None = None) -> Manifest:
    """Store every file under ``source`` and return the manifest (sorted by path)."""
    root = source.resolve()
    entries = []
    total = 0
    for file, rel in _walk(root):
        blob = store.put_file(file)
        total += blob.size
        if limit is not None and total > limit:
            raise ValidationFailed.field(
                "files", f"more than the limit of {limit:,} bytes in all; nothing was published"
            )
        executable = bool(file.stat().st_mode & stat.S_IXUSR)
        entries.append(Entry(rel, blob.sha256, blob.size, executable))
    return Manifest(tuple(sorted(entries, key=lambda e: e.path)))


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                raise ValidationFailed.field(
                    "files", f"{(here / name).relative_to(root)}: a link to a directory; copy "
                    "the files instead",
                )  # fmt: skip
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            target = path.resolve()
            if not target.is_relative_to(root):
                raise ValidationFailed.field(
                    "files", f"{rel}: a link pointing outside the folder ({target}); refused"
                )
            if not target.is_file():
                raise ValidationFailed.field("files", f"{rel}: not a regular file")
            yield target, safe_path(rel)


def materialize(store: BlobStore, manifest: Manifest, target: Path) -> None:
    """Write ``manifest`` as a tree under ``target`` (which must not exist): hard links to the
    blobs, read-only (0444, 0555 for executables), directories 0555 once filled."""
    target.mkdir(parents=True)
    root = target.resolve()
    made: list[Path] = []
    for entry in manifest.entries:
        dest = (root / safe_path(entry.path)).resolve()
        if not dest.is_relative_to(root):
            raise ValidationFailed.field("path", f"{entry.path!r} resolves outside the target")
        dest.parent.mkdir(parents=True, exist_ok=True)
        made.append(dest.parent)
        blob = store.path(entry.sha256)
        try:
            if entry.executable:  # a link shares the blob's mode (0444): copy to run it
                raise OSError("executable")
            os.link(blob, dest)
        except OSError:
            shutil.copyfile(blob, dest)
            dest.chmod(0o555 if entry.executable else 0o444)
    for folder in sorted(set(made), key=lambda p: len(p.parts), reverse=True):
        folder.chmod(0o555)
