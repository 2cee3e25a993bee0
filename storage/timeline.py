"""The projector's facts and checkpoints on disk, in SQLite: a long-running process keeps neither every
fact nor every checkpoint in memory, and a restart resumes from the newest checkpoint.

`SqliteTimeline` reads (and, for a worker's own store, writes) a `facts` table shaped like the
embedded log's (`storage.log`), in event order through an index on the event time. `SqliteCheckpoints`
keeps frozen states (projections.checkpoint) in a `checkpoints` table beside it, thinned like
`MemoryCheckpoints`, and a `mark` saying up to where of the input they are valid (the embedded log's
offset, or a worker's offsets per partition).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import msgspec

from projections.checkpoint import Position
from projections.fold import in_event_order, sort_key
from projections.timeline import Checkpoint, thinned
from schemas.codec import batch_from_msgpack, to_msgpack
from schemas.facts import TAG_OF, AnyFact, Fact

F = TypeVar("F", bound=Fact)

log = logging.getLogger("hotline.checkpoints")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_decode_one = msgspec.msgpack.Decoder(AnyFact).decode
#: A checkpoint row's position key (JSON [at, rank, fact id]) back to a Position.
decode_position = msgspec.json.Decoder(tuple[datetime, int, str]).decode

TIMELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    offset INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_by_time ON facts (at_us);
"""
CHECKPOINT_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    position TEXT PRIMARY KEY,  -- JSON [at, rank, fact id]: exact, with the time's offset
    facts INTEGER NOT NULL,
    blob BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoint_marks (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction, explicitly: the connections here are in autocommit mode, where each statement
    of an executemany would otherwise be a transaction of its own (a write to the WAL per row)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def micros(t: datetime) -> int:
    """Exact microseconds since the epoch (the log's at_us may differ by one: it went through a float)."""
    return (t - _EPOCH) // _US


class SqliteTimeline:
    def __init__(self, db: sqlite3.Connection, batch: int = 20_000) -> None:
        self.db = db
        self.batch = batch
        try:
            db.executescript(TIMELINE_SCHEMA)
        except sqlite3.OperationalError as e:  # a read-only log: read it as it is, without the index
            log.warning("cannot add the event-time index (%s); reading without it", e)

    def get(self, fact_id: str) -> Fact | None:
        row = self.db.execute("SELECT body FROM facts WHERE id = ?", (fact_id,)).fetchone()
        return None if row is None else _decode_one(row[0])  # type: ignore[no-any-return]

    def get_many(self, fact_ids: Iterable[str]) -> dict[str, Fact]:
        wanted = list(fact_ids)
        out: dict[str, Fact] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            rows = self.db.execute(
                f"SELECT body FROM facts WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            if rows:
                out.update((f.id, f) for f in batch_from_msgpack([body for (body,) in rows]))
        return out

    def of_type(self, kind: type[F]) -> list[F]:
        rows = self.db.execute("SELECT body FROM facts WHERE type = ? ORDER BY offset", (TAG_OF[kind],))
        return batch_from_msgpack([body for (body,) in rows])  # type: ignore[return-value]

    def put(self, facts: Iterable[Fact]) -> None:
        rows = [(f.id, TAG_OF[type(f)], micros(f.at), to_msgpack(f)) for f in facts]
        with transaction(self.db):
            self.db.executemany(
                "INSERT INTO facts (id, type, at_us, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET type = excluded.type, at_us = excluded.at_us, "
                "body = excluded.body",
                rows,
            )

    def after(self, position: Position | None, until: datetime | None = None) -> Iterator[list[Fact]]:
        # The bounds are widened by a microsecond and the facts filtered by their exact sort key: the
        # embedded log's at_us went through a float.
        low = -(1 << 62) if position is None else micros(position[0]) - 1
        high = (1 << 62) if until is None else micros(until) + 1
        cur = self.db.execute(
            "SELECT at_us, body FROM facts WHERE at_us >= ? AND at_us <= ? ORDER BY at_us", (low, high)
        )
        pending: list[tuple[int, bytes]] = []
        while True:
            chunk = cur.fetchmany(self.batch)
            rows = pending + chunk
            if not chunk:
                if rows:
                    yield from self._ordered(rows, position, until)
                return
            cut = _run_start(rows)  # an instant is never split over two batches
            pending = rows[cut:]
            if cut:
                yield from self._ordered(rows[:cut], position, until)

    def scan(self, position: Position | None, kinds: Collection[type[Fact]]) -> Iterator[list[Fact]]:
        # The other kinds are filtered out by SQLite on the type column: never decoded.
        tags = sorted(TAG_OF[kind] for kind in kinds)
        low = -(1 << 62) if position is None else micros(position[0]) - 1
        cur = self.db.execute(
            f"SELECT body FROM facts WHERE at_us >= ? AND type IN ({','.join('?' * len(tags))})", (low, *tags)
        )
        while chunk := cur.fetchmany(self.batch):
            facts: list[Fact] = list(batch_from_msgpack([body for (body,) in chunk]))
            yield [f for f in facts if position is None or sort_key(f) > position]

    @staticmethod
    def _ordered(
        rows: list[tuple[int, bytes]], position: Position | None, until: datetime | None
    ) -> Iterator[list[Fact]]:
        facts: list[Fact] = list(batch_from_msgpack([body for _, body in rows]))
        in_event_order(facts)
        if position is not None or until is not None:
            facts = [
                f
                for f in facts
                if (position is None or sort_key(f) > position) and (until is None or f.at <= until)
            ]
        if facts:
            yield facts

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM facts").fetchone()[0])

    def latest(self) -> datetime | None:
        row = self.db.execute("SELECT body FROM facts ORDER BY at_us DESC LIMIT 1").fetchone()
        return None if row is None else _decode_one(row[0]).at  # type: ignore[no-any-return]


def _run_start(rows: list[tuple[int, bytes]]) -> int:
    """Where the run of rows sharing the last row's instant starts (it waits for the next batch)."""
    last = rows[-1][0]
    i = len(rows)
    while i > 0 and rows[i - 1][0] == last:
        i -= 1
    return i


class SqliteCheckpoints:
    def __init__(self, db: sqlite3.Connection, keep: int = 16) -> None:
        self.db = db
        self.keep = max(keep, 2)
        self.writable = True
        try:
            db.executescript(CHECKPOINT_SCHEMA)
        except sqlite3.OperationalError as e:  # a read-only log: no checkpoints, every command refolds
            log.warning("cannot keep checkpoints in this file (%s); folding from the start", e)
            self.writable = False

    def _saved(self) -> list[tuple[Position, int, str]]:
        if not self.writable:
            return []
        rows = self.db.execute("SELECT position, facts FROM checkpoints").fetchall()
        return sorted((decode_position(p), n, p) for p, n in rows)

    def save(self, checkpoint: Checkpoint) -> None:
        assert checkpoint.position is not None, "the empty state is never saved"
        if not self.writable:
            return
        try:
            self._save(checkpoint)
        except sqlite3.OperationalError as e:  # e.g. a read-only log: the answer stands without it
            log.warning("could not save a checkpoint (%s)", e)
            self.writable = False

    def _save(self, checkpoint: Checkpoint) -> None:
        key = msgspec.json.encode(checkpoint.position).decode()
        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                (key, checkpoint.facts, checkpoint.blob),
            )
            saved = self._saved()
            while len(saved) > self.keep:
                stand_ins = [Checkpoint(p, n, b"") for p, n, _ in saved]
                _, _, victim = saved.pop(thinned(stand_ins))
                self.db.execute("DELETE FROM checkpoints WHERE position = ?", (victim,))

    def before(self, bound: Position | None) -> Iterator[Checkpoint]:
        for position, facts, key in reversed(self._saved()):
            if bound is None or position < bound:
                row = self.db.execute("SELECT blob FROM checkpoints WHERE position = ?", (key,)).fetchone()
                if row is not None:
                    yield Checkpoint(position, facts, row[0])

    def positions(self) -> list[tuple[Position, int]]:
        return [(p, n) for p, n, _ in self._saved()]

    def drop_from(self, position: Position) -> None:
        doomed = [key for p, _, key in self._saved() if p >= position]
        if not doomed:
            return
        with transaction(self.db):
            self.db.executemany("DELETE FROM checkpoints WHERE position = ?", [(k,) for k in doomed])

    def discard(self, checkpoint: Checkpoint) -> None:
        key = msgspec.json.encode(checkpoint.position).decode()
        try:
            with transaction(self.db):
                self.db.execute("DELETE FROM checkpoints WHERE position = ?", (key,))
        except sqlite3.OperationalError as e:  # read-only: it stays, and is skipped again next time
            log.warning("could not delete the damaged checkpoint (%s)", e)

    def mark(self, name: str) -> str | None:
        if not self.writable:
            return None
        row = self.db.execute("SELECT value FROM checkpoint_marks WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_mark(self, name: str, value: str) -> None:
        if not self.writable:
            return
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO checkpoint_marks VALUES (?, ?)", (name, value))
