"""Input files for the Kafka producers: JSON Lines as they are, CSV converted to the same JSON lines.

Both kinds end as one JSON line per fact, numbered by the file's physical line, and go through the
same validation (`producers.validate.parse_lines`): a CSV row is refused for the same reasons, with
the same field names, as the JSON line it stands for.

JSON Lines (any name not ending in ``.csv``): one JSON object per line, the contract of docs/facts.md.
A line that is not UTF-8 is refused on its own (``field`` None, reason "not valid UTF-8 ...").

CSV (a name ending in ``.csv``, UTF-8, an Excel byte-order mark is tolerated):

- the first row is the header: a ``type`` column plus the fields of the facts, named as in JSON
  (``id``, ``at``, ``source``, ``account_id``, ...). One file may mix fact types: its header is then
  the union of their fields, and each row leaves the columns of other types empty;
- an empty cell means the field is absent (its default applies; a required field is then missing);
  there is no way to write JSON ``null``, and none is needed: absent and null mean the same for the
  optional fields;
- lists (``certificate_ids``) are ``;``-separated: ``CERT-1;CERT-2``;
- numbers (``stars``, ``v``) are written as digits; booleans (``authorised``, ``passed``,
  ``serious``) as ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, any case); times as in JSON,
  RFC 3339 with an offset (``2025-03-03T09:30:00+08:00``). A cell that does not read as its field's
  kind is passed on as text, so validation names the field and the reason;
- a row with more cells than the header has columns is refused (the extra cells would be lost);
  a shorter row reads its missing trailing cells as empty;
- a non-empty cell in a column that is not a field of the row's type is refused like a misspelt
  JSON field ("unknown field").

Example::

    type,id,at,source,company_id,name,account_id,person_id,stars,product_line,certificate_ids
    company.registered,crm-1,2025-01-06T09:00:00+08:00,crm,C-ACME,Acme Ltd,,,,,
    account.opened,crm-2,2025-01-06T10:00:00+08:00,crm,C-ACME,,A-1001,P-1,,,
    rating.issued,crm-3,2025-01-07T10:00:00+08:00,crm,C-ACME,,,,3,storage,CERT-1;CERT-2

A file the reader cannot read as a whole (a CSV that is not UTF-8 or has no ``type`` column, a
missing file) raises `SourceError` before anything is published.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal

import msgspec
import msgspec.inspect as mi

from producers.validate import Rejection
from schemas import facts as f

Kind = Literal["text", "int", "bool", "list"]
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_INT = re.compile(r"^[+-]?[0-9]+$")


class SourceError(Exception):
    """A whole file cannot be read; the message names the file and what to do."""


@dataclass
class Source:
    """One input: its name (used in rejections and reject keys), its JSON lines (index i is line
    i + first; blank lines stand for lines that are not facts, e.g. a CSV header) and the lines
    already refused while reading. `first` > 1: a window further into a file (`source_windows`)."""

    name: str
    lines: list[bytes]
    rejected: list[Rejection] = field(default_factory=list)
    first: int = 1


def read_source(path: Path) -> Source:
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    data = path.read_bytes()
    if path.suffix.lower() == ".csv":
        return csv_source(data, str(path))
    return jsonl_source(data, str(path))


def check_source(path: Path) -> None:
    """Raise SourceError for a file that cannot be read as a whole, reading it once if it is a CSV:
    a streamed run checks every file before it publishes anything, as a run that reads them whole."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as text:
            check_csv(text, str(path))


def source_windows(path: Path, size: int, progress: Callable[[int], None] | None = None) -> Iterator[Source]:
    """The file as `read_source` reads it, `size` lines at a time: what a big file costs in memory
    is one window. `check_source` it first. `progress` is told the bytes each window read."""
    name = str(path)
    tell = progress or (lambda n: None)
    if path.suffix.lower() == ".csv":
        with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            read = 0
            for window in csv_windows(text, name, size):
                at = raw.tell()  # the bytes read ahead count too: a progress bar, not a position
                tell(at - read)
                read = at
                yield window
        return
    with path.open("rb") as stream:
        first = 1
        while chunk := list(islice(stream, size)):
            lines = [line[:-1] if line.endswith(b"\n") else line for line in chunk]
            window = Source(name, lines, first=first)
            try:
                b"".join(chunk).decode("utf-8")
            except UnicodeDecodeError:
                window.rejected = screen_utf8(lines, name, first)
            tell(sum(map(len, chunk)))
            yield window
            first += len(chunk)


def jsonl_source(data: bytes, name: str) -> Source:
    """JSON Lines as they are; a line that is not UTF-8 is refused here (the JSON decoder would raise
    a UnicodeDecodeError that no per-line handler expects)."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the final newline ends the last line; it does not start another
    source = Source(name, lines)
    try:
        data.decode("utf-8")  # one fast pass over the whole file; almost always enough
    except UnicodeDecodeError:
        source.rejected = screen_utf8(lines, name)
    return source


def screen_utf8(lines: list[bytes], name: str, first: int = 1) -> list[Rejection]:
    """Replace each line that is not UTF-8 by a blank one (keeping the numbering) and refuse it."""
    rejected = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            raw = line.decode("utf-8", "replace").rstrip("\r\n")
            reason = f"not valid UTF-8 (byte {err.start + 1} of the line); send UTF-8 text"
            rejected.append(Rejection(file=name, line=i + first, field=None, reason=reason, raw=raw))
            lines[i] = b""
    return rejected


def csv_source(data: bytes, name: str) -> Source:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError(f"{name}: not UTF-8 (byte {err.start + 1}); save the CSV as UTF-8") from None
    return next(csv_windows(io.StringIO(text, newline=""), name, size=None))


def csv_windows(text: IO[str], name: str, size: int | None) -> Iterator[Source]:
    """The CSV rows of `text` as JSON lines, `size` lines at a time (None: one window); a window
    may run past `size` by the blank lines a multi-line record spans."""
    reader = csv.reader(text)
    header = _header(reader, name)
    window = Source(name, [b""])  # line 1, the header, is not a fact
    for start, row in _rows(reader, name):
        if size is not None and len(window.lines) >= size:
            yield window
            window = Source(name, [], first=window.first + len(window.lines))
        window.lines += [b""] * (start - window.first - len(window.lines))  # blank, multi-line records
        if len(row) > len(header):
            reason = f"{len(row)} cells, but the header has {len(header)} columns"
            raw = ",".join(row)
            window.rejected.append(Rejection(file=name, line=start, field=None, reason=reason, raw=raw))
            window.lines.append(b"")
        elif any(row):
            window.lines.append(msgspec.json.encode(row_to_object(header, row)))
        else:
            window.lines.append(b"")
    yield window


def _header(reader: Any, name: str) -> list[str]:
    try:
        header = [cell.strip() for cell in next(reader, [])]
    except csv.Error as err:
        raise SourceError(f"{name}: line 1: {err}") from None
    if "type" not in header:
        raise SourceError(f"{name}: the header (line 1) has no `type` column; see producers/sources.py")
    if len(set(header)) != len(header):
        twice = sorted({c for c in header if header.count(c) > 1})
        raise SourceError(f"{name}: the header names a column twice: {', '.join(twice)}")
    return header


def check_csv(text: IO[str], name: str) -> None:
    """Raise SourceError for what stops a whole CSV file (not UTF-8, no `type` column, a broken
    quote), reading it once without converting a row: a streamed file is refused before any of it
    is published, as a file read whole is."""
    try:
        reader = csv.reader(text)
        _header(reader, name)
        for _ in _rows(reader, name):
            pass
    except UnicodeDecodeError as err:
        raise SourceError(f"{name}: not UTF-8 ({err.reason}); save the CSV as UTF-8") from None


def _rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the physical line it starts on (a quoted cell may span lines)."""
    line_num: int = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise SourceError(f"{name}: line {line_num + 1}: {err}") from None
        yield line_num + 1, row
        line_num = reader.line_num


def row_to_object(header: list[str], row: list[str]) -> dict[str, object]:
    """A CSV row as the JSON object of its fact: empty cells left out, cells typed by the field."""
    cells = dict(zip(header, row, strict=False))
    fact_type = f.TYPE_OF_TAG.get(cells.get("type", "").strip())
    kinds = field_kinds(fact_type) if fact_type is not None else {}
    out: dict[str, object] = {}
    for column, cell in cells.items():
        if cell == "":
            continue
        out[column] = cell.strip() if column == "type" else convert(cell, kinds.get(column, "text"))
    return out


def convert(cell: str, kind: Kind) -> object:
    if kind == "list":
        return [item.strip() for item in cell.split(";") if item.strip()]
    if kind == "int" and _INT.match(cell.strip()):
        return int(cell)
    if kind == "bool":
        if (word := cell.strip().lower()) in _TRUE:
            return True
        if word in _FALSE:
            return False
    return cell  # text, or a cell that is not of its kind: validation names the field


@cache
def field_kinds(fact_type: type[f.Fact]) -> dict[str, Kind]:
    info = mi.type_info(fact_type)
    assert isinstance(info, mi.StructType)
    return {fd.encode_name: _kind(fd.type) for fd in info.fields}


def _kind(t: mi.Type) -> Kind:
    if isinstance(t, mi.Metadata):
        return _kind(t.type)
    if isinstance(t, mi.UnionType):
        kinds = {_kind(x) for x in t.types if not isinstance(x, mi.NoneType)}
        return kinds.pop() if len(kinds) == 1 else "text"
    if isinstance(t, mi.BoolType):
        return "bool"
    if isinstance(t, mi.IntType):
        return "int"
    if isinstance(t, mi.VarTupleType | mi.ListType | mi.TupleType | mi.SetType | mi.FrozenSetType):
        return "list"
    return "text"
