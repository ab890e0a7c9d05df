"""Annotated-dataset templates (spec 07 §2.3, decisions G3 and G4): every template imports a
valid sample with the right record count and refuses a bad one with row-level errors (file,
row, field and a message naming the rule); XLSX sheets are real openpyxl workbooks; images are
checked on their bytes; annotations, edits and exports follow each template's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hangar.assets.templates import (
    MAX_ERRORS,
    TEMPLATE_KEYS,
    TEMPLATES,
    ParseResult,
    RowError,
    check_annotation,
    edit_record,
    export_record,
    parse_import,
    ranking_bucket,
    template,
)
from hangar.errors import ValidationFailed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
BMP = b"BM" + b"\x00" * 60
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40

Content = bytes | str | list[Any]


def jsonl(*rows: Any) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def write(root: Path, files: dict[str, Content]) -> list[str]:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:  # spreadsheet rows, header first
            book = openpyxl.Workbook()
            sheet = book.active
            assert sheet is not None
            for row in content:
                sheet.append(row)
            book.save(path)
    return list(files)


def parse(key: str, root: Path, files: dict[str, Content]) -> ParseResult:
    return parse_import(key, root, write(root, files))


def error(result: ParseResult, file: str, row: int | None, field: str) -> RowError:
    found = [e for e in result.errors if (e.file, e.row, e.field) == (file, row, field)]
    assert found, f"no error at {file} row {row} field {field!r}: {result.errors}"
    return found[0]


def refused(call: Any, field: str, phrase: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        call()
    assert field in info.value.fields, info.value.fields
    assert phrase in info.value.fields[field], info.value.fields[field]


# ---------------------------------------------------------------- registry and schemas


def test_eight_templates_with_g3_data_types() -> None:
    assert tuple(TEMPLATES) == TEMPLATE_KEYS
    types = {key: t.data_type for key, t in TEMPLATES.items()}
    assert types == {
        "image_multilabel": "image",
        "multi_turn": "llm", "sft": "llm", "qa_pair": "llm", "ranking": "llm",
        "image_text": "cross_modal", "image_understanding": "cross_modal", "vqa": "cross_modal",
    }  # fmt: skip
    assert template("sft").formats == {"jsonl", "xls", "xlsx"}
    assert template("qa_pair").formats == {"json", "jsonl", "xls", "xlsx"}
    assert template("image_understanding").formats == {"jpg", "jpeg", "png", "webp", "jsonl"}
    assert template("vqa").formats == {"jpg", "jpeg", "png", "bmp"}
    assert template("multi_turn").annotation == "none"
    refused(lambda: template("audio"), "template", "one of image_multilabel, multi_turn")


SAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "multi_turn": (
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
        {"messages": [{"role": "bot", "content": "Hi"}]},
    ),
    "sft": ({"instruction": "Translate", "input": "chat", "output": "cat"}, {"instruction": ""}),
    "qa_pair": ({"Q": "Capital of France?", "A": "Paris", "file": "x.jpg"}, {"Q": "?", "B": 1}),
    "ranking": (
        {"prompt": "p", "response_0": "a", "response_1": "b", "is_response_0_safe": True,
         "is_response_1_safe": False, "better_response_id": 0, "safer_response_id": 0},
        {"prompt": "p", "response_0": "a"},
    ),
    "image_understanding": (
        {"id": "identity_1", "conversations": [
            {"from": "user", "value": "Picture 1: <img>images/x.jpg</img>\nWhat is it?"},
            {"from": "assistant", "value": "A cat."}]},
        {"id": "x", "conversations": [{"from": "system", "value": "hi"}]},
    ),
    "image_multilabel": ({"image": "images/cat.JPG"}, {"image": "notes.txt"}),
}  # fmt: skip


@pytest.mark.parametrize("key", list(SAMPLES))
def test_published_schema_accepts_the_sample_and_refuses_the_bad_one(key: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = template(key).record_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    good, bad = SAMPLES[key]
    jsonschema.Draft202012Validator(schema).validate(good)
    assert not jsonschema.Draft202012Validator(schema).is_valid(bad)


# ---------------------------------------------------------------- multi-turn dialogue


def test_multi_turn_valid_lines_skip_blank_ones(tmp_path: Path) -> None:
    good = SAMPLES["multi_turn"][0]
    plain = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                          {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}  # fmt: skip
    result = parse(
        "multi_turn", tmp_path, {"d/chat.jsonl": jsonl(good, plain) + "\n  \n" + jsonl(good)}
    )
    assert result.ok, result.errors
    assert [(r.file, r.row) for r in result.records] == [("d/chat.jsonl", n) for n in (1, 2, 5)]
    assert result.records[0].data == good


def test_multi_turn_bad_rows_are_reported_per_line(tmp_path: Path) -> None:
    def msgs(*roles: str) -> dict[str, Any]:
        return {"messages": [{"role": r, "content": "x"} for r in roles]}

    text = jsonl(msgs("user", "bot"), msgs("user", "assistant", "system", "user"),
                 msgs("assistant", "user"), {"messages": []}, msgs("system", "user"))  # fmt: skip
    text += '{"messages": [\n' + jsonl([1], msgs("user", "assistant"))
    text += jsonl({"messages": [{"role": "user", "content": " "}, {"role": "assistant"}]})
    result = parse("multi_turn", tmp_path, {"chat.jsonl": text})
    assert len(result.records) == 1 and result.records[0].row == 8
    assert "role must be one of system, user, assistant (got 'bot')" in error(
        result, "chat.jsonl", 1, "messages[1].role").message  # fmt: skip
    assert "only as the first message" in error(result, "chat.jsonl", 2, "messages[2].role").message
    assert "expected 'user'" in error(result, "chat.jsonl", 3, "messages[0].role").message
    assert "non-empty list" in error(result, "chat.jsonl", 4, "messages").message
    assert (
        "at least one user and one assistant" in error(result, "chat.jsonl", 5, "messages").message
    )
    assert "not valid JSON" in error(result, "chat.jsonl", 6, "").message
    assert "must be a JSON object" in error(result, "chat.jsonl", 7, "").message
    assert "must not be empty" in error(result, "chat.jsonl", 9, "messages[0].content").message
    assert "required" in error(result, "chat.jsonl", 9, "messages[1].content").message
    assert not result.ok and result.error_count == len(result.errors) == 9


# ---------------------------------------------------------------- SFT


def test_sft_jsonl_and_xlsx_import(tmp_path: Path) -> None:
    rows = jsonl({"instruction": "Sum", "input": "1 2", "output": "3"},
                 {"instruction": "Greet", "output": ""})  # fmt: skip
    sheet = [["Instruction", "INPUT", "output"], ["Double", 4, 8.0], [None, None, None],
             ["Negate", None, True]]  # fmt: skip
    result = parse("sft", tmp_path, {"a.jsonl": rows, "b.xlsx": sheet})
    assert result.ok, result.errors
    assert [r.data for r in result.records] == [
        {"instruction": "Sum", "input": "1 2", "output": "3"},
        {"instruction": "Greet", "input": "", "output": ""},
        {"instruction": "Double", "input": "4", "output": "8"},
        {"instruction": "Negate", "input": "", "output": "true"},
    ]
    assert [r.row for r in result.records] == [1, 2, 2, 4]


def test_sft_bad_rows(tmp_path: Path) -> None:
    rows = jsonl({"instruction": "ok", "output": "ok"}, {"instruction": " ", "output": "x"},
                 {"instruction": "x", "ouput": "y"}, {"instruction": "x", "output": 3})  # fmt: skip
    sheet = [["instruction", "input", "output"], ["a", "", "b"], ["", "in", "out"],
             ["c", "", "d", "stray"]]  # fmt: skip
    result = parse("sft", tmp_path, {"a.jsonl": rows, "s.xlsx": sheet})
    assert len(result.records) == 2
    assert "must not be empty" in error(result, "a.jsonl", 2, "instruction").message
    assert "did you mean 'output'" in error(result, "a.jsonl", 3, "ouput").message
    assert "required" in error(result, "a.jsonl", 3, "output").message
    assert "must be a string (got number)" in error(result, "a.jsonl", 4, "output").message
    assert "must not be empty" in error(result, "s.xlsx", 3, "instruction").message
    assert "column D has a value but no header" in error(result, "s.xlsx", 4, "").message


def test_sft_xlsx_header_problems_and_legacy_xls(tmp_path: Path) -> None:
    files: dict[str, Content] = {
        "h.xlsx": [["instruction", "answer"], ["a", "b"]],
        "old.xls": b"\xd0\xcf\x11\xe0 legacy",
        "broken.xlsx": b"not a zip",
    }
    result = parse("sft", tmp_path, files)
    assert not result.records
    assert "unknown column" in error(result, "h.xlsx", 1, "answer").message
    assert "has no 'output' column" in error(result, "h.xlsx", 1, "output").message
    assert "save it as .xlsx" in error(result, "old.xls", None, "").message
    assert "not a readable .xlsx workbook" in error(result, "broken.xlsx", None, "").message


# ---------------------------------------------------------------- Q&A pair


def test_qa_pair_json_jsonl_xlsx_with_long_names(tmp_path: Path) -> None:
    array = [{"Query": "q1", "answer": "a1", "Similar-Question": "sq", "TEXT": "t"},
             {"Q": "q2", "A": "a2", "file": None}]  # fmt: skip
    sheet = [["query", "Answer", "Match", "File"], ["q3", "a3", "exact", "doc.pdf"]]
    result = parse("qa_pair", tmp_path, {
        "a.json": json.dumps(array), "one.json": json.dumps({"q": "q4", "a": "a4"}),
        "b.jsonl": jsonl({"Q": "q5", "A": "a5", "SQ": "", "match": "m"}), "c.xlsx": sheet,
    })  # fmt: skip
    assert result.ok, result.errors
    assert [r.data for r in result.records] == [
        {"Q": "q1", "A": "a1", "text": "t", "SQ": "sq"},
        {"Q": "q2", "A": "a2"},
        {"Q": "q4", "A": "a4"},
        {"Q": "q5", "A": "a5", "match": "m", "SQ": ""},
        {"Q": "q3", "A": "a3", "match": "exact", "file": "doc.pdf"},
    ]
    assert [(r.file, r.row) for r in result.records][:3] == [("a.json", 1), ("a.json", 2),
                                                             ("one.json", 1)]  # fmt: skip


def test_qa_pair_bad_rows(tmp_path: Path) -> None:
    array = [{"Q": "q", "A": "a"}, {"Q": "q"}, "text", {"Query": "q", "Q": "q", "A": "a", "X": 1}]
    sheet = [["Q", "A"], ["q", "a"], ["q", None]]
    result = parse("qa_pair", tmp_path, {"a.json": json.dumps(array), "s.xlsx": sheet,
                                          "bad.json": '[{"Q": "q",}]'})  # fmt: skip
    assert len(result.records) == 2
    assert "add 'A' (or 'Answer')" in error(result, "a.json", 2, "A").message
    assert "must be a JSON object" in error(result, "a.json", 3, "").message
    assert "both mean Q" in error(result, "a.json", 4, "Q").message
    assert "unknown field" in error(result, "a.json", 4, "X").message
    assert "must not be empty" in error(result, "s.xlsx", 3, "A").message
    assert "line 1 column" in error(result, "bad.json", None, "").message


# ---------------------------------------------------------------- ranking


def test_ranking_two_to_four_responses(tmp_path: Path) -> None:
    two = SAMPLES["ranking"][0]
    four = {"prompt": "p", **{f"response_{i}": f"r{i}" for i in range(4)},
            **{f"is_response_{i}_safe": i % 2 == 0 for i in range(4)}, "better_response_id": 3}  # fmt: skip
    result = parse("ranking", tmp_path, {"r.jsonl": jsonl(two, four)})
    assert result.ok, result.errors
    assert len(result.records) == 2 and result.records[1].data == four


def test_ranking_bad_rows(tmp_path: Path) -> None:
    base = {"prompt": "p", "response_0": "a", "response_1": "b", "is_response_0_safe": True,
            "is_response_1_safe": True}  # fmt: skip
    rows = jsonl(
        {"prompt": "p", "response_0": "a", "is_response_0_safe": True},
        {**base, "response_3": "d", "is_response_3_safe": True},
        {**base, "is_response_1_safe": "yes", "better_response_id": 2},
        {**base, "response_2": "c", "is_response_2_safe": False, "response_4": "e",
         "is_response_4_safe": False},
        {**base, "safer_response_id": True, "is_response_2_safe": True},
    )  # fmt: skip
    result = parse("ranking", tmp_path, {"r.jsonl": rows})
    assert not result.records
    assert "at least 2 responses" in error(result, "r.jsonl", 1, "response_1").message
    assert "response_2 is missing" in error(result, "r.jsonl", 2, "response_3").message
    assert "true (safe) or false" in error(result, "r.jsonl", 3, "is_response_1_safe").message
    assert "one of 0, 1 (got 2)" in error(result, "r.jsonl", 3, "better_response_id").message
    assert "at most 4 responses" in error(result, "r.jsonl", 4, "response_4").message
    assert (
        "must name a present response" in error(result, "r.jsonl", 5, "safer_response_id").message
    )
    assert "not present" in error(result, "r.jsonl", 5, "is_response_2_safe").message


# ---------------------------------------------------------------- image templates


@pytest.mark.parametrize("key", ["image_multilabel", "image_text", "vqa"])
def test_image_templates_one_record_per_image(key: str, tmp_path: Path) -> None:
    files: dict[str, Content] = {"a.jpg": JPEG, "b/c.JPEG": JPEG, "d.png": PNG, "e.bmp": BMP,
                                 "__MACOSX/._a.jpg": b"junk", "b/.DS_Store": b"junk"}  # fmt: skip
    result = parse(key, tmp_path, files)
    assert result.ok, result.errors
    assert [r.data for r in result.records] == [{"image": p} for p in ("a.jpg", "b/c.JPEG",
                                                                       "d.png", "e.bmp")]  # fmt: skip
    assert all(r.row is None for r in result.records)


@pytest.mark.parametrize("key", ["image_multilabel", "image_text", "vqa"])
def test_image_templates_refuse_mislabeled_and_foreign_files(key: str, tmp_path: Path) -> None:
    files: dict[str, Content] = {"ok.png": PNG, "fake.png": b"hello, I am text", "j.png": JPEG,
                                 "w.webp": WEBP, "notes.txt": "x", "noext": b"x"}  # fmt: skip
    result = parse(key, tmp_path, files)
    assert [r.data for r in result.records] == [{"image": "ok.png"}]
    assert "not a PNG image" in error(result, "fake.png", None, "").message
    assert "rename it to .jpg" in error(result, "j.png", None, "").message
    assert ".webp files are not part of" in error(result, "w.webp", None, "").message
    assert ".bmp, .jpeg, .jpg, .png" in error(result, "notes.txt", None, "").message
    assert "without an extension" in error(result, "noext", None, "").message


# ---------------------------------------------------------------- image understanding


def understanding(ident: str, *paths: str) -> dict[str, Any]:
    refs = "".join(f"Picture {i}: <img>{p}</img>\n" for i, p in enumerate(paths, start=1))
    return {"id": ident, "conversations": [{"from": "user", "value": refs + "What is shown?"},
                                           {"from": "assistant", "value": "A cat."}]}  # fmt: skip


def test_image_understanding_with_its_images(tmp_path: Path) -> None:
    files: dict[str, Content] = {
        "data/images/x.jpg": JPEG, "data/y.webp": WEBP, "z.png": PNG,
        "data/train.jsonl": jsonl(understanding("identity_1", "images/x.jpg", "y.webp"),
                                  understanding("identity_2", "z.png", "./data/y.webp")),
    }  # fmt: skip
    result = parse("image_understanding", tmp_path, files)
    assert result.ok, result.errors
    assert [r.data["id"] for r in result.records] == ["identity_1", "identity_2"]
    assert result.records[0].data == understanding("identity_1", "images/x.jpg", "y.webp")


def test_image_understanding_missing_image_and_duplicate_id(tmp_path: Path) -> None:
    rows = jsonl(understanding("a", "images/x.jpg"), understanding("b", "images/gone.jpg"),
                 understanding("a"), understanding("c", "../x.jpg"),
                 {"id": "d", "conversations": [{"from": "human", "value": "hi"}]})  # fmt: skip
    files: dict[str, Content] = {"images/x.jpg": JPEG, "t.jsonl": rows}
    result = parse("image_understanding", tmp_path, files)
    assert [r.data["id"] for r in result.records] == ["a"]
    missing = error(result, "t.jsonl", 2, "conversations[0].value").message
    assert "'images/gone.jpg', which is not in the import" in missing
    assert "already used by t.jsonl row 1" in error(result, "t.jsonl", 3, "id").message
    assert "not in the import" in error(result, "t.jsonl", 4, "conversations[0].value").message
    assert (
        "user, assistant (got 'human')"
        in error(result, "t.jsonl", 5, "conversations[0].from").message
    )
    present = parse("image_understanding", tmp_path / "again",
                    {"images/x.jpg": JPEG, "images/gone.jpg": JPEG,
                     "t.jsonl": jsonl(understanding("b", "images/gone.jpg"))})  # fmt: skip
    assert present.ok and len(present.records) == 1


def test_image_understanding_needs_a_jsonl_file(tmp_path: Path) -> None:
    result = parse("image_understanding", tmp_path, {"x.jpg": JPEG})
    assert "needs at least one .jsonl" in error(result, "", None, "").message
    assert not result.records


# ---------------------------------------------------------------- whole imports


def test_an_empty_import_is_an_error(tmp_path: Path) -> None:
    for key in TEMPLATE_KEYS:
        nothing = parse_import(key, tmp_path, [])
        assert not nothing.ok and not nothing.records and nothing.errors[-1].file == ""
        assert "holds no records" in nothing.errors[-1].message or key == "image_understanding"
    result = parse("sft", tmp_path, {"blank.jsonl": "\n\n"})
    assert error(result, "", None, "").message.startswith("the import holds no records")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=st.integers(min_value=0, max_value=1300), good=st.integers(min_value=0, max_value=3))
def test_errors_are_capped_but_counted(tmp_path: Path, bad: int, good: int) -> None:
    name = f"{bad}-{good}.jsonl"
    lines = ["not json"] * bad + [jsonl({"instruction": "i", "output": "o"})] * good
    result = parse_import("sft", tmp_path, write(tmp_path, {name: "\n".join(lines) + "\n"}))
    expected = bad + (1 if bad == good == 0 else 0)  # nothing at all: the empty-import error
    assert result.error_count == expected
    assert len(result.errors) == min(expected, MAX_ERRORS)
    assert len(result.records) == good and result.ok == (expected == 0)


# ---------------------------------------------------------------- annotations


def test_labels_annotation() -> None:
    data = {"image": "a.jpg"}
    assert check_annotation("image_multilabel", data, {"labels": [" cat ", "dog"]}) == {
        "labels": ["cat", "dog"]
    }
    assert check_annotation("image_multilabel", data, {"labels": []}) == {"labels": []}
    bad = "image_multilabel"
    refused(lambda: check_annotation(bad, data, {"labels": ["cat", "cat"]}), "labels[1]", "twice")
    refused(lambda: check_annotation(bad, data, {"labels": ["x" * 65]}), "labels[0]", "at most 64")
    refused(lambda: check_annotation(bad, data, {"labels": ["a"] * 51}), "labels", "at most 50")
    refused(lambda: check_annotation(bad, data, {"labels": [""]}), "labels[0]", "must not be empty")
    refused(lambda: check_annotation(bad, data, {}), "labels", "required")
    refused(lambda: check_annotation(bad, data, {"labels": [], "x": 1}), "x", "unknown")


@pytest.mark.parametrize("key", ["sft", "qa_pair"])
def test_review_annotation_one_label_per_item(key: str) -> None:
    assert check_annotation(key, {}, {"review": "output fabricated"}) == {
        "review": "output fabricated"
    }
    assert check_annotation(key, {}, {"review": None}) == {"review": None}
    refused(lambda: check_annotation(key, {}, {"review": ["a", "b"]}), "review", "one label")
    refused(lambda: check_annotation(key, {}, {"review": "x" * 65}), "review", "at most 64")


def test_description_and_vqa_annotations() -> None:
    data = {"image": "a.jpg"}
    assert check_annotation("image_text", data, {"description": " A cat. "}) == {
        "description": "A cat."
    }
    refused(lambda: check_annotation("image_text", data, {"description": "  "}), "description",
            "must not be empty")  # fmt: skip
    refused(lambda: check_annotation("image_text", data, {"description": "x" * 2001}),
            "description", "at most 2,000")  # fmt: skip
    qa = {"question": "What animal?", "label": "animal", "answer": "cat"}
    assert check_annotation("vqa", data, {"qa": [qa]}) == {"qa": [qa]}
    refused(lambda: check_annotation("vqa", data, {"qa": [{**qa, "answer": ""}]}), "qa[0].answer",
            "must not be empty")  # fmt: skip
    refused(lambda: check_annotation("vqa", data, {"qa": {}}), "qa", "required")


RANKED = {"prompt": "p", **{f"response_{i}": f"r{i}" for i in range(3)},
          **{f"is_response_{i}_safe": i != 1 for i in range(3)}, "better_response_id": 1,
          "safer_response_id": 2}  # fmt: skip


def test_ranking_annotation() -> None:
    both = check_annotation("ranking", RANKED, {"relevance": [2, 0, 1], "safety": [0, 2, 1]})
    assert both == {"relevance": [2, 0, 1], "safety": [0, 2, 1], "removed": []}
    dropped = check_annotation("ranking", RANKED,
                               {"relevance": [2, 0], "safety": [1, 0, 2], "removed": [1]})  # fmt: skip
    assert dropped == {"relevance": [2, 0], "safety": [0, 2], "removed": [1]}
    refused(lambda: check_annotation("ranking", RANKED, {"relevance": [0, 1]}), "relevance",
            "every remaining response (0, 1, 2)")  # fmt: skip
    refused(lambda: check_annotation("ranking", RANKED, {"removed": [0, 1]}), "removed",
            "at least 2 responses")  # fmt: skip
    refused(lambda: check_annotation("ranking", RANKED, {"safety": [0, 1, 3]}), "safety[2]",
            "0 … 2")  # fmt: skip
    refused(lambda: check_annotation("ranking", RANKED, {"safety": [0, 0, 1]}), "safety[1]",
            "twice")  # fmt: skip
    refused(lambda: check_annotation("ranking", RANKED, {"safety": [True, 0, 2]}), "safety[0]",
            "response index")  # fmt: skip
    two = {k: v for k, v in RANKED.items() if "2" not in k}
    refused(lambda: check_annotation("ranking", two, {"removed": [0]}), "removed", "at least 2")


def test_ranking_buckets() -> None:
    assert ranking_bucket({"relevance": [1, 0], "safety": [0, 1]}) == "ranked"
    assert ranking_bucket({"relevance": [1, 0], "safety": []}) == "no_safety_ranking"
    assert ranking_bucket({"safety": [0, 1]}) == "no_relevance_ranking"
    assert ranking_bucket({}) == "no_annotation"


def test_image_understanding_annotation_and_multi_turn_refusal() -> None:
    data = understanding("a", "images/x.jpg")
    edited = [{"from": "user", "value": "<img>images/x.jpg</img> And now?"},
              {"from": "assistant", "value": "A dog."}]  # fmt: skip
    assert check_annotation("image_understanding", data, {"conversations": edited}) == {
        "conversations": edited
    }
    sneaky = [{"from": "user", "value": "<img>images/other.jpg</img>"}]
    refused(lambda: check_annotation("image_understanding", data, {"conversations": sneaky}),
            "conversations[0].value", "does not use")  # fmt: skip
    refused(lambda: check_annotation("image_understanding", data, {"conversations": []}),
            "conversations", "non-empty list")  # fmt: skip
    dialogue = SAMPLES["multi_turn"][0]
    refused(lambda: check_annotation("multi_turn", dialogue, {"review": "ok"}), "template",
            "cannot be annotated in the platform")  # fmt: skip


# ---------------------------------------------------------------- edits and exports


def test_edits_follow_the_row_rules() -> None:
    sft = {"instruction": "Sum", "input": "", "output": "3"}
    assert edit_record("sft", sft, {"output": "4", "input": None}) == {**sft, "output": "4"}
    refused(
        lambda: edit_record("sft", sft, {"instruction": ""}), "instruction", "must not be empty"
    )
    refused(lambda: edit_record("sft", sft, {"ouput": "x"}), "ouput", "did you mean 'output'")
    qa = {"Q": "q", "A": "a", "SQ": "s"}
    assert edit_record("qa_pair", qa, {"Answer": "b", "sq": None}) == {"Q": "q", "A": "b"}
    refused(lambda: edit_record("qa_pair", qa, {"Query": ""}), "Q", "must not be empty")
    assert edit_record("ranking", RANKED, {"response_1": "better"})["response_1"] == "better"
    refused(lambda: edit_record("ranking", RANKED, {"response_3": "x"}), "response_3",
            "cannot be added")  # fmt: skip
    refused(lambda: edit_record("ranking", RANKED, {"response_2": None}), "response_2",
            "cannot be deleted")  # fmt: skip
    refused(lambda: edit_record("ranking", RANKED, {"better_response_id": 7}),
            "better_response_id", "present response")  # fmt: skip
    refused(lambda: edit_record("vqa", {"image": "a.jpg"}, {"image": "b.jpg"}), "image",
            "cannot be edited")  # fmt: skip
    data = understanding("a", "x.jpg")
    refused(lambda: edit_record("image_understanding", data, {"id": "b"}), "id", "cannot be edited")
    turns = [{"from": "assistant", "value": "<img>x.jpg</img>"}]
    assert (
        edit_record("image_understanding", data, {"conversations": turns})["conversations"] == turns
    )
    refused(lambda: edit_record("multi_turn", SAMPLES["multi_turn"][0], {}), "template",
            "cannot be annotated")  # fmt: skip


def test_exports() -> None:
    image = {"image": "a.jpg"}
    assert export_record("image_multilabel", image, {"labels": ["cat"]}) == {
        "image": "a.jpg", "annotation": {"labels": ["cat"]}
    }  # fmt: skip
    assert export_record("sft", {"instruction": "i", "input": "", "output": "o"}, {}) == {
        "instruction": "i", "input": "", "output": "o"
    }  # fmt: skip
    dialogue = SAMPLES["multi_turn"][0]
    assert export_record("multi_turn", dialogue, {}) == dialogue
    ranked = export_record("ranking", RANKED,
                           {"relevance": [2, 0], "safety": [], "removed": [1]})  # fmt: skip
    assert ranked == {
        "prompt": "p", "response_0": "r0", "is_response_0_safe": True, "response_1": "r2",
        "is_response_1_safe": True, "better_response_id": 1, "safer_response_id": 1,
        "annotation": {"relevance": [1, 0], "safety": [], "bucket": "no_safety_ranking"},
    }  # fmt: skip
    gone = export_record("ranking", RANKED, {"removed": [2]})
    assert gone["better_response_id"] == 1 and "safer_response_id" not in gone
    data = understanding("a", "x.jpg")
    turns = [{"from": "user", "value": "<img>x.jpg</img> hi"}]
    assert export_record("image_understanding", data, {"conversations": turns}) == {
        "id": "a", "conversations": turns
    }  # fmt: skip


# ---------------------------------------------------------------- published documentation

DOC = Path(__file__).parents[2] / "docs" / "dataset-templates.md"


def doc_blocks(kind: str) -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    pattern = rf"<!-- {kind}:(\w+) -->\n```\w+\n(.*?)\n```"
    return dict(re.findall(pattern, text, flags=re.DOTALL))


def test_documented_schemas_are_the_published_ones() -> None:
    blocks = doc_blocks("schema")
    assert set(blocks) == set(TEMPLATE_KEYS)
    for key, block in blocks.items():
        assert json.loads(block) == template(key).record_schema, key


def test_documented_samples_import_cleanly(tmp_path: Path) -> None:
    blocks = doc_blocks("sample")
    assert set(blocks) == {"multi_turn", "sft", "qa_pair", "ranking", "image_understanding"}
    for key, block in blocks.items():
        files: dict[str, Content] = {"sample.jsonl": block + "\n", "images/street.jpg": JPEG}
        if key != "image_understanding":
            del files["images/street.jpg"]
        result = parse(key, tmp_path / key, files)
        assert result.ok, (key, result.errors)
        assert len(result.records) == len(block.splitlines())
