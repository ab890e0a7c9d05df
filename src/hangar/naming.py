"""Name rule N1 (spec 00 §Validation): letters incl. Chinese, digits, ``_`` and ``-``; starts
with a letter or digit. Each object type gives its own length cap."""

from __future__ import annotations

import re

from hangar.errors import ValidationFailed

_N1 = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_-]*$")


def check_n1(name: str, *, max_length: int, field: str = "name") -> str:
    if not name:
        raise ValidationFailed.field(field, "is required")
    if len(name) > max_length:
        raise ValidationFailed.field(
            field, f"must be at most {max_length} characters (got {len(name)})"
        )
    if not _N1.match(name):
        raise ValidationFailed.field(
            field,
            "may contain letters, Chinese characters, digits, '_' and '-', and must start "
            "with a letter, Chinese character or digit (rule N1)",
        )
    return name
