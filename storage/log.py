"""The embedded event log: a durable, append-only SQLite file with offsets. No broker needed.

Facts are stored as MessagePack, once per id. Admission decisions, which record what the line
answered at the time, go to their own append-only table. Nothing is ever updated or deleted. Each row
of both tables carries a hash-chain link to the row before it (storage.log_chain; docs/audit.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from domain.references import ENTITY_KEYS
from schemas.codec import batch_from_msgpack, to_msgpack
from schemas.derived import AdmissionDecision
from schemas.facts import TAG_OF, AnyFact, Fact
from schemas.upcast import same_fact
from storage.chain import Verdict, link
from storage.log_chain import CHAIN_SCHEMA, TABLES, add_links, has_links, last_link, record_head, verify_table

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    body BLOB NOT NULL,
    link BLOB
);
CREATE TABLE IF NOT EXISTS decisions (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    link BLOB
);
"""

# When each company, account, certificate and barcode was first introduced (event time, exact
# microseconds since the epoch): ingest checks a reference as of the referring fact's time. Created on
# first use, so that opening an older log to read it never writes; filled from its facts then.
_INTRODUCTIONS = """
CREATE TABLE IF NOT EXISTS introductions (
    kind TEXT NOT NULL, key TEXT NOT NULL, at_us INTEGER NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID
"""
_INTRODUCE = (
    "INSERT INTO introductions VALUES (?, ?, ?) "
    "ON CONFLICT (kind, key) DO UPDATE SET at_us = MIN(at_us, excluded.at_us)"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_decision_decoder = msgspec.msgpack.Decoder(AdmissionDecision)


class LogWriteError(Exception):
    """Nothing of the step was written to the log; the message says why (one line for the operator)."""


class LogBusy(LogWriteError):
    """Another writer held the log for longer than the busy timeout."""


@dataclass
class AppendResult:
    appended: int = 0
    duplicates: int = 0  # same id, same content: a re-send, harmless
    conflicts: list[str] = field(default_factory=list)  # same id, different content: refused


class EmbeddedLog:
    """One writer at a time (SQLite's write lock); readers never wait (WAL). A writer that finds the
    log locked waits up to `busy_timeout_s` (SQLite retries meanwhile), then gets LogBusy."""

    busy_timeout_s: float = 120.0

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if (db := _read_only(self.path)) is not None:  # a log this user may not write: read it as it is
            self.db = db
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA + CHAIN_SCHEMA)
        if not all(has_links(self.db, table) for table in TABLES):  # a log written before the chain
            with self.writing():
                add_links(self.db)  # checks again inside: another process may have just done it

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> EmbeddedLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction: every write inside lands or none does. BEGIN IMMEDIATE takes the
        write lock first, so what is read inside is what the writes are checked against (no other
        writer in between). Nested: the outer one commits. Failures raise LogWriteError / LogBusy."""
        if self.db.in_transaction:
            yield
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise self._write_error(e) from None
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException as e:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise self._write_error(e) from None
            raise

    def _write_error(self, e: sqlite3.Error) -> LogWriteError:
        if getattr(e, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY:
            return LogBusy(
                f"{self.path}: another process kept the log locked for over {self.busy_timeout_s:.0f}s; "
                "nothing of this step was written, try again"
            )
        return LogWriteError(f"{self.path}: cannot write to the log ({e}); nothing of this step was written")

    def append(self, facts: Iterable[Fact]) -> AppendResult:
        """Append in one transaction (or inside the caller's `writing()`): either every new fact lands
        or none does. A fact whose id is on the log with other content is not written: its id is in
        `conflicts`, for the caller to report."""
        result = AppendResult()
        with self.writing():
            cur = self.db.cursor()
            self._introductions(cur)
            head = last_link(cur, "facts")  # inside the transaction: no other writer in between
            end = 0
            for fact in facts:
                body = to_msgpack(fact)
                at_us = int(fact.at.timestamp() * 1_000_000)
                linked = link(head, body)  # over the exact bytes stored
                cur.execute(
                    "INSERT OR IGNORE INTO facts (id, type, at_us, body, link) VALUES (?, ?, ?, ?, ?)",
                    (fact.id, TAG_OF[type(fact)], at_us, body, linked),
                )
                if cur.rowcount == 0:
                    (existing,) = cur.execute("SELECT body FROM facts WHERE id = ?", (fact.id,)).fetchone()
                    if same_fact(existing, body):  # an old record is compared upcast
                        result.duplicates += 1
                    else:
                        result.conflicts.append(fact.id)
                    continue
                result.appended += 1
                head, end = linked, cur.lastrowid or end
                if (entity := ENTITY_KEYS.get(type(fact))) is not None:
                    cur.execute(_INTRODUCE, (entity[0], getattr(fact, entity[1]), _micros(fact.at)))
            if end:
                record_head(cur, "facts", end, head)
        return result

    def _introductions(self, cur: sqlite3.Cursor) -> None:
        """The introductions table, created and filled from the facts of a log written before it existed.
        Called inside a write transaction."""
        exists = cur.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'introductions'"
        ).fetchone()
        if not exists:
            cur.execute(_INTRODUCTIONS)
            tags = [TAG_OF[t] for t in ENTITY_KEYS]
            marks = ",".join("?" * len(tags))
            rows = self.db.execute(f"SELECT body FROM facts WHERE type IN ({marks})", tags)
            while chunk := rows.fetchmany(50_000):
                for fact in batch_from_msgpack([body for (body,) in chunk]):
                    kind, attr = ENTITY_KEYS[type(fact)]
                    cur.execute(_INTRODUCE, (kind, getattr(fact, attr), _micros(fact.at)))

    def stored_bodies(self, fact_ids: Iterable[str]) -> dict[str, bytes]:
        """Fact id -> its stored body, for the ids the log holds."""
        found: dict[str, bytes] = {}
        for chunk in _chunks(list(set(fact_ids))):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT id, body FROM facts WHERE id IN ({marks})", chunk)
            found.update(rows)
        return found

    def introduced(self, kind: str, keys: Iterable[str]) -> dict[str, datetime]:
        """Key -> the earliest event time at which a fact on the log introduces it (those it knows).
        Call inside `writing()` for an answer that holds until the transaction commits."""
        with self.writing():
            self._introductions(self.db.cursor())
            found: dict[str, datetime] = {}
            for chunk in _chunks(list(set(keys))):
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    f"SELECT key, at_us FROM introductions WHERE kind = ? AND key IN ({marks})",
                    (kind, *chunk),
                )
                found.update((key, _EPOCH + at_us * _MICROSECOND) for key, at_us in rows)
        return found

    def stored_body(self, fact_id: str) -> bytes | None:
        row = self.db.execute("SELECT body FROM facts WHERE id = ?", (fact_id,)).fetchone()
        return row[0] if row else None

    def end_offset(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(offset), 0) FROM facts").fetchone()[0])

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM facts").fetchone()[0])

    def read_batches(self, upto_offset: int | None = None, batch: int = 50_000) -> Iterator[list[AnyFact]]:
        """Facts in offset order, decoded a batch at a time (one MessagePack array per batch)."""
        limit = upto_offset if upto_offset is not None else self.end_offset()
        cur = self.db.execute("SELECT body FROM facts WHERE offset <= ? ORDER BY offset", (limit,))
        while rows := cur.fetchmany(batch):
            yield batch_from_msgpack([body for (body,) in rows])

    def read(self, upto_offset: int | None = None) -> list[AnyFact]:
        out: list[AnyFact] = []
        for chunk in self.read_batches(upto_offset):
            out += chunk
        return out

    def facts_since(self, offset: int) -> list[AnyFact]:
        """The facts appended after `offset`."""
        rows = self.db.execute("SELECT body FROM facts WHERE offset > ? ORDER BY offset", (offset,))
        return batch_from_msgpack([body for (body,) in rows])

    def raised_at(self, violation_id: str) -> datetime | None:
        """When a report or suspicion was raised: the report's own time, or the time of the fact a
        detector raised it on (its id is "detector:fact id"). None when the log names no such fact."""
        for fact_id in (violation_id, violation_id.partition(":")[2]):
            if fact_id and (body := self.stored_body(fact_id)) is not None:
                return batch_from_msgpack([body])[0].at
        return None

    def record_decision(self, decision: AdmissionDecision, facts: Sequence[Fact] = ()) -> int:
        """Record an answer; `facts` (what the answer adds to the facts: an `admission.refused`) are
        appended in the same transaction, so the decision and its fact land together or not at all."""
        body = msgspec.msgpack.encode(decision)
        with self.writing():  # the last link read and the row written under one lock
            if facts:
                self.append(facts)  # nested: hash-chained and deduplicated by id like any ingest
            cur = self.db.cursor()
            linked = link(last_link(cur, "decisions"), body)
            insert = "INSERT INTO decisions (id, body, link) VALUES (?, ?, ?)"
            cur.execute(insert, (decision.id, body, linked))
            offset = int(cur.lastrowid or 0)
            record_head(cur, "decisions", offset, linked)
        return offset

    def verify(self, table: str, workers: int = 1) -> Verdict:
        """Check the chain of `facts` or `decisions` (storage.log_chain.verify_table)."""
        return verify_table(self.db, table, workers)

    def decisions(self) -> list[AdmissionDecision]:
        rows = self.db.execute("SELECT body FROM decisions ORDER BY offset")
        return [_decision_decoder.decode(body) for (body,) in rows]


def _micros(t: datetime) -> int:
    """Exact microseconds since the epoch (a float timestamp can be a microsecond off)."""
    return (t - _EPOCH) // _MICROSECOND


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    """SQLite binds at most a few hundred parameters a statement, safely."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to an existing log the process may not write, else None. A log in WAL
    mode needs its shared-memory file to be read safely; when that cannot be made (a read-only
    directory) and no write-ahead file holds unmerged facts, the file is read as it stands."""
    import os
    from urllib.parse import quote

    if not path.is_file() or os.access(path, os.W_OK):
        return None
    uri = f"file:{quote(str(path.resolve()))}"
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
