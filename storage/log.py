"""The embedded event log: a durable, append-only SQLite file with offsets. No broker needed.

Facts are stored as MessagePack, once per id. Admission decisions, which record what the line
answered at the time, go to their own append-only table. Nothing is ever updated or deleted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import msgspec

from domain.references import ENTITY_KEYS
from schemas.codec import batch_from_msgpack, to_msgpack
from schemas.derived import AdmissionDecision
from schemas.facts import TAG_OF, AnyFact, Fact

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (kind TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (kind, key))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL
);
"""

_decision_decoder = msgspec.msgpack.Decoder(AdmissionDecision)


@dataclass
class AppendResult:
    appended: int = 0
    duplicates: int = 0  # same id, same content: a re-send, harmless
    conflicts: list[str] = field(default_factory=list)  # same id, different content: refused


class EmbeddedLog:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> EmbeddedLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, facts: Iterable[Fact]) -> AppendResult:
        """Append in one transaction: either every new fact lands or none does."""
        result = AppendResult()
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for fact in facts:
                body = to_msgpack(fact)
                at_us = int(fact.at.timestamp() * 1_000_000)
                cur.execute(
                    "INSERT OR IGNORE INTO facts (id, type, at_us, body) VALUES (?, ?, ?, ?)",
                    (fact.id, TAG_OF[type(fact)], at_us, body),
                )
                if cur.rowcount == 0:
                    (existing,) = cur.execute("SELECT body FROM facts WHERE id = ?", (fact.id,)).fetchone()
                    if existing == body:
                        result.duplicates += 1
                    else:
                        result.conflicts.append(fact.id)
                    continue
                result.appended += 1
                if (entity := ENTITY_KEYS.get(type(fact))) is not None:
                    cur.execute(
                        "INSERT OR IGNORE INTO entities VALUES (?, ?)", (entity[0], getattr(fact, entity[1]))
                    )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return result

    def stored_body(self, fact_id: str) -> bytes | None:
        row = self.db.execute("SELECT body FROM facts WHERE id = ?", (fact_id,)).fetchone()
        return row[0] if row else None

    def known(self, kind: str, keys: Iterable[str]) -> set[str]:
        wanted = list(set(keys))
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                k
                for (k,) in self.db.execute(
                    f"SELECT key FROM entities WHERE kind = ? AND key IN ({marks})", (kind, *chunk)
                )
            )
        return found

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

    def record_decision(self, decision: AdmissionDecision) -> int:
        cur = self.db.execute(
            "INSERT INTO decisions (id, body) VALUES (?, ?)", (decision.id, msgspec.msgpack.encode(decision))
        )
        return int(cur.lastrowid or 0)

    def decisions(self) -> list[AdmissionDecision]:
        rows = self.db.execute("SELECT body FROM decisions ORDER BY offset")
        return [_decision_decoder.decode(body) for (body,) in rows]
