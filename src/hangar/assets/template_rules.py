"""Row rules of the text templates: one imported or edited row in, its canonical form and the
problems found out.

``check_row(key, row)`` validates one row (a dict decoded from a jsonl line, a JSON array
element or a spreadsheet row) and returns ``(data, issues)``: ``data`` is the normalised record
when ``issues`` is empty, ``None`` otherwise. Each issue is ``(field, message)``: the field as a
path (``messages[2].role``; ``""`` for the whole row) and a message naming the rule and the fix.
Every problem of a row is reported, not just the first, except message order in a dialogue,
where only the first break is (the rest would follow from it).

Strings that must say something (an SFT instruction, a Q&A query, a response) must hold a
visible character; ``input`` and ``output`` of SFT may be empty. Unknown fields are refused
(a typo like ``ouput`` would otherwise drop data silently), with the closest known name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from hangar.assets.template_schemas import MAX_RESPONSES, QA_ALIASES, QA_KEYS
from hangar.errors import ValidationFailed

Issue = tuple[str, str]
ROLES = ("system", "user", "assistant")
SPEAKERS = ("user", "assistant")
SFT_FIELDS = ("instruction", "input", "output")
RESPONSE_KEY = re.compile(r"(is_)?response_\d+(_safe)?")
IMG_REF = re.compile(r"<img>(.*?)</img>", re.DOTALL)


def kind(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def check_row(key: str, row: Any) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Validate one row of template ``key`` (see the module notes)."""
    if not isinstance(row, dict):
        return None, [("", f"each record must be a JSON object {{...}} (got {kind(row)})")]
    checker = CHECKERS.get(key)
    if checker is None:
        raise ValueError(f"template {key!r} has no text rows")
    issues: list[Issue] = []
    data = checker(row, issues)
    return (None, issues) if issues else (data, [])


def raise_issues(issues: list[Issue]) -> None:
    """Raise a 422 carrying every issue (no-op for none)."""
    if not issues:
        return
    fields = {(name or "record"): message for name, message in reversed(issues)}
    text = "; ".join(f"{name or 'record'}: {message}" for name, message in issues)
    raise ValidationFailed(text, fields=fields)


def _unknown(
    row: Mapping[str, Any], known: Iterable[str], issues: list[Issue], at: str = ""
) -> None:
    names = list(known)
    for name in row:
        if name not in names:
            near = difflib.get_close_matches(str(name), names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            issues.append(
                (f"{at}{name}", f"unknown field; the fields are {', '.join(names)}{hint}")
            )


def _text(row: Mapping[str, Any], name: str, issues: list[Issue], *, field: str | None = None,
          required: bool = True, blank: bool = False) -> str | None:  # fmt: skip
    """``row[name]`` if it is a string (non-blank unless ``blank``); records an issue if not.
    An optional field that is missing or null gives ``None`` silently."""
    field = field or name
    value = row.get(name)
    if value is None:
        if required:
            issues.append((field, f"required: add {name!r} as a string"))
        return None
    if not isinstance(value, str):
        issues.append((field, f"must be a string (got {kind(value)}); quote the value"))
        return None
    if not blank and not value.strip():
        issues.append((field, "must not be empty; write the text or remove the row"))
        return None
    return value


def _multi_turn(row: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    _unknown(row, ["messages"], issues)
    messages = row.get("messages")
    if messages is None:
        issues.append(("messages", 'required: each line is {"messages": [{"role": "user", '
                       '"content": "…"}, {"role": "assistant", "content": "…"}]}'))  # fmt: skip
        return {}
    if not isinstance(messages, list) or not messages:
        got = "an empty list" if isinstance(messages, list) else kind(messages)
        issues.append(("messages", f"must be a non-empty list of messages (got {got}); add a "
                       "user message and the assistant's reply"))  # fmt: skip
        return {}
    out: list[dict[str, Any]] = []
    roles: list[str | None] = []
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        if not isinstance(message, dict):
            issues.append(
                (at, f'must be an object {{"role": …, "content": …}} (got {kind(message)})')
            )
            roles.append(None)
            continue
        _unknown(message, ["role", "content"], issues, f"{at}.")
        role = message.get("role")
        if role not in ROLES:
            got = "it is missing" if role is None else f"got {role!r}"
            issues.append((f"{at}.role", f"role must be one of {', '.join(ROLES)} ({got})"))
            role = None
        roles.append(role)
        content = _text(message, "content", issues, field=f"{at}.content")
        out.append({"role": role, "content": content})
    if None not in roles:
        _turn_order([r for r in roles if r is not None], issues)
    return {"messages": out}


def _turn_order(roles: list[str], issues: list[Issue]) -> None:
    start = 1 if roles[0] == "system" else 0
    for i in range(start, len(roles)):
        expected = SPEAKERS[(i - start) % 2]
        if roles[i] == "system":
            issues.append((f"messages[{i}].role", "system is allowed only as the first message; "
                           "move it to messages[0] or make it a user turn"))  # fmt: skip
            return
        if roles[i] != expected:
            issues.append((f"messages[{i}].role", f"expected {expected!r}: after the optional "
                           "system message, turns alternate user, assistant, … starting with "
                           f"user (got {roles[i]!r})"))  # fmt: skip
            return
    if "user" not in roles or "assistant" not in roles:
        issues.append(("messages", "must contain at least one user and one assistant message"))


def _sft(row: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    _unknown(row, SFT_FIELDS, issues)
    instruction = _text(row, "instruction", issues)
    given = _text(row, "input", issues, required=False, blank=True)
    output = _text(row, "output", issues, blank=True)
    return {"instruction": instruction, "input": given or "", "output": output}


def qa_key(name: str) -> str | None:
    """The canonical Q&A key for ``name`` (short or long name, any case), or ``None``."""
    return QA_ALIASES.get(name.strip().lower())


def _qa_pair(row: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name, value in row.items():
        key = qa_key(str(name))
        if key is None:
            issues.append((str(name), "unknown field; the fields are Q (Query), A (Answer), "
                           "text, match, file, SQ (Similar-Question)"))  # fmt: skip
        elif key in source:
            issues.append((str(name), f"duplicates {source[key]!r} (both mean {key}); keep one"))
        else:
            values[key], source[key] = value, str(name)
    out: dict[str, Any] = {}
    for key in QA_KEYS:
        required = key in ("Q", "A")
        field = source.get(key, key)
        if required and key not in values:
            long = "Query" if key == "Q" else "Answer"
            issues.append((key, f"required: add {key!r} (or {long!r}) as a non-empty string"))
            continue
        value = _text(values, key, issues, field=field, required=required, blank=not required)
        if value is not None:
            out[key] = value
    return out


def _ranking(row: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    known = ["prompt", "better_response_id", "safer_response_id"]
    for i in range(MAX_RESPONSES):
        known += [f"response_{i}", f"is_response_{i}_safe"]
    extra = {name: value for name, value in row.items() if name not in known}
    for name in extra:
        if RESPONSE_KEY.fullmatch(str(name)):
            issues.append((str(name), f"at most {MAX_RESPONSES} responses (response_0 … "
                           f"response_{MAX_RESPONSES - 1}); remove it"))  # fmt: skip
    _unknown({n: v for n, v in extra.items() if not RESPONSE_KEY.fullmatch(str(n))}, known, issues)
    out: dict[str, Any] = {"prompt": _text(row, "prompt", issues)}
    present = [i for i in range(MAX_RESPONSES) if f"response_{i}" in row]
    for i in (0, 1):
        if i not in present:
            issues.append((f"response_{i}", f"required: a ranking row needs at least 2 "
                           f"responses (response_0 and response_1); add response_{i}"))  # fmt: skip
    for i in range(MAX_RESPONSES):
        flag = f"is_response_{i}_safe"
        if i not in present:
            if flag in row:
                issues.append((flag, f"names response_{i}, which is not present; remove it or "
                               f"add response_{i}"))  # fmt: skip
            continue
        if i > 1 and i - 1 not in present:
            issues.append((f"response_{i}", f"response_{i - 1} is missing; number the "
                           "responses from 0 without gaps"))  # fmt: skip
        out[f"response_{i}"] = _text(row, f"response_{i}", issues)
        safe = row.get(flag)
        if not isinstance(safe, bool):
            got = "it is missing" if flag not in row else f"got {kind(safe)}"
            issues.append((flag, f"required for response_{i}: true (safe) or false ({got})"))
        out[flag] = safe
    for name in ("better_response_id", "safer_response_id"):
        if name not in row:
            continue
        value = row[name]
        if not isinstance(value, int) or isinstance(value, bool) or value not in present:
            issues.append((name, f"must name a present response: one of "
                           f"{', '.join(map(str, present))} (got {value!r})"))  # fmt: skip
        out[name] = value
    return out


def check_conversations(value: Any, issues: list[Issue]) -> list[dict[str, Any]]:
    """The ``conversations`` rules of image understanding (import and edit alike)."""
    if not isinstance(value, list) or not value:
        got = (
            "an empty list"
            if isinstance(value, list)
            else ("nothing" if value is None else kind(value))
        )
        issues.append(("conversations", f"required: a non-empty list of turns "
                       f'{{"from": "user"|"assistant", "value": "…"}} (got {got})'))  # fmt: skip
        return []
    out: list[dict[str, Any]] = []
    for i, turn in enumerate(value):
        at = f"conversations[{i}]"
        if not isinstance(turn, dict):
            issues.append((at, f'must be an object {{"from": …, "value": …}} (got {kind(turn)})'))
            continue
        _unknown(turn, ["from", "value"], issues, f"{at}.")
        speaker = turn.get("from")
        if speaker not in SPEAKERS:
            got = "it is missing" if speaker is None else f"got {speaker!r}"
            issues.append((f"{at}.from", f"from must be one of user, assistant ({got})"))
        text = _text(turn, "value", issues, field=f"{at}.value")
        out.append({"from": speaker, "value": text})
    return out


def image_refs(conversations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(field, path)`` for every ``<img>path</img>`` in the turns' values."""
    refs = []
    for i, turn in enumerate(conversations):
        value = turn.get("value")
        if isinstance(value, str):
            refs += [(f"conversations[{i}].value", m.strip()) for m in IMG_REF.findall(value)]
    return refs


def _understanding(row: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    _unknown(row, ["id", "conversations"], issues)
    ident = _text(row, "id", issues)
    return {"id": ident, "conversations": check_conversations(row.get("conversations"), issues)}


CHECKERS = {
    "multi_turn": _multi_turn,
    "sft": _sft,
    "qa_pair": _qa_pair,
    "ranking": _ranking,
    "image_understanding": _understanding,
}
