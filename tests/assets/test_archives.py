"""Archive attacks (issue 7): path traversal, absolute paths, links pointing out, a zip bomb,
an oversized or overfull archive — each refused with a clear error and nothing written, the
target included; a good zip and tar.gz extract whole."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from hangar.assets.archives import Limits, extract
from hangar.errors import ValidationFailed


def make_zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo("link")
            info.external_attr = 0o120777 << 16
            zf.writestr(info, symlink)
    return path


def make_tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None,
             hard: bool = False) -> Path:  # fmt: skip
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def everything(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def refused(archive: Path, target: Path, match: str, limits: Limits = Limits()) -> None:
    before = everything(archive.parent)
    with pytest.raises(ValidationFailed, match=match):
        extract(archive, target, limits)
    assert not target.exists()
    assert everything(archive.parent) == before  # nothing written anywhere


def test_a_good_zip_and_tar_extract_whole(tmp_path: Path) -> None:
    files = {"data/train.jsonl": b'{"q": 1}\n', "README.md": b"hi", "data/img/": b""}
    done = extract(make_zip(tmp_path / "a.zip", files), tmp_path / "zip-out")
    assert done.files == 2 and (tmp_path / "zip-out" / "data" / "train.jsonl").read_bytes()
    tar = make_tar(tmp_path / "b.tar.gz", {"x/y.txt": b"yes"})
    assert extract(tar, tmp_path / "tar-out").bytes == 3
    assert (tmp_path / "tar-out" / "x" / "y.txt").read_text() == "yes"


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt",
                                  "..\\evil.txt", "C:/evil.txt"])  # fmt: skip
def test_paths_escaping_the_target_are_refused(tmp_path: Path, name: str) -> None:
    work = tmp_path / "w"
    work.mkdir()
    refused(make_zip(work / "x.zip", {"ok.txt": b"1", name: b"pwned"}), work / "out",
            "outside the target|Windows path")  # fmt: skip
    refused(make_tar(work / "x.tar.gz", {name: b"pwned"}), work / "out", "outside|Windows")
    assert not Path("/tmp/evil.txt").exists()


def test_links_are_refused(tmp_path: Path) -> None:
    refused(make_zip(tmp_path / "s.zip", {"a": b"1"}, symlink="/etc/passwd"),
            tmp_path / "out", "a symbolic link")  # fmt: skip
    refused(make_tar(tmp_path / "s.tar.gz", {}, links={"pw": "/etc/passwd"}), tmp_path / "out",
            "a link")  # fmt: skip
    refused(make_tar(tmp_path / "h.tar.gz", {"a": b"1"}, links={"b": "a"}, hard=True),
            tmp_path / "out", "a link")  # fmt: skip


def test_a_zip_bomb_is_refused_by_ratio_and_by_size(tmp_path: Path) -> None:
    bomb = make_zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (64 * 1024 * 1024)})
    assert bomb.stat().st_size < 200_000
    refused(bomb, tmp_path / "out", "decompression bomb")
    refused(bomb, tmp_path / "out", "expands to more than 1,048,576 bytes",
            Limits(max_bytes=1024 * 1024, max_ratio=10**9))  # fmt: skip


def test_too_many_files_and_non_archives_are_refused(tmp_path: Path) -> None:
    many = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(20)})
    refused(many, tmp_path / "out", "more than 10 files", Limits(max_files=10))
    (tmp_path / "notes.rar").write_bytes(b"Rar!")
    refused(tmp_path / "notes.rar", tmp_path / "out", "not an archive Hangar reads")
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    refused(tmp_path / "fake.zip", tmp_path / "out", "not a zip")


def test_special_files_in_a_tar_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "fifo.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("pipe")
        info.type = tarfile.FIFOTYPE
        tf.addfile(info)
    refused(path, tmp_path / "out", "not a regular file")
    assert [p.name for p in tmp_path.iterdir()] == ["fifo.tar.gz"]
