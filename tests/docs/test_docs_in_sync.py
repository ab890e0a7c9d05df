"""docs/tenancy.md carries the permission tables generated from the code."""

from __future__ import annotations

from pathlib import Path

from hangar.tenancy.matrix_doc import capability_markdown, workspace_matrix_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "tenancy.md"


def test_tenancy_doc_tables_match_the_code() -> None:
    text = DOC.read_text()
    assert capability_markdown() in text, "run: python -m hangar.tenancy.matrix_doc"
    assert workspace_matrix_markdown() in text, "run: python -m hangar.tenancy.matrix_doc"
    assert text.count("\n| ") >= 82


def test_workloads_doc_lists_every_lifecycle_rule() -> None:
    from hangar.workloads.lifecycle import RULES

    text = (DOC.parent / "workloads.md").read_text()
    for rule in RULES:
        sources = ", ".join(sorted(s.value for s in rule.sources))
        row = f"| `{rule.name}` | {sources} | {rule.target.value} | {rule.description} |"
        assert row in text, f"docs/workloads.md is missing or has a stale row: {row}"
