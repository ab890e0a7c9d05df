"""Annotated-dataset templates: what each accepts, how an import is read, how a record is
annotated, edited and published (spec 07 §2.3; decisions G3 and G4).

This module is the one to import; the work is split by concern:

- ``template_schemas``: the eight templates (``TEMPLATES``, ``template(key)``) with their data
  type (G3: image / llm / cross_modal), file formats, kind of annotation and the JSON Schema
  of one record, published to users (G4);
- ``template_rules``: the row rules every text record is checked against, on import and on
  edit alike, with a field path and a message naming the rule and the fix per problem;
- ``template_parse``: ``parse_import``, reading jsonl, json, xlsx and images into records and
  per-row errors (at most 1,000 kept, the true count alongside);
- ``template_annotations``: ``check_annotation``, ``ranking_bucket``, ``edit_record`` and
  ``export_record``.

Nothing here touches the database or storage: callers hand in a folder of extracted files or
a record's data and get plain values or a ``ValidationFailed`` back.
"""

from __future__ import annotations

from hangar.assets.template_annotations import (
    check_annotation,
    edit_record,
    export_record,
    ranking_bucket,
)
from hangar.assets.template_parse import MAX_ERRORS, ParseResult, Record, RowError, parse_import
from hangar.assets.template_schemas import TEMPLATE_KEYS, TEMPLATES, Template, template

__all__ = [
    "MAX_ERRORS",
    "TEMPLATES",
    "TEMPLATE_KEYS",
    "ParseResult",
    "Record",
    "RowError",
    "Template",
    "check_annotation",
    "edit_record",
    "export_record",
    "parse_import",
    "ranking_bucket",
    "template",
]
