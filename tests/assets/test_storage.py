"""The platform's own storage: content-addressed blobs (once per content, atomic, limits and
checksums keep nothing on failure), manifests built from and materialised into folders with
every path checked, and per-tenant usage on a real database."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hangar.assets.blobs import BlobStore
from hangar.assets.manifests import Manifest, build, materialize, safe_path
from hangar.assets.orm import BlobRef
from hangar.assets.usage import do_reference, do_release, unreferenced, used_bytes
from hangar.db.engine import transaction
from hangar.errors import Conflict, ValidationFailed
from tests.jobs.support import quiet_hangar
from tests.support import Hangar


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def blob_files(store: BlobStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file() and p.parent != store.tmp]


def test_identical_bytes_are_stored_once_read_only(store: BlobStore) -> None:
    first = store.put([b"weights", b"-v1"])
    second = store.put([b"weights-v1"])
    assert first == second and first.sha256 == hashlib.sha256(b"weights-v1").hexdigest()
    [only] = blob_files(store)
    assert (
        only.read_bytes() == b"weights-v1" and not os.access(only, os.W_OK)
    ) or os.geteuid() == 0
    assert oct(only.stat().st_mode & 0o777) == "0o444"


def test_a_limit_or_a_wrong_checksum_keeps_nothing(store: BlobStore) -> None:
    with pytest.raises(ValidationFailed, match="larger than the limit of 10 bytes"):
        store.put([b"0123456789", b"x"], limit=10)
    with pytest.raises(ValidationFailed, match="corrupted or incomplete"):
        store.put([b"model"], expect="0" * 64)
    assert blob_files(store) == [] and list(store.tmp.iterdir()) == []
    assert store.put([b"model"], expect=hashlib.sha256(b"model").hexdigest()).size == 5


def test_a_crash_leftover_is_swept(store: BlobStore) -> None:
    leftover = store.tmp / "put-crashed"
    leftover.write_bytes(b"half")
    os.utime(leftover, (0, 0))
    assert store.sweep_temporary() == 1 and not leftover.exists()


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "", "a/../../b", "./", "..\\..\\w"])
def test_unsafe_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        safe_path(bad)
    with pytest.raises(ValidationFailed):
        Manifest.from_json([{"path": bad, "sha256": "0" * 64, "size": 1}])


def test_a_folder_round_trips_with_dedup_links_and_modes(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "weights.bin").write_bytes(b"w" * 1000)
    (src / "sub" / "copy.bin").write_bytes(b"w" * 1000)  # identical content
    (src / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (src / "run.sh").chmod(0o755)
    (src / "alias.bin").symlink_to("weights.bin")  # inside the tree: its file is taken
    manifest = build(store, src)
    assert [e.path for e in manifest.entries] == ["alias.bin", "run.sh", "sub/copy.bin",
                                                   "weights.bin"]  # fmt: skip
    assert len(manifest.blobs) == 2 and len(blob_files(store)) == 2
    assert Manifest.from_json(manifest.to_json()) == manifest
    out = tmp_path / "mounted"
    materialize(store, manifest, out)
    assert (out / "sub" / "copy.bin").read_bytes() == b"w" * 1000
    assert (out / "weights.bin").stat().st_nlink >= 3  # linked to the blob, not copied
    assert os.access(out / "run.sh", os.X_OK)
    assert oct((out / "sub").stat().st_mode & 0o777) == "0o555"
    with pytest.raises(FileExistsError):
        materialize(store, manifest, out)


def test_links_out_of_the_folder_and_special_files_are_refused(
    store: BlobStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("tenant B's data")
    src = tmp_path / "upload"
    src.mkdir()
    (src / "innocent.txt").symlink_to(secret)
    with pytest.raises(ValidationFailed, match="a link pointing outside the folder"):
        build(store, src)
    (src / "innocent.txt").unlink()
    (src / "dir").symlink_to(tmp_path)
    with pytest.raises(ValidationFailed, match="a link to a directory"):
        build(store, src)
    (src / "dir").unlink()
    os.mkfifo(src / "pipe")
    with pytest.raises(ValidationFailed, match="not a regular file"):
        build(store, src)
    assert blob_files(store) == []


@pytest.fixture
def quiet(tmp_path: Path, any_db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", any_db_url) as h:
        yield h


def test_usage_counts_distinct_blobs_per_tenant_with_a_quota(
    quiet: Hangar, store: BlobStore, tmp_path: Path
) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "a.bin").write_bytes(b"a" * 600)
    (tmp_path / "v1" / "b.bin").write_bytes(b"b" * 400)
    v1 = build(store, tmp_path / "v1")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "a.bin").write_bytes(b"a" * 600)  # shared with V1
    (tmp_path / "v2" / "c.bin").write_bytes(b"c" * 300)
    v2 = build(store, tmp_path / "v2")
    sessions = quiet.state.sessions
    with transaction(sessions) as session:
        assert do_reference(session, tenant_id="t1", manifest=v1, quota_bytes=1500) == 1000
        assert do_reference(session, tenant_id="t2", manifest=v1) == 1000  # charged to both
    with transaction(sessions) as session, pytest.raises(Conflict, match="holds 1,000 bytes"):
        do_reference(session, tenant_id="t1", manifest=v2, quota_bytes=1200)
    with transaction(sessions) as session:
        assert do_reference(session, tenant_id="t1", manifest=v2, quota_bytes=1500) == 300
        assert used_bytes(session, tenant_id="t1") == 1300
        assert do_release(session, tenant_id="t1", manifest=v1) == 400  # a.bin still in V2
        assert do_release(session, tenant_id="t2", manifest=v1) == 1000
        assert used_bytes(session, tenant_id="t1") == 900
        refs = session.scalars(select(BlobRef).where(BlobRef.tenant_id == "t1")).all()
        assert sorted(r.size for r in refs) == [300, 600]
        assert unreferenced(session, store) == [hashlib.sha256(b"b" * 400).hexdigest()]
