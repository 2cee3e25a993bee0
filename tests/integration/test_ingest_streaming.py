"""`hotline ingest` streams: a window of lines at a time, lines relying on a later window wait for it.

Windows of 5 lines (producers.ingest.PART set small) stand for windows of 20,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import producers.ingest
import producers.rejects_file
from hotline.cli import app
from producers.ingest import ingest_files
from storage.log import EmbeddedLog
from tests.integration.test_concurrent_ingest import account_line, call_line, company_line, write

CALL_AT = "2025-01-02T09:00:00+08:00"


def fillers(first: int, n: int) -> list[str]:
    """Companies that nothing refers to: they push a line into a later window."""
    return [company_line(i, f"Filler {i}") for i in range(first, first + n)]


def offsets(log: EmbeddedLog) -> dict[str, int]:
    return {fact_id: offset for offset, fact_id in log.db.execute("SELECT offset, id FROM facts")}


@pytest.fixture(autouse=True)
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producers.ingest, "PART", 5)


def test_a_call_whose_account_is_opened_three_windows_later_lands_once_after_it(tmp_path: Path) -> None:
    lines = [
        company_line(1, "Acme"),  # window 1 (lines 1-5)
        call_line("call-1", "A1", CALL_AT),  # line 2: its account comes on line 16
        *fillers(100, 13),  # lines 3-15: windows 1-3
        account_line("ac-1", "A1", "C1"),  # line 16: window 4 (lines 16-20)
        *fillers(200, 4),
        company_line(2, "Beta"),  # line 21: window 5
    ]
    with EmbeddedLog(tmp_path / "log.db") as log:
        report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)])
        assert report.rejected == []
        assert (report.read, report.appended, report.duplicates) == (21, 21, 0)
        at = offsets(log)
        assert len(at) == 21 and list(at).count("call-1") == 1
        assert at["co-1"] < at["ac-1"] < at["call-1"]  # the call lands after the account it names
        assert at["call-1"] < at["co-2"]  # right after the account's window, not at the end of the run
        again = ingest_files(log, [tmp_path / "run.jsonl"])
        assert (again.appended, again.duplicates, again.rejected) == (0, 21, [])


def test_a_call_naming_an_account_that_never_comes_is_refused_at_the_end(tmp_path: Path) -> None:
    lines = [company_line(1, "Acme"), call_line("call-1", "A-404", CALL_AT), *fillers(100, 10)]
    with EmbeddedLog(tmp_path / "log.db") as log:
        report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)])
        assert [(r.line, r.field, r.reason) for r in report.rejected] == [
            (2, "account_id", "unknown account 'A-404': no fact introduces it")
        ]
        assert report.appended == 11 and "call-1" not in offsets(log)


def test_past_the_waiting_cap_the_oldest_waiting_line_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(producers.ingest, "WAITING", 2)
    lines = [
        company_line(1, "Acme"),
        call_line("call-1", "A1", CALL_AT),  # waits; pushed out by the third waiting line
        call_line("call-2", "A2", CALL_AT),  # waits
        call_line("call-3", "A3", CALL_AT),  # waits
        *fillers(100, 3),  # lines 5-7
        account_line("ac-1", "A1", "C1"),  # lines 8-10: window 2
        account_line("ac-2", "A2", "C1"),
        account_line("ac-3", "A3", "C1"),
    ]
    with EmbeddedLog(tmp_path / "log.db") as log:
        report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)])
        assert [(r.line, r.field, r.reason) for r in report.rejected] == [
            (2, "account_id", "unknown account 'A1': no fact introduces it")
        ]
        at = offsets(log)
        assert report.appended == 9 and "call-1" not in at
        assert at["ac-2"] < at["call-2"] and at["ac-3"] < at["call-3"]


def test_a_waiting_line_is_still_held_to_event_time_when_its_key_comes(tmp_path: Path) -> None:
    lines = [
        company_line(1, "Acme"),
        call_line("call-1", "A1", "2025-02-01T09:00:00+08:00"),  # before the account is opened
        *fillers(100, 4),
        account_line("ac-1", "A1", "C1", at="2025-03-01T09:00:00+08:00"),  # line 7: window 2
    ]
    with EmbeddedLog(tmp_path / "log.db") as log:
        report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)])
        assert [(r.line, r.field) for r in report.rejected] == [(2, "account_id")]
        assert report.rejected[0].reason == (
            "unknown account 'A1' at 2025-02-01T01:00:00+00:00: it is introduced only at "
            "2025-03-01T01:00:00+00:00, later in event time"
        )
        assert report.appended == 6


def test_the_rejects_file_lists_every_refused_line_across_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(producers.rejects_file, "BUFFERED", 2)  # sorted runs spilled, then merged
    lines = [
        "{bad",  # 1: window 1
        company_line(1, "Acme"),
        call_line("call-1", "A-404", CALL_AT),  # 3: waits, refused at the end of the run
        *fillers(100, 3),  # 4-6
        '{"type":"coffee.ordered","id":"x"}',  # 7: window 2
        call_line("call-2", "A1", CALL_AT),  # 8: waits, lands with line 12
        *fillers(200, 3),  # 9-11
        account_line("ac-1", "A1", "C1"),  # 12: window 3
        company_line(1, "Acme again"),  # 13: co-1 with other content
        *fillers(300, 3),  # 14-16: window 4
        "[1]",  # 17
    ]
    source = write(tmp_path / "run.jsonl", lines)
    result = CliRunner().invoke(app, ["ingest", str(source), "--log", str(tmp_path / "log.db")])
    assert result.exit_code == 3, result.output
    assert "12 facts appended, 0 already on the log, 5 rejected" in result.output
    rows = [json.loads(line) for line in (tmp_path / "run.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rows] == [
        (1, None),
        (3, "account_id"),
        (7, "type"),
        (13, "id"),
        (17, None),
    ]
    assert rows[1]["reason"] == "unknown account 'A-404': no fact introduces it"
    assert rows[3]["reason"] == "id 'co-1' is already used by a different fact"
    assert rows[2]["reason"].startswith("unknown fact type") and all(r["reason"] for r in rows)
    assert [line.split()[0] for line in result.output.splitlines() if line.startswith("rejected")] == [
        "rejected"
    ] * 5


def test_the_waiting_lines_stay_bounded_past_many_evictions() -> None:
    """Lines pushed past the cap leave nothing behind for long: the keys index is compacted."""
    from producers.ingest_window import Waiting, _Line
    from producers.validate import parse_lines
    from schemas.codec import to_msgpack

    raw = [call_line("call-1", "A1", CALL_AT), *(account_line(f"ac-{i}", f"A{i}", "C1") for i in (0, 1, 2))]
    parsed, _ = parse_lines([line.encode() for line in raw], "f")
    call, *accounts = [_Line("f", n, fact, to_msgpack(fact)) for n, fact in parsed]
    waiting = Waiting(2)
    evicted = [len(waiting.add(call, {("account", f"A-{i}")})) for i in range(30_000)]
    assert evicted == [0, 0] + [1] * 29_998 and len(waiting) == 2
    assert len(waiting._by_need) <= 10_002  # the index of keys does not grow with the evictions
    assert waiting.add(call, {("account", "A1"), ("account", "A2")}) == [call]  # A-29998 goes
    assert waiting.released_by([accounts[0], accounts[1]]) == []  # it needs A2 as well
    assert waiting.released_by([accounts[2]]) == [call]
    assert len(waiting) == 1  # the line waiting for A-29999
    assert list(waiting.drain(5)) == [[call]] and len(waiting) == 0
