"""Extracting uploaded archives safely (spec 07 import "by archive", issue 7 archive attacks).

``extract(archive, target)`` unpacks a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``,
``.tar.bz2`` or ``.tar.xz`` into ``target`` (which must not exist) or refuses the whole
archive with a 422 naming the member and the rule:

- every member path is relative and stays inside the target (no absolute paths, no ``..``,
  no drive letters or backslash tricks);
- no links of any kind (symbolic or hard) and no device files or FIFOs: an archive delivers
  regular files and folders only, so nothing can point outside the target;
- at most ``max_files`` members and ``max_bytes`` uncompressed (decision G5: 10 GB by
  default), counted on the bytes actually written, since a zip's declared sizes can lie;
- an uncompressed / compressed ratio of at most ``max_ratio`` (a zip bomb expands thousands
  of times).

Members are written into a temporary folder beside the target, which is renamed into place
only when every member passed: a refused archive leaves nothing behind.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

from hangar.assets.manifests import safe_path
from hangar.errors import ValidationFailed

GB = 1024**3
Opener = Callable[[], IO[bytes]]
CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 10 * GB  # G5
    max_files: int = 100_000
    max_ratio: int = 200


@dataclass(frozen=True, slots=True)
class Extracted:
    files: int
    bytes: int


def extract(archive: Path, target: Path, limits: Limits = Limits()) -> Extracted:
    """Unpack ``archive`` into ``target`` or refuse it whole (see the module notes)."""
    if target.exists():
        raise ValidationFailed.field("target", f"{target} exists already")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".extract-"))
    try:
        result = _extract_into(archive, staging, limits)
        staging.rename(target)
        return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _extract_into(archive: Path, root: Path, limits: Limits) -> Extracted:
    compressed = max(1, archive.stat().st_size)
    written = files = 0
    for member, stream in _members(archive):
        rel = _checked(member, limits)
        dest = root / rel
        if member.endswith("/"):
            dest.mkdir(parents=True, exist_ok=True)
            continue
        files += 1
        if files > limits.max_files:
            raise ValidationFailed.field(
                "archive", f"more than {limits.max_files:,} files; split it into several"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        with stream() as src, dest.open("wb") as out:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > limits.max_bytes:
                    raise ValidationFailed.field(
                        "archive", f"expands to more than {limits.max_bytes:,} bytes "
                        f"(at {rel}); nothing was imported",
                    )  # fmt: skip
                if written > limits.max_ratio * compressed:
                    raise ValidationFailed.field(
                        "archive", f"expands more than {limits.max_ratio}× its size (at {rel}): "
                        "refused as a decompression bomb; nothing was imported",
                    )  # fmt: skip
                out.write(chunk)
    return Extracted(files, written)


def _checked(name: str, limits: Limits) -> str:
    if "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise ValidationFailed.field("archive", f"{name!r}: a Windows path; use '/' and no drive")
    try:
        return safe_path(name.rstrip("/")) + ("/" if name.endswith("/") else "")
    except ValidationFailed:
        raise ValidationFailed.field(
            "archive", f"{name!r}: an absolute path or '..' would write outside the target"
        ) from None


def _members(archive: Path) -> Iterator[tuple[str, Opener]]:
    name = archive.name.lower()
    if name.endswith(".zip"):
        yield from _zip_members(archive)
    elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        yield from _tar_members(archive)
    else:
        raise ValidationFailed.field(
            "archive", f"{archive.name}: not an archive Hangar reads (.zip, .tar, .tar.gz, "
            ".tgz, .tar.bz2, .tar.xz)",
        )  # fmt: skip


def _tar_file(tf: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    stream = tf.extractfile(info)
    if stream is None:
        raise ValidationFailed.field("archive", f"{info.name!r} could not be read")
    return stream


def _zip_members(archive: Path) -> Iterator[tuple[str, Opener]]:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise ValidationFailed.field(
            "archive", f"{archive.name}: not a valid zip ({err})"
        ) from None
    with zf:
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o170000
            if mode in (0o120000,):
                raise ValidationFailed.field(
                    "archive", f"{info.filename!r}: a symbolic link; archives may hold regular "
                    "files and folders only",
                )  # fmt: skip
            if mode not in (0, 0o100000, 0o040000):
                raise ValidationFailed.field("archive", f"{info.filename!r}: not a regular file")
            yield info.filename, partial(zf.open, info)


def _tar_members(archive: Path) -> Iterator[tuple[str, Opener]]:
    try:
        tf = tarfile.open(archive)  # noqa: SIM115 - closed by the with below
    except tarfile.TarError as err:
        raise ValidationFailed.field(
            "archive", f"{archive.name}: not a valid tar ({err})"
        ) from None
    with tf:
        for info in tf:
            if info.issym() or info.islnk():
                raise ValidationFailed.field(
                    "archive", f"{info.name!r}: a link ({info.linkname!r}); archives may hold "
                    "regular files and folders only",
                )  # fmt: skip
            if info.isdir():
                yield info.name.rstrip("/") + "/", io.BytesIO
                continue
            if not info.isfile():
                raise ValidationFailed.field("archive", f"{info.name!r}: not a regular file")
            yield info.name, partial(_tar_file, tf, info)
