"""A producer's file read a window at a time (producers.sources.source_windows): every line keeps
its number, a line that is not UTF-8 is refused with its own number, and a CSV's records spanning
lines leave the numbering as the file read whole has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.sources import SourceError, check_source, read_source, source_windows


def numbered(path: Path, size: int) -> list[tuple[int, bytes]]:
    return [(w.first + i, line) for w in source_windows(path, size) for i, line in enumerate(w.lines)]


def test_json_lines_keep_their_numbers_and_a_bad_byte_is_refused_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a":1}\n{"a":2}\n\n{"a":"\xe9"}\n{"a":5}')  # no final newline
    windows = list(source_windows(path, 2))
    assert [(w.first, len(w.lines)) for w in windows] == [(1, 2), (3, 2), (5, 1)]
    assert numbered(path, 2) == [(1, b'{"a":1}'), (2, b'{"a":2}'), (3, b""), (4, b""), (5, b'{"a":5}')]
    told: list[int] = []
    assert len(list(source_windows(path, 2, told.append))) == 3
    assert told == [16, 11, 7]  # the bytes of each window, for the progress bar: the whole file
    ((refused,),) = [w.rejected for w in windows if w.rejected]
    assert (refused.line, refused.field) == (4, None)
    assert refused.reason == "not valid UTF-8 (byte 7 of the line); send UTF-8 text"


def test_csv_windows_number_lines_as_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        "type,id,at,source,company_id,name\n"
        "company.registered,c1,2025-01-06T09:00:00+08:00,crm,C-1,Acme\n"
        "\n"
        'company.registered,c2,2025-01-06T09:00:00+08:00,crm,C-2,"Two\nlines"\n'
        "company.registered,c3,2025-01-06T09:00:00+08:00,crm,C-3,Three,extra\n"
        "company.registered,c4,2025-01-06T09:00:00+08:00,crm,C-4,Four\n",
        encoding="utf-8",
    )
    whole = read_source(path)
    for size in (1, 2, 3, 100):
        got = numbered(path, size)
        assert [line for _, line in got] == whole.lines, size
        assert [n for n, _ in got] == list(range(1, len(whole.lines) + 1))
        rejected = [r for w in source_windows(path, size) for r in w.rejected]
        assert [(r.line, r.reason) for r in rejected] == [(6, "7 cells, but the header has 6 columns")]
    assert [n for n, line in numbered(path, 2) if line] == [2, 4, 7]
    told: list[int] = []
    list(source_windows(path, 2, told.append))
    assert sum(told) == path.stat().st_size


def test_a_csv_that_cannot_be_read_whole_is_refused_before_any_window(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"type,id\ncompany.registered,c\xe9\n")
    with pytest.raises(SourceError, match="not UTF-8"):
        check_source(path)
    with pytest.raises(SourceError, match="no such file"):
        check_source(tmp_path / "missing.csv")
