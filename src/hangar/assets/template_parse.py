"""Reading an annotated-dataset import into records, with per-row errors (spec 07 §2.3, G4).

``parse_import(key, root, files)`` reads the files of one import (already extracted and
checked by ``archives``) and returns every valid record and every problem found:

- a file whose extension is not one of the template's formats is a whole-file error (row
  ``None``) naming the allowed formats. Operating-system clutter that archivers add by
  themselves (``__MACOSX/``, ``._*``, ``.DS_Store``, ``Thumbs.db``, ``desktop.ini``) is
  skipped silently;
- **jsonl**: one JSON object per line, rows numbered from 1 by line; blank lines are skipped;
  a line that is not UTF-8 or not JSON is an error for that line, not for the file;
- **json**: an array of objects (row = index + 1) or one object (row 1);
- **xlsx**: the first sheet, read with openpyxl in read-only mode. Row 1 is the header naming
  the fields (any case; Q&A also takes the long names); rows are numbered as in the sheet.
  Empty cells read as ``""``, numbers as their shortest text (``3``, not ``3.0``), booleans
  as ``true``/``false``, dates in ISO 8601. Blank rows are skipped. A header that misses a
  required column or names an unknown one is reported on row 1 and the rows are not read;
- **xls** (the legacy binary format) is not read: a whole-file error asks for ``.xlsx``;
- **images**: the first bytes must really be the format the extension names (JPEG for
  ``.jpg``/``.jpeg``, PNG, BMP, WebP); for the image templates every image is one record
  ``{"image": "<path>"}``;
- **image understanding**: the jsonl rows are the records, images are their material: ids are
  unique across the import and every ``<img>path</img>`` must name an image of the import,
  relative to its root or to the jsonl file's folder. At least one jsonl file is required.

Each bad row gives one error per problem (its field path and a message naming the rule and
the fix) and is not a record. At most 1,000 errors are kept; ``error_count`` is the true total.
An import with no records and no errors is an error too.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from hangar.assets.template_rules import SFT_FIELDS, check_row, image_refs, qa_key
from hangar.assets.template_schemas import Template, template

MAX_ERRORS = 1000
IMAGE_FORMAT = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "webp": "WEBP"}
XLS_MESSAGE = (
    "legacy .xls workbooks are not read; open the file in your spreadsheet and save it as "
    ".xlsx (Excel workbook), then import it"
)
CLUTTER = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class RowError:
    file: str  # relative path inside the import; "" for the whole import
    row: int | None  # line (jsonl), element (json), sheet row (xlsx); None: the whole file
    field: str  # "messages[2].role", "output"; "" for the whole row or file
    message: str


@dataclass(frozen=True)
class Record:
    file: str
    row: int | None
    data: dict[str, Any]


@dataclass
class ParseResult:
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, file: str, row: int | None, name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(file, row, name, message))


@dataclass(frozen=True)
class Bad:
    """A row that could not be decoded (yielded in place of the row)."""

    field: str
    message: str


Rows = Iterator[tuple[int | None, Any]]


def parse_import(template_key: str, root: Path, files: Sequence[str]) -> ParseResult:
    """Every record and every problem of an import (see the module notes)."""
    tpl = template(template_key)
    result = ParseResult()
    files = [f for f in files if not _clutter(f)]
    images = {f for f in files if extension(f) in IMAGE_FORMAT and extension(f) in tpl.formats}
    ids: dict[str, str] = {}
    for rel in files:
        ext = extension(rel)
        if ext not in tpl.formats:
            shown = f".{ext} files" if ext else "files without an extension"
            message = f"{shown} are not part of a {tpl.title} import; the formats are "
            result.add_error(rel, None, "", f"{message}{_formats(tpl)}: convert or remove it")
        elif ext in IMAGE_FORMAT:
            _image(tpl, root, rel, ext, result)
        else:
            for row, obj in _rows(tpl, root / rel, ext):
                if isinstance(obj, Bad):
                    result.add_error(rel, row, obj.field, obj.message)
                else:
                    _row(tpl, rel, row, obj, images, ids, result)
    if tpl.key == "image_understanding" and not any(extension(f) == "jsonl" for f in files):
        result.add_error("", None, "", "an image-understanding import needs at least one .jsonl "
                         "file holding the conversations; add it beside the images")  # fmt: skip
    if not result.records and result.ok:
        result.add_error("", None, "", f"the import holds no records; add {_formats(tpl)} "
                         "files with at least one record")  # fmt: skip
    return result


def extension(rel: str) -> str:
    suffix = PurePosixPath(rel).suffix
    return suffix[1:].lower() if suffix else ""


def _formats(tpl: Template) -> str:
    return ", ".join(f".{ext}" for ext in sorted(tpl.formats))


def _clutter(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return rel.startswith("__MACOSX/") or name.startswith("._") or name.lower() in CLUTTER


def sniff(head: bytes) -> str | None:
    """The image format ``head`` (a file's first bytes) starts, or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _image(tpl: Template, root: Path, rel: str, ext: str, result: ParseResult) -> None:
    expected = IMAGE_FORMAT[ext]
    try:
        with (root / rel).open("rb") as f:
            head = f.read(32)
    except OSError as err:
        result.add_error(rel, None, "", f"could not be read ({err.strerror}); upload it again")
        return
    actual = sniff(head)
    if actual is None:
        result.add_error(rel, None, "", f"not a {expected} image: its first bytes match no "
                         "image format; export the image again or remove the file")  # fmt: skip
        return
    if actual != expected:
        better = sorted((e for e in tpl.formats if IMAGE_FORMAT.get(e) == actual), key=len)
        fix = f"rename it to .{better[0]}" if better else f"convert it to {expected}"
        result.add_error(rel, None, "", f"the content is a {actual} image, not {expected} as "
                         f"the extension says; {fix}")  # fmt: skip
        return
    if tpl.key != "image_understanding":  # there images are material, the rows are records
        result.records.append(Record(rel, None, {"image": rel}))


def _row(tpl: Template, rel: str, row: int | None, obj: Any, images: set[str],
         ids: dict[str, str], result: ParseResult) -> None:  # fmt: skip
    data, issues = check_row(tpl.key, obj)
    if data is not None and tpl.key == "image_understanding":
        where = f"{rel} row {row}"
        first = ids.setdefault(data["id"], where)
        if first != where:
            issues.append(("id", f"id {data['id']!r} is already used by {first}; ids must be "
                           "unique across the import"))  # fmt: skip
        folder = posixpath.dirname(rel)
        for name, ref in image_refs(data["conversations"]):
            if resolve_image(ref, folder, images) is None:
                issues.append((name, f"references image {ref!r}, which is not in the import; "
                               "add it or fix the path (relative to the import's root or to "
                               "the jsonl file's folder)"))  # fmt: skip
    for name, message in issues:
        result.add_error(rel, row, name, message)
    if data is not None and not issues:
        result.records.append(Record(rel, row, data))


def resolve_image(ref: str, folder: str, images: set[str]) -> str | None:
    """The imported image ``ref`` names (from the root or ``folder``), or ``None``."""
    for base in ("", folder) if folder else ("",):
        joined = posixpath.normpath(posixpath.join(base, ref)) if ref else ""
        if joined and not joined.startswith(("/", "../")) and joined in images:
            return joined
    return None


def _rows(tpl: Template, path: Path, ext: str) -> Rows:
    try:
        if ext == "jsonl":
            yield from _jsonl(path)
        elif ext == "json":
            yield from _json(path)
        elif ext == "xlsx":
            yield from _xlsx(tpl, path)
        else:  # xls
            yield None, Bad("", XLS_MESSAGE)
    except OSError as err:
        yield None, Bad("", f"could not be read ({err.strerror}); upload it again")


def _decode(raw: bytes) -> tuple[Any, Bad | None]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return None, Bad("", f"not UTF-8 text (byte {err.start + 1}); save the file as UTF-8")
    try:
        return json.loads(text), None
    except json.JSONDecodeError as err:
        return None, Bad("", f"not valid JSON ({err.msg} at line {err.lineno} column "
                         f"{err.colno}); fix the syntax")  # fmt: skip
    except RecursionError:
        return None, Bad("", "not valid JSON: nested too deeply")


def _jsonl(path: Path) -> Rows:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            value, bad = _decode(raw.rstrip())
            if bad is not None:
                message = bad.message.replace(" at line 1 ", " at ")
                yield number, Bad("", f"{message}; each line must hold one complete JSON object")
            else:
                yield number, value


def _json(path: Path) -> Rows:
    value, bad = _decode(path.read_bytes())
    if bad is not None:
        yield None, bad
    elif isinstance(value, list):
        yield from enumerate(value, start=1)
    elif isinstance(value, dict):
        yield 1, value
    else:
        yield None, Bad("", "a .json file must hold an array of objects [{…}, …] or one object")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _column(tpl: Template, name: str) -> str | None:
    """The field a header cell names (``None``: unknown). Q&A keeps the header as written, so
    errors name the user's column; the row rules map it."""
    if tpl.key == "qa_pair":
        return name.strip() if qa_key(name) else None
    key = name.strip().lower()
    return key if key in SFT_FIELDS else None


def _header(tpl: Template, cells: tuple[Any, ...]) -> tuple[dict[int, str], list[Bad]]:
    columns: dict[int, str] = {}
    problems: list[Bad] = []
    seen: dict[str, str] = {}
    allowed = "Q (Query), A (Answer), text, match, file, SQ (Similar-Question)" \
        if tpl.key == "qa_pair" else ", ".join(SFT_FIELDS)  # fmt: skip
    for index, cell in enumerate(cells):
        name = _cell(cell).strip()
        if not name:
            continue
        key = _column(tpl, name)
        if key is None:
            problems.append(Bad(name, f"unknown column in the header (row 1); the columns are "
                                f"{allowed}"))  # fmt: skip
            continue
        canonical = qa_key(key) if tpl.key == "qa_pair" else key
        if canonical in seen:
            problems.append(Bad(name, f"the header names this column twice (also "
                                f"{seen[canonical]!r}); keep one"))  # fmt: skip
            continue
        seen[str(canonical)] = name
        columns[index] = key
    required = ("Q", "A") if tpl.key == "qa_pair" else ("instruction", "output")
    for key in required:
        if key not in seen:
            problems.append(Bad(key, f"the header (row 1) has no {key!r} column; name the "
                                f"columns {allowed}"))  # fmt: skip
    return columns, problems


def _xlsx(tpl: Template, path: Path) -> Rows:
    resave = "save it again from your spreadsheet as .xlsx (Excel workbook)"
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl fails in many ways on a file that is not a workbook
        yield None, Bad("", f"not a readable .xlsx workbook ({type(err).__name__}); {resave}")
        return
    try:
        yield from _sheet(tpl, book.worksheets[0].iter_rows(values_only=True))
    except Exception as err:  # a corrupt sheet fails while it is read, inside openpyxl
        yield None, Bad("", f"the first sheet could not be read ({type(err).__name__}); {resave}")
    finally:
        book.close()


def _sheet(tpl: Template, rows: Iterator[tuple[Any, ...]]) -> Rows:
    header = next(rows, None)
    if header is None or not any(_cell(c).strip() for c in header):
        yield None, Bad("", "the first sheet has no header; row 1 must name the columns")
        return
    columns, problems = _header(tpl, header)
    for bad in problems:
        yield 1, bad
    if problems:
        return
    for number, values in enumerate(rows, start=2):
        if all(_cell(v).strip() == "" for v in values):
            continue
        stray = [i for i, v in enumerate(values) if i not in columns and _cell(v).strip()]
        if stray:
            letter = get_column_letter(stray[0] + 1)
            yield number, Bad("", f"column {letter} has a value but no header in row 1; "
                              "name the column or clear the cell")  # fmt: skip
            continue
        row = {key: "" for key in columns.values()}
        row.update({columns[i]: _cell(v) for i, v in enumerate(values) if i in columns})
        yield number, row
