"""Several writers on one embedded log: nothing lost, nothing dropped silently, no `database is locked`.

Every line of every run is appended, a duplicate of what is on the log, or reported (line, field,
reason); a writer that finds the log locked waits; one that waits too long gets one clear error.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from consumers.embedded import DecisionNotRecorded, Hotline
from domain.policy import load_policy
from producers.ingest import IngestReport, IngestStopped, _Line, ingest_files, land
from producers.rejects_file import RejectsFile
from producers.validate import Rejection, parse_lines
from schemas.codec import to_msgpack
from schemas.derived import CallRequest
from storage.log import EmbeddedLog, LogBusy

POLICY = load_policy()


def company_line(i: int, name: str) -> str:
    return json.dumps(
        {
            "type": "company.registered",
            "id": f"co-{i}",
            "at": "2025-01-01T09:00:00+08:00",
            "source": "crm",
            "company_id": f"C{i}",
            "name": name,
        }
    )


def account_line(fact_id: str, account: str, company: str, at: str = "2025-01-01T09:00:00+08:00") -> str:
    return json.dumps(
        {
            "type": "account.opened",
            "id": fact_id,
            "at": at,
            "source": "crm",
            "account_id": account,
            "company_id": company,
            "person_id": f"P-{account}",
        }
    )


def call_line(fact_id: str, account: str, at: str) -> str:
    return json.dumps(
        {
            "type": "call.received",
            "id": fact_id,
            "at": at,
            "source": "cc",
            "account_id": account,
            "number": "+8613800000001",
            "barcode": "NOT-INSTALLED",
            "stated_model": "M",
            "stated_site": "S",
            "problem": "x",
        }
    )


ACME_A1 = [company_line(1, "Acme"), account_line("ac-1", "A1", "C1")]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_concurrent_ingests_of_conflicting_files_lose_nothing(tmp_path: Path) -> None:
    """Two runs with the same ids and other content, interleaved part by part: each id lands once, and
    every line of the run whose version lost is reported (field `id`), none silently dropped."""
    n = 600
    db = tmp_path / "log.db"
    EmbeddedLog(db).close()
    files = {
        side: write(tmp_path / f"{side}.jsonl", [company_line(i, f"{side} {i}") for i in range(n)])
        for side in ("left", "right")
    }
    reports = {}
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(side: str) -> None:
        try:
            with EmbeddedLog(db) as log:
                start.wait()
                reports[side] = ingest_files(log, [files[side]], part=7)  # many short transactions
        except BaseException as e:  # noqa: BLE001 (reported below, in the test's thread)
            failures.append(e)

    threads = [threading.Thread(target=run, args=(side,)) for side in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with EmbeddedLog(db) as log:
        on_log = {fact.id: fact.name for fact in log.read()}  # type: ignore[attr-defined]
    assert len(on_log) == n
    for side, report in reports.items():
        lost = {f"co-{r.line - 1}" for r in report.rejected}
        assert all(
            r.field == "id" and "already used by a different fact" in r.reason for r in report.rejected
        )
        won = {fid for fid, name in on_log.items() if name.startswith(side)}
        assert report.appended == len(won)
        assert lost == set(on_log) - won  # each line the other run won is reported, line by line
        assert report.appended + report.duplicates + len(report.rejected) == report.read == n


def test_a_conflict_written_by_another_writer_after_the_check_is_reported(tmp_path: Path) -> None:
    """The race: the run read its lines, then another writer appended the same id with other content
    before the run's part was written. The part's own check, inside its transaction, reports it."""
    db = tmp_path / "log.db"
    source = write(tmp_path / "run.jsonl", [company_line(1, "Acme"), account_line("ac-1", "A1", "C1")])
    with EmbeddedLog(db) as log, EmbeddedLog(db) as other:
        facts, _ = parse_lines(source.read_bytes().splitlines(), str(source))
        admitted = [_Line(str(source), line, fact, to_msgpack(fact)) for line, fact in facts]
        # meanwhile: co-1 with other content, introducing another company
        other_file = write(tmp_path / "other.jsonl", [company_line(1, "Other").replace('"C1"', '"C9"')])
        assert ingest_files(other, [other_file]).appended == 1
        report = IngestReport()
        land(log, admitted, report)
    assert report.appended == 0
    assert [(r.line, r.field) for r in report.rejected] == [(1, "id"), (2, "company_id")]


def test_a_line_refused_for_its_references_does_not_claim_its_id(tmp_path: Path) -> None:
    lines = [
        account_line("ac-1", "A1", "C-404"),  # refused: no such company
        company_line(1, "Acme"),
        account_line("ac-1", "A1", "C1"),  # the real fact under that id
    ]
    for part in (1, 100):  # within one part, and across parts
        with EmbeddedLog(tmp_path / f"log-{part}.db") as log:
            report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)], part=part)
            assert [(r.line, r.field) for r in report.rejected] == [(1, "company_id")]
            assert report.appended == 2
            [account] = [fact for fact in log.read() if fact.id == "ac-1"]
            assert account.company_id == "C1"  # type: ignore[attr-defined]


def test_a_line_relying_on_a_later_line_lands_after_it_whatever_the_parts(tmp_path: Path) -> None:
    lines = [
        call_line("call-1", "A1", "2025-01-02T09:00:00+08:00"),
        account_line("ac-1", "A1", "C1"),
        company_line(1, "Acme"),
    ]
    with EmbeddedLog(tmp_path / "log.db") as log:
        report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)], part=1)
        assert report.rejected == [] and report.appended == 3
        assert [fact.id for fact in log.read()] == ["co-1", "ac-1", "call-1"]


def test_a_reference_to_an_entity_introduced_later_in_event_time_is_refused(tmp_path: Path) -> None:
    lines = [
        company_line(1, "Acme"),
        account_line("ac-1", "A1", "C1", at="2025-03-01T09:00:00+08:00"),
        call_line("call-1", "A1", "2025-02-01T09:00:00+08:00"),  # before the account was opened
        call_line("call-2", "A1", "2025-03-01T09:00:00+08:00"),  # the same instant: known then
    ]
    with EmbeddedLog(tmp_path / "log.db") as log:
        report = ingest_files(log, [write(tmp_path / "run.jsonl", lines)])
        assert [(r.line, r.field) for r in report.rejected] == [(3, "account_id")]
        assert "introduced only at 2025-03-01T01:00:00+00:00" in report.rejected[0].reason
        # the same holds against what is already on the log, in a later run
        again = ingest_files(log, [write(tmp_path / "later.jsonl", [lines[2]])])
        assert [(r.line, r.field) for r in again.rejected] == [(1, "account_id")]


def test_a_log_written_before_introduction_times_were_kept_is_filled_from_its_facts(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with EmbeddedLog(db) as log:
        ingest_files(
            log, [write(tmp_path / "a.jsonl", [company_line(1, "Acme"), account_line("ac-1", "A1", "C1")])]
        )
    raw = sqlite3.connect(db)
    raw.executescript(
        "DROP TABLE introductions; CREATE TABLE entities (kind TEXT, key TEXT, PRIMARY KEY (kind, key));"
    )
    raw.close()
    with EmbeddedLog(db) as log:
        early = call_line("call-0", "A1", "2024-12-01T09:00:00+08:00")
        late = call_line("call-1", "A1", "2025-01-02T09:00:00+08:00")
        report = ingest_files(log, [write(tmp_path / "b.jsonl", [early, late])])
        assert report.appended == 1 and [(r.line, r.field) for r in report.rejected] == [(1, "account_id")]


def hold_the_write_lock(db: Path, seconds: float, held: threading.Event) -> threading.Thread:
    def run() -> None:
        with EmbeddedLog(db) as log, log.writing():
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=run)
    thread.start()
    held.wait()
    return thread


def request() -> CallRequest:
    return CallRequest(
        account_id="A1", number="+8613800000001", barcode="B", stated_model="M", stated_site="S"
    )


def test_a_check_while_another_writer_holds_the_log_waits_and_records(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with EmbeddedLog(db) as log:
        ingest_files(
            log, [write(tmp_path / "a.jsonl", [company_line(1, "Acme"), account_line("ac-1", "A1", "C1")])]
        )
    hotline = Hotline.of(EmbeddedLog(db), POLICY)
    hotline.state()  # folded before: the check itself only waits to record
    writer = hold_the_write_lock(db, 1.5, threading.Event())
    started = time.monotonic()
    decision = hotline.check(request())
    assert time.monotonic() - started >= 1.0  # it waited for the writer instead of failing
    writer.join()
    assert [d.id for d in hotline.log.decisions()] == [decision.id]
    hotline.log.close()


def test_past_the_busy_timeout_check_and_ingest_fail_with_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EmbeddedLog, "busy_timeout_s", 0.2)
    db = tmp_path / "log.db"
    with EmbeddedLog(db) as log:
        ingest_files(log, [write(tmp_path / "a.jsonl", [company_line(1, "Acme")])])
    hotline = Hotline.of(EmbeddedLog(db), POLICY)
    hotline.state()
    release = threading.Event()
    held = threading.Event()

    def run() -> None:
        with EmbeddedLog(db) as log, log.writing():
            held.set()
            release.wait(10)

    writer = threading.Thread(target=run)
    writer.start()
    held.wait()
    try:
        with pytest.raises(DecisionNotRecorded) as not_recorded:
            hotline.check(request())
        assert not_recorded.value.decision.admitted is False
        with EmbeddedLog(db) as log, pytest.raises(IngestStopped) as stopped:
            ingest_files(log, [write(tmp_path / "b.jsonl", ["{bad", company_line(2, "Beta")])])
        assert [(r.line, r.field) for r in stopped.value.report.rejected] == [(1, None)]  # kept for the file
        assert stopped.value.report.appended == 0
    finally:
        release.set()
        writer.join()
    assert hotline.log.decisions() == []
    hotline.log.close()
    with EmbeddedLog(db) as log, pytest.raises(LogBusy), log.writing(), EmbeddedLog(db) as other:
        other.append([])  # a second writer while this one holds the lock


def test_the_rejects_file_belongs_to_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run.rejects.jsonl"
    first = [Rejection(file="a", line=i, field=None, reason="bad", raw="x") for i in (1, 2, 3)]
    for run in (first, first[:1]):
        with RejectsFile(out, ["a"]) as rejects:
            for rejection in run:
                rejects.add(rejection)
    assert [json.loads(line)["line"] for line in out.read_text().splitlines()] == [1]


def test_a_check_during_a_long_ingest_is_answered_and_recorded(tmp_path: Path) -> None:
    """One long transaction (a single part of 30,000 lines) and a check at the same time: the check
    waits for the lock if it must, and its decision is on the log; the ingest lands every line."""
    db = tmp_path / "log.db"
    with EmbeddedLog(db) as log:
        ingest_files(log, [write(tmp_path / "a.jsonl", ACME_A1)])
    many = [call_line(f"call-{i}", "A1", "2025-01-02T09:00:00+08:00") for i in range(30_000)]
    source = write(tmp_path / "many.jsonl", many)
    hotline = Hotline.of(EmbeddedLog(db), POLICY)
    reports = []

    def run() -> None:
        with EmbeddedLog(db) as log:
            reports.append(ingest_files(log, [source], part=30_000))

    writer = threading.Thread(target=run)
    writer.start()
    decision = hotline.check(request())
    writer.join()
    assert [d.id for d in hotline.log.decisions()] == [decision.id]
    assert reports[0].appended == 30_000 and reports[0].rejected == []
    hotline.log.close()


def test_the_cli_check_that_cannot_record_says_so_in_one_line_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hotline.cli import app

    monkeypatch.setattr(EmbeddedLog, "busy_timeout_s", 0.2)
    db = tmp_path / "log.db"
    with EmbeddedLog(db) as log:
        ingest_files(log, [write(tmp_path / "a.jsonl", ACME_A1)])
    runner = CliRunner()
    assert runner.invoke(app, ["state", "--log", str(db)]).exit_code == 0  # its checkpoint tables exist
    release, held = threading.Event(), threading.Event()

    def run() -> None:
        with EmbeddedLog(db) as log, log.writing():
            held.set()
            release.wait(10)

    writer = threading.Thread(target=run)
    writer.start()
    held.wait()
    try:
        args = ["check", "--account", "A1", "--number", "+8613800000001", "--barcode", "B"]
        result = runner.invoke(app, [*args, "--model", "M", "--site", "S", "--log", str(db)])
        source = write(tmp_path / "b.jsonl", ["{bad", company_line(2, "Beta")])
        ingested = runner.invoke(app, ["ingest", str(source), "--log", str(db)])
    finally:
        release.set()
        writer.join()
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # no stack trace
    assert "could not be recorded" in result.output
    assert "Traceback" not in result.output
    assert ingested.exit_code != 0 and isinstance(ingested.exception, SystemExit)
    assert "try again" in ingested.output and "Traceback" not in ingested.output
    rejects = (tmp_path / "b.jsonl.rejects.jsonl").read_text().splitlines()
    assert [json.loads(line)["line"] for line in rejects] == [1]  # written although the run stopped
