"""The annotation page of an annotated dataset's version (spec 07 §2.3, "Annotation in the
platform"): records ten per page, the content on the left (editable fields of text records, the
image of image records) and the annotation on the right per the template's kind — labels (a
tag list), review (one label), ranking (two ordered lists with up/down buttons, and the bucket),
description, visual QA rows, or the conversations of an image-understanding record. Saving
sends the form to ``PATCH /datasets/{id}/versions/{label}/records/{record}``, which calls the
same service as the API's PATCH records route and answers the record's card again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hangar.api.deps import CurrentActor, SessionDep
from hangar.assets import annotated, datasets, templates
from hangar.assets.dataset_orm import DatasetRecord
from hangar.assets.template_annotations import IMAGE_TEMPLATES, response_count
from hangar.assets.template_rules import image_refs
from hangar.errors import ValidationFailed
from hangar.web.chrome import PageChrome
from hangar.web.templating import render

router = APIRouter(prefix="/datasets", include_in_schema=False)
PAGE = 10
RANKINGS = ("relevance", "safety")
BUCKETS = {
    "ranked": "Ranked",
    "no_safety_ranking": "No safety ranking",
    "no_relevance_ranking": "No relevance ranking",
    "no_annotation": "Not annotated",
}
# Fields of text records that never show as editable on the left.
NOT_EDITABLE = ("conversations", "messages", "sha256", "image")


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _fields(template_key: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's content as editable fields: name, value, input kind, and whether it may be
    removed (optional); lists stay read-only."""
    if template_key in IMAGE_TEMPLATES:
        return []
    schema = templates.template(template_key).record_schema
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    names = [k for k in props if k in data or (k not in required and _shown_when_absent(k))]
    names += [k for k in data if k not in names]
    out = []
    for name in names:
        if name in NOT_EDITABLE:
            continue
        value = data.get(name)
        if isinstance(value, bool) or name.startswith("is_response_"):
            kind = "bool"
        elif isinstance(value, int) or name.endswith("_response_id"):
            kind = "int"
        else:
            kind = "text"
        readonly = template_key == "image_understanding" and name == "id"
        out.append({"name": name, "value": value, "kind": kind,
                    "optional": name not in required, "readonly": readonly})  # fmt: skip
    return out


def _shown_when_absent(name: str) -> bool:
    return not name.startswith(("response_", "is_response_", "better_", "safer_"))


def _orders(record: DatasetRecord) -> dict[str, Any]:
    """Ranking: each list in its display order (the annotation's, else response order), whether
    it is ranked, and the removed responses."""
    count = response_count(record.data)
    removed = list(record.annotation.get("removed") or [])
    remaining = [i for i in range(count) if i not in removed]
    orders = {}
    for name in RANKINGS:
        ranked = list(record.annotation.get(name) or [])
        orders[name] = {"order": ranked or remaining, "ranked": bool(ranked)}
    return {"count": count, "removed": removed, "lists": orders}


def _card(dataset: Any, version: Any, record: DatasetRecord) -> dict[str, Any]:
    tpl = templates.template(dataset.template)
    images: list[str] = []
    if tpl.key in IMAGE_TEMPLATES and isinstance(record.data.get("image"), str):
        images = [record.data["image"]]
    elif tpl.key == "image_understanding":
        images = [ref for _, ref in image_refs(record.data.get("conversations") or [])]
    card: dict[str, Any] = {"record": record, "fields": _fields(tpl.key, record.data),
                            "images": images, "other": {}, "bucket": None,
                            "ranking": None, "turns": []}  # fmt: skip
    if tpl.annotation == "ranking":
        card["ranking"] = _orders(record)
        card["bucket"] = templates.ranking_bucket(record.annotation)
    if tpl.annotation == "edit":
        card["turns"] = record.annotation.get("conversations") or record.data.get(
            "conversations", []
        )
    if tpl.annotation == "none":
        card["other"] = {k: v for k, v in record.data.items() if k in NOT_EDITABLE}
    return card


def _context(session: Session, found: datasets.DatasetAccess, label: str) -> dict[str, Any]:
    dataset = annotated.annotated(found)
    version = annotated.version(session, dataset, label)
    tpl = templates.template(dataset.template)
    return {"dataset": dataset, "version": version, "template": tpl,
            "draft": version.status == "draft", "buckets": BUCKETS}  # fmt: skip


@router.get("/{dataset_id}/versions/{label}/annotate")
def annotate_page(
    request: Request, session: SessionDep, actor: CurrentActor, chrome: PageChrome,
    dataset_id: str, label: str, page: int = 1,
) -> Response:  # fmt: skip
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.view", write=False)
    context = _context(session, found, label)
    version = context["version"]
    pages = max(1, -(-version.records // PAGE))
    page = min(max(page, 1), pages)
    rows = annotated.records(session, version, offset=(page - 1) * PAGE, limit=PAGE)
    cards = [_card(context["dataset"], version, r) for r in rows]
    context.update(chrome=chrome, cards=cards, page=page, pages=pages)
    return render(request, "datasets/annotate.html", context)


def _texts(form: FormData, name: str) -> list[str]:
    return [str(v).replace("\r\n", "\n") for v in form.getlist(name)]


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").replace("\r\n", "\n")


def _edits(fields: list[dict[str, Any]], data: dict[str, Any], form: FormData) -> dict[str, Any]:
    """What the left pane changed: only fields whose value differs from the record's."""
    edits: dict[str, Any] = {}
    for f in fields:
        name = f["name"]
        key = f"edit.{name}"
        if f["readonly"] or key not in form:
            continue
        raw = _text(form, key)
        new: Any = raw
        if f["kind"] == "bool":
            new = raw == "true"
        elif f["kind"] == "int":
            if raw.strip() == "":
                new = None
            else:
                try:
                    new = int(raw)
                except ValueError:
                    raise ValidationFailed.field(name, "must be a whole number") from None
        elif raw == "" and f["optional"] and name in data and not isinstance(data[name], str):
            new = None
        if name in data:
            if new != data[name]:
                edits[name] = new
        elif new not in (None, ""):
            edits[name] = new
    return edits


def _indices(form: FormData, name: str) -> list[int]:
    return [int(v) for v in _texts(form, name) if v.isdigit()]


def _ranking(record: DatasetRecord, form: FormData) -> dict[str, Any]:
    count = response_count(record.data)
    removed = sorted(set(_indices(form, "removed")))
    move = _text(form, "move")
    out: dict[str, Any] = {"removed": removed}
    for name in RANKINGS:
        order = [i for i in _indices(form, name) if i < count]
        ranked = _text(form, f"{name}_ranked") == "1"
        target, _, action = move.partition(":")
        if target == name:
            if action == "clear":
                ranked, order = False, []
            else:
                pos_text, _, direction = action.partition(":")
                pos = int(pos_text) if pos_text.isdigit() else -1
                other = pos - 1 if direction == "up" else pos + 1
                if 0 <= pos < len(order) and 0 <= other < len(order):
                    order[pos], order[other] = order[other], order[pos]
                ranked = True
        out[name] = [i for i in order if i not in removed] if ranked else []
    return out


def _annotation(kind: str, record: DatasetRecord, form: FormData) -> dict[str, Any] | None:
    """What the right pane says, shaped for the template's annotation kind; None: unchanged."""
    if kind == "labels":
        labels = [x.strip() for x in _text(form, "labels").replace("\n", ",").split(",")]
        return {"labels": [x for x in labels if x]}
    if kind == "review":
        review = _text(form, "review").strip()
        return {"review": review or None}
    if kind == "ranking":
        return _ranking(record, form)
    if kind == "description":
        text = _text(form, "description").strip()
        return {"description": text} if text else None
    if kind == "vqa":
        rows = zip(_texts(form, "qa_question"), _texts(form, "qa_label"),
                   _texts(form, "qa_answer"), strict=False)  # fmt: skip
        return {"qa": [{"question": q, "label": lb, "answer": a} for q, lb, a in rows
                       if q.strip() or lb.strip() or a.strip()]}  # fmt: skip
    if kind == "edit":
        turns = zip(_texts(form, "turn_from"), _texts(form, "turn_value"), strict=False)
        return {"conversations": [{"from": f, "value": v} for f, v in turns if v.strip()]}
    return None


@router.patch("/{dataset_id}/versions/{label}/records/{record_id}", name="dataset.annotate_page")
def save_record(
    request: Request, session: SessionDep, actor: CurrentActor, form: FormDep,
    dataset_id: str, label: str, record_id: str,
) -> Response:  # fmt: skip
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.annotate", write=True)
    context = _context(session, found, label)
    current = annotated.record(session, context["version"], record_id)
    tpl = context["template"]
    edits = _edits(_fields(tpl.key, current.data), current.data, form)
    note = _annotation(tpl.annotation, current, form)
    row = annotated.do_annotate(session, access=found, label=label, record_id=record_id,
                                edits=edits or None, annotation=note)  # fmt: skip
    session.flush()
    context.update(card=_card(context["dataset"], context["version"], row),
                   flash=f"Saved record {row.seq}.")  # fmt: skip
    return render(request, "datasets/_record.html", context)


@router.delete("/{dataset_id}/versions/{label}/records/{record_id}", name="dataset.record_delete")
def delete_record(
    session: SessionDep, actor: CurrentActor, dataset_id: str, label: str, record_id: str
) -> Response:
    found = datasets.access_dataset(session, actor, dataset_id, "dataset.annotate", write=True)
    annotated.do_delete_record(session, access=found, label=label, record_id=record_id)
    return Response(status_code=200, content="")
