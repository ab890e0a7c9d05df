"""Online annotation of one record (spec 07 §2.3, column "Annotation in the platform").

``check_annotation(key, data, annotation)`` validates what the editor's right pane sends for
one record and returns it normalised (labels and texts stripped); a bad payload is a 422 naming
the field (``labels[2]``, ``qa[0].answer``) and the rule:

======================  ===================================================================
image_multilabel        ``{"labels": [...]}``: at most 50 distinct labels of 1-64 characters
sft, qa_pair            ``{"review": "label"}`` or ``{"review": null}``: one label per item
ranking                 ``{"relevance": [i, …], "safety": [i, …], "removed": [i, …]}``
image_text              ``{"description": "…"}``: 1-2,000 characters
vqa                     ``{"qa": [{"question", "label", "answer"}, …]}``: at most 100
image_understanding     ``{"conversations": [...]}``: the import rules; only images the
                        record already references (new paths cannot be checked here)
multi_turn              not supported: always a 422
======================  ===================================================================

Ranking: indices name the record's responses (``response_N``). ``removed`` drops responses
from both orders (dropping one from the relevance list drops it from the safety list too);
at least 2 must remain. Each order is either empty (not ranked) or every remaining response
exactly once. ``ranking_bucket`` sorts an annotation into the spec's four buckets.

``edit_record`` changes a record's content (the left pane) under the same row rules as the
import; ``export_record`` gives the published object of one record (see its docstring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hangar.assets.template_rules import (
    check_conversations,
    check_row,
    image_refs,
    kind,
    qa_key,
    raise_issues,
)
from hangar.assets.template_schemas import MAX_RESPONSES, template
from hangar.errors import ValidationFailed

LABEL_MAX = 64
MAX_LABELS = 50
TEXT_MAX = 2000
MAX_QA = 100
IMAGE_TEMPLATES = ("image_multilabel", "image_text", "vqa")
RESPONSE = re.compile(r"(?:is_)?response_(\d+)(?:_safe)?")
NOT_SUPPORTED = "multi-turn dialogue datasets cannot be annotated in the platform (spec 07 §2.3)"


def check_annotation(template_key: str, data: dict[str, Any],
                     annotation: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The normalised ``annotation`` of one record of ``template_key`` (see the module notes)."""
    tpl = template(template_key)
    if tpl.annotation == "none":
        raise ValidationFailed.field("template", NOT_SUPPORTED)
    if not isinstance(annotation, dict):
        raise ValidationFailed.field("annotation", f"must be an object (got {kind(annotation)})")
    if tpl.annotation == "labels":
        _only(annotation, ["labels"])
        return {"labels": _labels(annotation.get("labels"))}
    if tpl.annotation == "review":
        _only(annotation, ["review"])
        review = annotation.get("review")
        if isinstance(review, list):
            raise ValidationFailed.field("review", "one label per item (spec 07 §2.3); send a "
                                         "single string or null")  # fmt: skip
        return {"review": None if review is None else _text(review, "review", LABEL_MAX)}
    if tpl.annotation == "ranking":
        return _ranking(data, annotation)
    if tpl.annotation == "description":
        _only(annotation, ["description"])
        return {"description": _text(annotation.get("description"), "description", TEXT_MAX)}
    if tpl.annotation == "vqa":
        _only(annotation, ["qa"])
        return {"qa": _qa(annotation.get("qa"))}
    _only(annotation, ["conversations"])
    return {"conversations": _conversations(data, annotation.get("conversations"))}


def _only(payload: dict[str, Any], allowed: Iterable[str]) -> None:
    names = list(allowed)
    for name in payload:
        if name not in names:
            raise ValidationFailed.field(
                str(name), f"unknown annotation field; this template takes {', '.join(names)}"
            )


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        got = "nothing" if value is None else kind(value)
        raise ValidationFailed.field(name, f"required: a string (got {got})")
    text: str = value.strip()
    if not text:
        raise ValidationFailed.field(name, "must not be empty; write it or remove the entry")
    if len(text) > limit:
        raise ValidationFailed.field(
            name, f"at most {limit:,} characters (got {len(text):,}); shorten it"
        )
    return text


def _labels(value: Any) -> list[str]:
    if not isinstance(value, list):
        got = "nothing" if value is None else kind(value)
        raise ValidationFailed.field("labels", f"required: a list of label strings (got {got})")
    if len(value) > MAX_LABELS:
        raise ValidationFailed.field(
            "labels", f"at most {MAX_LABELS} labels per image (got {len(value)}); remove some"
        )
    labels: list[str] = []
    for i, raw in enumerate(value):
        label = _text(raw, f"labels[{i}]", LABEL_MAX)
        if label in labels:
            raise ValidationFailed.field(
                f"labels[{i}]", f"{label!r} is listed twice; give each label once"
            )
        labels.append(label)
    return labels


def _qa(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        got = "nothing" if value is None else kind(value)
        raise ValidationFailed.field(
            "qa", f'required: a list of {{"question", "label", "answer"}} objects (got {got})'
        )
    if len(value) > MAX_QA:
        raise ValidationFailed.field("qa", f"at most {MAX_QA} questions per image; remove some")
    out = []
    for i, item in enumerate(value):
        at = f"qa[{i}]"
        if not isinstance(item, dict):
            raise ValidationFailed.field(
                at, f'must be an object {{"question", "label", "answer"}} (got {kind(item)})'
            )
        for name in item:
            if name not in ("question", "label", "answer"):
                raise ValidationFailed.field(
                    f"{at}.{name}", "unknown field; each entry has question, label, answer"
                )
        out.append({
            "question": _text(item.get("question"), f"{at}.question", TEXT_MAX),
            "label": _text(item.get("label"), f"{at}.label", LABEL_MAX),
            "answer": _text(item.get("answer"), f"{at}.answer", TEXT_MAX),
        })  # fmt: skip
    return out


def response_count(data: dict[str, Any]) -> int:
    """How many responses a ranking record holds (``response_0`` … without gaps)."""
    count = 0
    while count < MAX_RESPONSES and f"response_{count}" in data:
        count += 1
    return count


def _indices(value: Any, name: str, count: int) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed.field(
            name, f"must be a list of response indices (got {kind(value)})"
        )
    seen: list[int] = []
    for i, index in enumerate(value):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            raise ValidationFailed.field(
                f"{name}[{i}]", f"must be a response index 0 … {count - 1} (got {index!r})"
            )
        if index in seen:
            raise ValidationFailed.field(
                f"{name}[{i}]", f"response {index} is listed twice; list each response once"
            )
        seen.append(index)
    return seen


def _ranking(data: dict[str, Any], annotation: dict[str, Any]) -> dict[str, Any]:
    _only(annotation, ["relevance", "safety", "removed"])
    count = response_count(data)
    removed = _indices(annotation.get("removed"), "removed", count)
    remaining = [i for i in range(count) if i not in removed]
    if len(remaining) < 2:
        raise ValidationFailed.field(
            "removed", f"a ranking keeps at least 2 responses: removing {len(removed)} of "
            f"{count} leaves {len(remaining)}; restore a response",
        )  # fmt: skip
    out: dict[str, Any] = {}
    for name in ("relevance", "safety"):
        order = [i for i in _indices(annotation.get(name), name, count) if i not in removed]
        if order and sorted(order) != remaining:
            raise ValidationFailed.field(
                name, f"must order every remaining response ({', '.join(map(str, remaining))}) "
                f"exactly once, or be empty when not ranked (got {order})",
            )  # fmt: skip
        out[name] = order
    out["removed"] = sorted(removed)
    return out


def ranking_bucket(annotation: dict[str, Any]) -> str:
    """The spec's bucket: both orders dragged = ranked; otherwise unranked, split by what is
    missing."""
    relevance, safety = bool(annotation.get("relevance")), bool(annotation.get("safety"))
    if relevance and safety:
        return "ranked"
    if relevance:
        return "no_safety_ranking"
    return "no_relevance_ranking" if safety else "no_annotation"


def _conversations(data: dict[str, Any], value: Any) -> list[dict[str, Any]]:
    issues: list[tuple[str, str]] = []
    turns = check_conversations(value, issues)
    raise_issues(issues)
    known = {ref for _, ref in image_refs(data.get("conversations") or [])}
    for name, ref in image_refs(turns):
        if ref not in known:
            raise ValidationFailed.field(
                name, f"references image {ref!r}, which this record does not use; only its "
                "images can be referenced here (import the data again to add images)",
            )  # fmt: skip
    return turns


def edit_record(template_key: str, data: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``edits`` applied (``None`` removes an optional field), checked with the
    import's row rules; the new record, or a 422 naming every problem."""
    tpl = template(template_key)
    if tpl.annotation == "none":
        raise ValidationFailed.field("template", NOT_SUPPORTED)
    if not isinstance(edits, dict):
        raise ValidationFailed.field("edits", f"must be an object (got {kind(edits)})")
    if tpl.key in IMAGE_TEMPLATES:
        for name in edits:
            if name == "image":
                raise ValidationFailed.field(
                    "image", "the image of a record cannot be edited; import the new image "
                    "and delete this record instead",
                )  # fmt: skip
            raise ValidationFailed.field(
                str(name), "an image record holds only its image; annotate it instead"
            )
        return dict(data)
    if tpl.key == "qa_pair":
        edits = _qa_edits(edits)
    if tpl.key == "ranking":
        _ranking_edits(data, edits)
    if tpl.key == "image_understanding" and "id" in edits and edits["id"] != data.get("id"):
        raise ValidationFailed.field("id", "the id identifies the record and cannot be edited")
    merged = {k: v for k, v in {**data, **edits}.items() if v is not None}
    new, issues = check_row(tpl.key, merged)
    raise_issues(issues)
    assert new is not None
    if tpl.key == "image_understanding":
        new["conversations"] = _conversations(data, new["conversations"])
    return new


def _qa_edits(edits: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in edits.items():
        key = qa_key(str(name))
        if key is None:
            raise ValidationFailed.field(
                str(name), "unknown field; the fields are Q (Query), A (Answer), text, match, "
                "file, SQ (Similar-Question)",
            )  # fmt: skip
        if key in out:
            raise ValidationFailed.field(str(name), f"edits {key} twice; send it once")
        out[key] = value
    return out


def _ranking_edits(data: dict[str, Any], edits: dict[str, Any]) -> None:
    for name, value in edits.items():
        match = RESPONSE.fullmatch(str(name))
        if match is None:
            continue
        if f"response_{match.group(1)}" not in data:
            raise ValidationFailed.field(
                str(name), "responses cannot be added by editing; the record's responses are "
                f"response_0 … response_{response_count(data) - 1}",
            )  # fmt: skip
        if value is None:
            raise ValidationFailed.field(
                str(name), "responses cannot be deleted by editing; list the response under "
                "'removed' in the annotation instead",
            )  # fmt: skip


def export_record(template_key: str, data: dict[str, Any],
                  annotation: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The published JSON object of one record.

    - Most templates: the record's fields plus ``"annotation"`` (the normalised annotation);
      an empty annotation adds nothing.
    - image_understanding: the edited ``conversations`` replace the record's, so the export
      keeps the import format (no ``"annotation"`` key).
    - ranking: removed responses are dropped and the rest renumbered from 0 in their original
      order (with their ``is_response_N_safe`` flags). ``better_response_id`` is the first of
      the relevance order and ``safer_response_id`` the first of the safety order when those
      are ranked; otherwise the imported ids are kept (renumbered), or left out when they named
      a removed response. ``"annotation"`` holds both orders in the new numbering and the
      bucket.
    """
    tpl = template(template_key)
    if tpl.annotation == "none" and not annotation:
        return dict(data)
    if not annotation and tpl.key != "ranking":
        return dict(data)
    checked = check_annotation(tpl.key, data, annotation)
    if tpl.key == "image_understanding":
        return {**data, "conversations": checked["conversations"]}
    if tpl.key == "ranking":
        return _export_ranking(data, checked)
    return {**data, "annotation": checked}


def _export_ranking(data: dict[str, Any], annotation: dict[str, Any]) -> dict[str, Any]:
    removed = set(annotation["removed"])
    keep = [i for i in range(response_count(data)) if i not in removed]
    new = {old: index for index, old in enumerate(keep)}
    out: dict[str, Any] = {"prompt": data["prompt"]}
    for old, index in new.items():
        out[f"response_{index}"] = data[f"response_{old}"]
        out[f"is_response_{index}_safe"] = data[f"is_response_{old}_safe"]
    for name, order in (("better_response_id", "relevance"), ("safer_response_id", "safety")):
        if annotation[order]:
            out[name] = new[annotation[order][0]]
        elif data.get(name) in new:
            out[name] = new[data[name]]
    out["annotation"] = {
        "relevance": [new[i] for i in annotation["relevance"]],
        "safety": [new[i] for i in annotation["safety"]],
        "bucket": ranking_bucket(annotation),
    }
    return out
