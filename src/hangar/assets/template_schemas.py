"""The eight annotated-dataset templates (spec 07 §2.3) and the JSON Schema of one record each.

Decision G3 maps the templates to the three data types: *image* (single-image multi-label),
*llm* (multi-turn dialogue, SFT, Q&A pair, response ranking) and *cross_modal* (image-text
matching, image understanding, visual QA). Decision G4: the spec's examples are malformed, so
Hangar publishes a JSON Schema (draft 2020-12) per template and validates every imported row
against the same rules (``hangar.assets.template_rules``). The schemas describe a record as
it is *imported* (the canonical keys); a few rules that JSON Schema cannot say (message order,
ids naming present responses, image references) are spelled out in each ``description``.

For the image templates a record is one image file: ``{"image": "<path in the import>"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hangar.errors import ValidationFailed

TEMPLATE_KEYS = (
    "image_multilabel",
    "multi_turn",
    "sft",
    "qa_pair",
    "ranking",
    "image_text",
    "image_understanding",
    "vqa",
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
NON_BLANK = {"type": "string", "pattern": "\\S"}  # a string with at least one visible character
IMAGE_EXTS = frozenset({"jpg", "jpeg", "png", "bmp"})
UNDERSTANDING_EXTS = frozenset({"jpg", "jpeg", "png", "webp"})
MAX_RESPONSES = 4


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    data_type: str  # "image" | "llm" | "cross_modal" (decision G3)
    formats: frozenset[str]  # lower-case extensions without the dot
    annotation: str  # "labels" | "review" | "ranking" | "description" | "vqa" | "edit" | "none"
    record_schema: dict[str, Any] = field(hash=False)  # published to users (G4)


def _schema(key: str, title: str, body: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": f"urn:hangar:dataset-template:{key}",
        "title": title,
        "description": description,
        "type": "object",
        "additionalProperties": False,
        **body,
    }


def _image_schema(key: str, title: str, exts: frozenset[str]) -> dict[str, Any]:
    # Any case, spelt out: JSON Schema patterns (ECMA-262) have no portable (?i).
    alternatives = "|".join("".join(f"[{c}{c.upper()}]" for c in ext) for ext in sorted(exts))
    return _schema(
        key,
        f"{title} record",
        {
            "required": ["image"],
            "properties": {
                "image": {
                    "type": "string",
                    "pattern": f"^[^/].*\\.({alternatives})$",
                    "description": "the image file's relative path inside the import",
                }
            },
        },
        "One record per image file. The file's content must really be the format its "
        "extension names (checked on its first bytes).",
    )


MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "additionalProperties": False,
    "properties": {"role": {"enum": ["system", "user", "assistant"]}, "content": NON_BLANK},
}

MULTI_TURN = _schema(
    "multi_turn",
    "Multi-turn dialogue record",
    {
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "minItems": 2, "items": MESSAGE}},
    },
    "One dialogue per line. 'system' may appear only as the first message; after it the turns "
    "alternate user, assistant, user, … starting with user; at least one user and one "
    "assistant message.",
)

SFT = _schema(
    "sft",
    "Instruction fine-tuning (SFT) record",
    {
        "required": ["instruction", "output"],
        "properties": {
            "instruction": NON_BLANK,
            "input": {"type": "string", "default": ""},
            "output": {"type": "string"},
        },
    },
    "instruction = the requirement, input = its input (optional, '' when missing), "
    "output = the result. In .xlsx the header row names these columns (any case).",
)

QA_ALIASES = {
    "q": "Q",
    "query": "Q",
    "a": "A",
    "answer": "A",
    "text": "text",
    "match": "match",
    "file": "file",
    "sq": "SQ",
    "similar-question": "SQ",
    "similar_question": "SQ",
    "similar question": "SQ",
}
QA_KEYS = ("Q", "A", "text", "match", "file", "SQ")
OPTIONAL_STRING = {"type": ["string", "null"]}

QA_PAIR = _schema(
    "qa_pair",
    "Q&A pair record",
    {
        "required": ["Q", "A"],
        "properties": {
            "Q": {**NON_BLANK, "description": "Query"},
            "A": {**NON_BLANK, "description": "Answer"},
            "text": {**OPTIONAL_STRING, "description": "Text: the source's file name or title"},
            "match": {**OPTIONAL_STRING, "description": "Match: the query against the source"},
            "file": {**OPTIONAL_STRING, "description": "File: where the data lies"},
            "SQ": {**OPTIONAL_STRING, "description": "Similar-Question"},
        },
    },
    "Canonical short keys. On import the long names Query, Answer, Text, Match, File and "
    "Similar-Question are accepted too (any case) and stored under the short keys; null "
    "optional fields are dropped.",
)

RANKING = _schema(
    "ranking",
    "Response ranking record",
    {
        "required": ["prompt", "response_0", "response_1", "is_response_0_safe",
                     "is_response_1_safe"],
        "properties": {
            "prompt": NON_BLANK,
            **{f"response_{i}": NON_BLANK for i in range(MAX_RESPONSES)},
            **{f"is_response_{i}_safe": {"type": "boolean"} for i in range(MAX_RESPONSES)},
            "better_response_id": {"type": "integer", "minimum": 0, "maximum": 3},
            "safer_response_id": {"type": "integer", "minimum": 0, "maximum": 3},
        },
        "dependentRequired": {
            "response_2": ["is_response_2_safe"],
            "response_3": ["response_2", "is_response_3_safe"],
            "is_response_2_safe": ["response_2"],
            "is_response_3_safe": ["response_3"],
        },
    },
    "2 to 4 candidate responses numbered from 0 without gaps, each with its is_response_N_safe "
    "flag. better_response_id and safer_response_id (optional) must name a present response.",
)  # fmt: skip

TURN = {
    "type": "object",
    "required": ["from", "value"],
    "additionalProperties": False,
    "properties": {"from": {"enum": ["user", "assistant"]}, "value": NON_BLANK},
}

IMAGE_UNDERSTANDING = _schema(
    "image_understanding",
    "Image understanding record",
    {
        "required": ["id", "conversations"],
        "properties": {
            "id": NON_BLANK,
            "conversations": {"type": "array", "minItems": 1, "items": TURN},
        },
    },
    "One jsonl line per record; id is unique across the import. Values may reference images "
    "as <img>path</img>; every referenced path must be an image of the same import, relative "
    "to the import's root or to the jsonl file's folder.",
)


def _templates() -> dict[str, Template]:
    rows = [
        Template("image_multilabel", "Single-image multi-label", "image", IMAGE_EXTS, "labels",
                 _image_schema("image_multilabel", "Single-image multi-label", IMAGE_EXTS)),
        Template("multi_turn", "Multi-turn dialogue", "llm", frozenset({"jsonl"}), "none",
                 MULTI_TURN),
        Template("sft", "Instruction fine-tuning (SFT)", "llm",
                 frozenset({"jsonl", "xls", "xlsx"}), "review", SFT),
        Template("qa_pair", "Q&A pair", "llm", frozenset({"json", "jsonl", "xls", "xlsx"}),
                 "review", QA_PAIR),
        Template("ranking", "Response ranking", "llm", frozenset({"jsonl"}), "ranking",
                 RANKING),
        Template("image_text", "Image-text matching", "cross_modal", IMAGE_EXTS, "description",
                 _image_schema("image_text", "Image-text matching", IMAGE_EXTS)),
        Template("image_understanding", "Image understanding", "cross_modal",
                 UNDERSTANDING_EXTS | {"jsonl"}, "edit", IMAGE_UNDERSTANDING),
        Template("vqa", "Visual QA", "cross_modal", IMAGE_EXTS, "vqa",
                 _image_schema("vqa", "Visual QA", IMAGE_EXTS)),
    ]  # fmt: skip
    return {t.key: t for t in rows}


TEMPLATES: dict[str, Template] = _templates()
assert tuple(TEMPLATES) == TEMPLATE_KEYS


def template(key: str) -> Template:
    """The template named ``key``, or a 422 listing the valid keys."""
    found = TEMPLATES.get(key)
    if found is None:
        raise ValidationFailed.field(
            "template", f"unknown template {key!r}; use one of {', '.join(TEMPLATE_KEYS)}"
        )
    return found
