"""Model versions as archives: a zip export streams every file back byte for byte; a version
imported from a download link to an archive (a real HTTP server on loopback) holds its files,
and bad links and hostile archives are refused keeping nothing."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.assets.blobs import BlobStore
from hangar.assets.usage import unreferenced
from tests.assets.link_server import serving
from tests.jobs.support import quiet_hangar
from tests.support import Hangar, assert_error

MODELS = "/api/v1/models"


@pytest.fixture
def h(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", db_url) as hangar:
        yield hangar


def new_model(h: Hangar, name: str = "bert") -> str:
    ws = h.default_workspace()["id"]
    return str(h.admin.call("POST", MODELS, 201, json={"workspace_id": ws, "name": name})["id"])


def test_a_version_from_a_link_exports_as_the_same_files(h: Hangar, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    weights = os.urandom(1 << 20)
    with tarfile.open(site / "bert.tar.gz", "w:gz") as tf:
        for name, data in (("model/weights.bin", weights), ("model/config.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    model = new_model(h)
    with serving(site) as url:
        v1 = h.admin.call("POST", f"{MODELS}/{model}/versions/from-link", 201,
                          json={"url": f"{url}/bert.tar.gz"})  # fmt: skip
        missing = h.admin.post(f"{MODELS}/{model}/versions/from-link",
                               json={"url": f"{url}/nope.zip"})  # fmt: skip
        assert "HTTP 404" in assert_error(missing, 422)["message"]
    assert (v1["label"], v1["source"]) == ("V1", "link")
    assert sorted(f["path"] for f in v1["manifest"]) == ["model/config.json", "model/weights.bin"]
    exported = h.admin.get(f"{MODELS}/{model}/versions/1/export")
    assert exported.status_code == 200
    assert 'filename="bert-V1.zip"' in exported.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        assert zf.read("model/weights.bin") == weights
        assert hashlib.sha256(zf.read("model/config.json")).hexdigest() == hashlib.sha256(
            b"{}").hexdigest()  # fmt: skip


def test_bad_links_and_hostile_archives_keep_nothing(h: Hangar, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "evil.zip", "w") as zf:
        zf.writestr("../../escape.bin", b"x")
    (site / "model.bin").write_bytes(b"not an archive")
    model = new_model(h)
    with serving(site) as url:
        evil = h.admin.post(f"{MODELS}/{model}/versions/from-link", json={"url": f"{url}/evil.zip"})
        assert_error(evil, 422)
        plain = h.admin.post(f"{MODELS}/{model}/versions/from-link",
                             json={"url": f"{url}/model.bin"})  # fmt: skip
        assert "must point to an archive" in assert_error(plain, 422)["message"]
    ftp = h.admin.post(f"{MODELS}/{model}/versions/from-link", json={"url": "ftp://x/y.zip"})
    assert_error(ftp, 422)
    assert h.admin.call("GET", f"{MODELS}/{model}")["versions"] == []
    assert not (tmp_path / "escape.bin").exists()
    with h.state.sessions() as session:
        assert unreferenced(session, BlobStore(h.settings.home / "blobs")) == []
    assert list((h.settings.home / "blobs" / "tmp").glob("link-*")) == []
