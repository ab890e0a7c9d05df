"""Name rules of spec 01/README, each check naming the field and the rule it broke."""

from __future__ import annotations

import re

from hangar.errors import ValidationFailed

_CJK = "\u4e00-\u9fff"
WORKSPACE_NAME_MAX = 25
WORKSPACE_DESCRIPTION_MAX = 300
USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
GROUP_NAME_MAX = 64
PASSWORD_MIN = 8


def check_workspace_name(name: str, field: str = "name") -> str:
    """Spec 01 W3: letters, digits, Chinese, ``_``; starts with a letter; at most 25 chars."""
    if not name:
        raise ValidationFailed.field(field, "is required")
    if len(name) > WORKSPACE_NAME_MAX:
        raise ValidationFailed.field(
            field, f"must be at most {WORKSPACE_NAME_MAX} characters (got {len(name)})"
        )
    if not re.match(r"^[A-Za-z]", name):
        raise ValidationFailed.field(field, "must start with a letter (A-Z or a-z)")
    bad = sorted({c for c in name if not re.match(rf"[A-Za-z0-9_{_CJK}]", c)})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise ValidationFailed.field(
            field,
            f"may contain only letters, digits, Chinese characters and '_' (found {shown})",
        )
    return name


def check_description(value: str, limit: int, field: str = "description") -> str:
    if len(value) > limit:
        raise ValidationFailed.field(
            field, f"must be at most {limit} characters (got {len(value)})"
        )
    return value


def check_username(name: str, field: str = "username") -> str:
    if not USERNAME_RE.match(name):
        raise ValidationFailed.field(
            field,
            "must be 2-64 characters: lowercase letters, digits, '_', '.', '-', "
            "starting with a letter",
        )
    return name


def check_password(password: str, field: str = "password") -> str:
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed.field(field, f"must be at least {PASSWORD_MIN} characters")
    if len(password) > 256:
        raise ValidationFailed.field(field, "must be at most 256 characters")
    return password


def check_group_name(name: str, field: str = "name") -> str:
    if not name.strip():
        raise ValidationFailed.field(field, "is required")
    if len(name) > GROUP_NAME_MAX:
        raise ValidationFailed.field(field, f"must be at most {GROUP_NAME_MAX} characters")
    if not re.match(rf"^[A-Za-z0-9{_CJK}][A-Za-z0-9_\- {_CJK}]*$", name):
        raise ValidationFailed.field(
            field,
            "may contain letters, digits, Chinese characters, '_', '-' and spaces, "
            "starting with a letter, digit or Chinese character",
        )
    return name
