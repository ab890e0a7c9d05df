"""Moving assets in and out as archives: a zip streamed while it is written (exports), and an
archive fetched from a link (imports by URL), both bounded and safe."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx

from hangar.assets import archives
from hangar.assets.blobs import BlobStore
from hangar.assets.manifests import Entry
from hangar.errors import ValidationFailed

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
CHUNK = 1024 * 1024


def archive_suffix(name: str) -> str | None:
    lower = name.lower()
    return next((s for s in ARCHIVE_SUFFIXES if lower.endswith(s)), None)


def zip_stream(store: BlobStore, entries: Iterable[Entry]) -> Iterator[bytes]:
    """The files of a manifest as a zip archive, produced piece by piece (never whole in
    memory); ``ZIP_DEFLATED`` with zip64 for members over 4 GiB."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.path)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if entry.executable else 0o644) << 16
            with store.open(entry.sha256) as src, zf.open(info, "w", force_zip64=True) as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                    yield pipe.take()
    yield pipe.take()


class _Pipe(io.RawIOBase):
    """A write-only, unseekable buffer a zip is streamed through."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._chunks = b"".join(self._chunks), []
        return out


def fetch_archive(url: str, folder: Path, *, field: str = "url") -> Path:
    """Download an archive by HTTP(S) link into ``folder`` (at most the archive limit, G5)."""
    if not url.startswith(("http://", "https://")):
        raise ValidationFailed.field(field, "must be an http:// or https:// link to an archive")
    suffix = archive_suffix(url.split("?", 1)[0])
    if suffix is None:
        raise ValidationFailed.field(
            field, f"must point to an archive ({', '.join(ARCHIVE_SUFFIXES)})"
        )
    target = folder / ("archive" + suffix)
    limit = archives.Limits().max_bytes
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            if response.status_code != 200:
                raise ValidationFailed.field(
                    field, f"the link answered HTTP {response.status_code}: check it is public"
                )
            size = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise ValidationFailed.field(field, "the archive is over 10 GB (G5)")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise ValidationFailed.field(field, f"could not be fetched: {exc}") from None
    return target


def attachment(filename: str) -> dict[str, str]:
    """A Content-Disposition header for a download named ``filename`` (any characters)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {
        "Content-Disposition": f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(filename)}"
    }
