"""Tampering with a real log file, behind the log's back (sqlite3 directly): every kind is caught and the
first record concerned is named by its offset.

The log is made by the real path: `ingest_files` of docs/examples/facts.jsonl (26 facts, offsets 1-26)
and three admission checks (decisions 1-3).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.embedded import Hotline
from domain.policy import load_policy
from producers.ingest import ingest_files
from schemas.derived import CallRequest
from schemas.facts import CompanyRegistered
from storage.chain import Verdict
from storage.log import EmbeddedLog
from storage.log_chain import Unchained

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
POLICY = load_policy()


def by_hand(bodies: list[bytes]) -> bytes:
    """The chain head, written out from storage/chain.py's definition without its code."""
    head = bytes(32)
    for body in bodies:
        head = hashlib.sha256(b"\x01" + head + hashlib.sha256(b"\x00" + body).digest()).digest()
    return head


def made_log(directory: Path) -> Path:
    path = directory / "hotline.db"
    with EmbeddedLog(path) as log:
        assert ingest_files(log, [EXAMPLES]).appended == 26
        hotline = Hotline.of(log, POLICY)
        for number in ("+8613800000001", "+8613800000002", "+8613800000003"):
            request = CallRequest(
                account_id="A-1001", number=number, barcode="B", stated_model="M", stated_site="S"
            )
            hotline.check(request)
    return path


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return made_log(tmp_path)


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def bodies(path: Path, table: str) -> list[bytes]:
    with raw(path) as db:
        return [body for (body,) in db.execute(f"SELECT body FROM {table} ORDER BY offset")]


def checked(path: Path) -> tuple[Verdict, Verdict]:
    with EmbeddedLog(path) as log:
        return log.verify("facts"), log.verify("decisions")


def first_break(verdict: Verdict) -> tuple[int, str]:
    assert verdict.first_break is not None, "the tampering went unnoticed"
    return verdict.first_break.offset, verdict.first_break.kind


def flip_byte(path: Path, table: str, offset: int, at: int = 5) -> None:
    db = raw(path)
    (body,) = db.execute(f"SELECT body FROM {table} WHERE offset = ?", (offset,)).fetchone()
    changed = body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]
    db.execute(f"UPDATE {table} SET body = ? WHERE offset = ?", (changed, offset))
    db.close()


def test_an_untouched_log_is_intact_with_the_head_computed_by_hand(log_file: Path) -> None:
    facts, decisions = checked(log_file)
    assert (facts.intact, facts.records, facts.end_offset) == (True, 26, 26)
    assert facts.head == by_hand(bodies(log_file, "facts"))
    assert (decisions.intact, decisions.records, decisions.end_offset) == (True, 3, 3)
    assert decisions.head == by_hand(bodies(log_file, "decisions"))


def test_a_byte_changed_in_a_body_is_named(log_file: Path) -> None:
    flip_byte(log_file, "facts", 10)
    facts, decisions = checked(log_file)
    assert first_break(facts) == (10, "altered or reordered")
    assert (facts.records, facts.end_offset) == (9, 9)
    assert decisions.intact


def test_a_deleted_record_is_named(log_file: Path) -> None:
    with raw(log_file) as db:
        db.execute("DELETE FROM facts WHERE offset = 7")
    facts, _ = checked(log_file)
    assert first_break(facts) == (7, "removed")
    assert facts.records == 6


def test_two_swapped_records_are_named_at_the_first(log_file: Path) -> None:
    db = raw(log_file)
    (b12,), (b13,) = db.execute("SELECT body FROM facts WHERE offset IN (12, 13) ORDER BY offset")
    db.execute("UPDATE facts SET body = ? WHERE offset = 12", (b13,))
    db.execute("UPDATE facts SET body = ? WHERE offset = 13", (b12,))
    db.close()
    facts, _ = checked(log_file)
    assert first_break(facts) == (12, "altered or reordered")


def test_a_truncated_tail_is_named_by_the_first_missing_offset(log_file: Path) -> None:
    with raw(log_file) as db:
        db.execute("DELETE FROM facts WHERE offset > 22")
    facts, _ = checked(log_file)
    assert first_break(facts) == (23, "removed")
    assert (facts.records, facts.end_offset) == (22, 22)


def test_a_truncated_tail_is_caught_by_sqlite_sequence_when_the_chain_head_is_gone_too(
    log_file: Path,
) -> None:
    with raw(log_file) as db:
        db.execute("DELETE FROM facts WHERE offset > 20")
        db.execute("DELETE FROM chain_head WHERE log = 'facts'")
    facts, _ = checked(log_file)
    assert first_break(facts) == (21, "removed")


def test_a_consistent_rewrite_of_the_file_needs_the_noted_head(log_file: Path) -> None:
    """The limit (docs/audit.md): whoever fixes rows, chain_head and sqlite_sequence together leaves a
    valid shorter chain; only the head an auditor noted elsewhere shows the change."""
    noted = checked(log_file)[0].head
    with raw(log_file) as db:
        (link20,) = db.execute("SELECT link FROM facts WHERE offset = 20").fetchone()
        db.execute("DELETE FROM facts WHERE offset > 20")
        db.execute("UPDATE chain_head SET end_offset = 20, head = ? WHERE log = 'facts'", (link20,))
        db.execute("UPDATE sqlite_sequence SET seq = 20 WHERE name = 'facts'")
    facts, _ = checked(log_file)
    assert facts.intact and facts.end_offset == 20
    assert facts.head != noted


def test_an_altered_decision_is_named(log_file: Path) -> None:
    flip_byte(log_file, "decisions", 2, at=12)
    facts, decisions = checked(log_file)
    assert facts.intact
    assert first_break(decisions) == (2, "altered or reordered")


def test_a_record_added_behind_the_logs_back_is_named(log_file: Path) -> None:
    with raw(log_file) as db:
        db.execute("INSERT INTO facts (id, type, at_us, body) VALUES ('x', 'company.registered', 0, x'00')")
    facts, _ = checked(log_file)
    assert first_break(facts) == (27, "altered or reordered")
    assert facts.first_break is not None and facts.first_break.detail == "no link stored"


def test_a_linked_record_added_without_the_chain_head_is_named(log_file: Path) -> None:
    with raw(log_file) as db:
        (last,) = db.execute("SELECT link FROM facts WHERE offset = 26").fetchone()
        body = b"forged"
        linked = hashlib.sha256(b"\x01" + last + hashlib.sha256(b"\x00" + body).digest()).digest()
        db.execute(
            "INSERT INTO facts (id, type, at_us, body, link) VALUES ('x', 'company.registered', 0, ?, ?)",
            (body, linked),
        )
    facts, _ = checked(log_file)
    assert first_break(facts) == (27, "added")


def test_an_old_log_without_links_is_read_read_only_and_linked_on_a_writable_open(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with raw(log_file) as db:
        links = [bytes(x) for (x,) in db.execute("SELECT link FROM facts ORDER BY offset")]
        db.executescript(
            "ALTER TABLE facts DROP COLUMN link; ALTER TABLE decisions DROP COLUMN link;"
            "DROP TABLE chain_head;"
        )
    with monkeypatch.context() as m:  # as a user who may not write the file (the tests run as root)
        m.setattr(os, "access", lambda path, mode: mode != os.W_OK)
        with EmbeddedLog(log_file) as log:
            assert len(log.read()) == 26 and len(log.decisions()) == 3
            with pytest.raises(Unchained):
                log.verify("facts")
    with raw(log_file) as db:  # the read-only open wrote nothing
        assert "link" not in [c[1] for c in db.execute("PRAGMA table_info(facts)")]
    monkeypatch.setattr("storage.log_chain._BACKFILL_BATCH", 7)  # in several batches: 7 + 7 + 7 + 5
    facts, decisions = checked(log_file)  # the writable open backfills
    assert facts.intact and decisions.intact and (facts.records, decisions.records) == (26, 3)
    with raw(log_file) as db:
        assert [bytes(x) for (x,) in db.execute("SELECT link FROM facts ORDER BY offset")] == links
        assert db.execute("SELECT end_offset FROM chain_head WHERE log = 'decisions'").fetchone() == (3,)
    with EmbeddedLog(log_file) as log:  # and appending goes on from the backfilled head
        log.append(
            [
                CompanyRegistered(
                    id="late",
                    at=datetime(2025, 6, 1, tzinfo=UTC),
                    source="t",
                    company_id="C-LATE",
                    name="Late",
                )
            ]
        )
        assert log.verify("facts").records == 27


def test_two_concurrent_writers_make_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    EmbeddedLog(path).close()
    files = []
    for side in ("left", "right"):
        lines = [
            f'{{"type":"company.registered","id":"{side}-{i}","at":"2025-01-01T09:00:00+08:00",'
            f'"source":"crm","company_id":"{side}{i}","name":"{side} {i}"}}'
            for i in range(300)
        ]
        files.append(tmp_path / f"{side}.jsonl")
        files[-1].write_text("\n".join(lines) + "\n")
    start = threading.Barrier(2)

    def run(source: Path) -> None:
        with EmbeddedLog(path) as log:
            start.wait()
            ingest_files(log, [source], part=7)  # many short transactions, interleaved

    threads = [threading.Thread(target=run, args=(source,)) for source in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    facts, _ = checked(path)
    assert facts.intact and facts.records == 600
    assert facts.head == by_hand(bodies(path, "facts"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12), st.data())
def test_any_single_byte_mutation_is_caught_at_its_offset(names: list[str], data: st.DataObject) -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    facts = [
        CompanyRegistered(id=f"co-{i}", at=at, source="t", company_id=f"C{i}", name=name)
        for i, name in enumerate(names)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.db"
        with EmbeddedLog(path) as log:
            log.append(facts)
            assert log.verify("facts").intact
        stored = bodies(path, "facts")
        i = data.draw(st.integers(0, len(stored) - 1), label="record")
        byte = data.draw(st.integers(0, len(stored[i]) - 1), label="byte")
        mask = data.draw(st.integers(1, 255), label="xor")
        flip = stored[i][:byte] + bytes([stored[i][byte] ^ mask]) + stored[i][byte + 1 :]
        with raw(path) as db:
            db.execute("UPDATE facts SET body = ? WHERE offset = ?", (flip, i + 1))
        verdict, _ = checked(path)
        assert first_break(verdict) == (i + 1, "altered or reordered")


def swap(path: Path, a: int, b: int) -> None:
    db = raw(path)
    (ba,), (bb,) = db.execute("SELECT body FROM facts WHERE offset IN (?, ?) ORDER BY offset", (a, b))
    db.execute("UPDATE facts SET body = ? WHERE offset = ?", (bb, a))
    db.execute("UPDATE facts SET body = ? WHERE offset = ?", (ba, b))
    db.close()


def delete(path: Path, offset: int) -> None:
    with raw(path) as db:
        db.execute("DELETE FROM facts WHERE offset = ?", (offset,))


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [  # three workers check offsets 1-8, 9-17 and 18-26
        (lambda path: None, None),
        (lambda path: delete(path, 8), (8, "removed")),  # the last of a stretch
        (lambda path: delete(path, 9), (9, "removed")),  # the first of the next
        (lambda path: flip_byte(path, "facts", 18), (18, "altered or reordered")),
        (lambda path: swap(path, 17, 18), (17, "altered or reordered")),  # across two stretches
        (lambda path: delete(path, 26), (26, "removed")),  # the tail
    ],
)
def test_checking_in_several_processes_names_the_same_record(
    log_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    tamper: Callable[[Path], None],
    expected: tuple[int, str] | None,
) -> None:
    monkeypatch.setattr("storage.log_chain._PARALLEL_FROM", 0)
    tamper(log_file)
    with EmbeddedLog(log_file) as log:
        parallel, alone = log.verify("facts", workers=3), log.verify("facts")
    assert parallel == alone
    assert (parallel.first_break and (parallel.first_break.offset, parallel.first_break.kind)) == expected
