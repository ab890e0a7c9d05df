"""``client.datasets`` and ``client.storages`` against a live server: folder imports keep
relative names (sub-folders, duplicates, hidden files), progress is reported, row errors come
back in the report, records are annotated and a published version streams back."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from hangar.client import HangarAPIError, HangarClient, HangarLookupError
from hangar.client.datasets import folder_files

ROWS = [{"instruction": "Add", "input": "1+1", "output": "2"},
        {"instruction": "Greet", "input": "", "output": "hello"}]  # fmt: skip


def jsonl(rows: list[dict[str, str]]) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def test_folder_import_annotate_publish_export(admin: HangarClient, tmp_path: Path) -> None:
    ws = next(w.id for w in admin.workspaces.list() if w.is_default)
    made = admin.datasets.create_annotated(workspace_id=ws, name="sdk-sft", data_type="llm",
                                           template="sft")  # fmt: skip
    assert [v.label for v in made.versions] == ["1.0"]
    assert admin.datasets.find("sdk-sft", workspace=ws).id == made.id
    folder = tmp_path / "data"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "train.jsonl").write_text(jsonl(ROWS))
    (folder / "copy.jsonl").write_text(jsonl(ROWS))
    (folder / ".DS_Store").write_text("junk")
    assert [n for n, _ in folder_files(folder)] == ["a/b/train.jsonl", "copy.jsonl"]
    sent: list[int] = []
    version = admin.datasets.import_folder(made.id, "1.0", folder, progress=sent.append)
    assert sum(sent) == 2 * len(jsonl(ROWS))
    assert version.records == 2 and version.report["duplicates_skipped"] == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(jsonl([{"instruction": "no output"}]))
    refused = admin.datasets.import_files(made.id, "1.0", [("x/bad.jsonl", bad)])
    [error] = refused.report["errors"]
    assert (error["file"], error["row"], error["field"]) == ("x/bad.jsonl", 1, "output")
    assert admin.datasets.get(made.id).status == "import_failed"

    first = admin.datasets.records(made.id, "1.0", limit=1)[0]
    note = admin.datasets.annotate(made.id, "1.0", first.id, annotation={"review": "pass"})
    assert note.annotation == {"review": "pass"}
    published = admin.datasets.publish(made.id, "1.0")
    assert published.status == "published" and published.manifest[0]["path"] == "data.jsonl"
    out = admin.datasets.export(made.id, "1.0", tmp_path / "out.zip")
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        lines = zf.read("data.jsonl").decode().splitlines()
    assert json.loads(lines[0])["annotation"] == {"review": "pass"}
    shared = admin.datasets.update(made.id, visibility="workspace")
    assert shared.visibility == "workspace"
    admin.datasets.delete(made.id)
    with pytest.raises(HangarLookupError):
        admin.datasets.find("sdk-sft", workspace=ws)


def test_storages(admin: HangarClient, tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    cluster = admin.clusters.list()[0].id
    made = admin.storages.register(cluster_id=cluster, name="sdk-pfs", root=str(tmp_path))
    assert admin.storages.find("sdk-pfs").id == made.id
    assert admin.storages.check(made.id, "corpus/") == "corpus"
    with pytest.raises(HangarAPIError) as missing:
        admin.storages.check(made.id, "nope")
    assert missing.value.status == 422
    admin.storages.remove(made.id)
    assert all(s.id != made.id for s in admin.storages.list())
