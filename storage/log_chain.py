"""The hash chain on the embedded log's tables (storage.chain over SQLite rows).

Each row of `facts` and of `decisions` stores `link`: storage.chain.link(link of the row before, the
row's stored body). The writer reads the last link inside its write transaction, so concurrent
writers (serialised by SQLite's write lock) still make one chain.

A chain alone cannot show that its last records were cut off: what is left is a valid, shorter chain.
So each write transaction also records the table's end offset and head in `chain_head`, and SQLite's
own `sqlite_sequence` keeps the largest offset ever handed out (AUTOINCREMENT). `verify_table` checks
the rows against both. Both live in the same file, so whoever rewrites the file consistently (rows,
links, chain_head, sqlite_sequence) is not caught by the file alone: the head printed by
`hotline verify` and written down elsewhere is the anchor for that (docs/audit.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from storage.chain import GENESIS, Break, Verdict, link, verify

TABLES = ("facts", "decisions")

CHAIN_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain_head (
    log TEXT PRIMARY KEY,       -- the table: facts or decisions
    end_offset INTEGER NOT NULL,
    head BLOB NOT NULL
) WITHOUT ROWID;
"""

_BACKFILL_BATCH = 50_000
#: Below this many records one process checks the chain faster than starting workers would.
_PARALLEL_FROM = 200_000


class Unchained(Exception):
    """The log was written before links were kept, and could not be given them (opened read-only)."""


def has_links(db: sqlite3.Connection, table: str) -> bool:
    return any(column[1] == "link" for column in db.execute(f"PRAGMA table_info({table})"))


def last_link(cur: sqlite3.Cursor, table: str) -> bytes:
    """The link of the table's last row (GENESIS for an empty table). Call inside the write transaction
    that appends, so no other writer appends in between."""
    row = cur.execute(f"SELECT link FROM {table} ORDER BY offset DESC LIMIT 1").fetchone()
    return GENESIS if row is None or row[0] is None else bytes(row[0])


def record_head(cur: sqlite3.Cursor, table: str, end_offset: int, head: bytes) -> None:
    """Note where the chain ends, in the appending transaction: a cut tail then shows (module doc)."""
    cur.execute(
        "INSERT INTO chain_head VALUES (?, ?, ?) "
        "ON CONFLICT (log) DO UPDATE SET end_offset = excluded.end_offset, head = excluded.head",
        (table, end_offset, head),
    )


def add_links(db: sqlite3.Connection) -> int:
    """Give a log written before links were kept its links and chain heads; call inside one write
    transaction (all or nothing). Returns the number of rows linked. The links then vouch for the
    records as they are at this moment, not for what happened to the file before (docs/audit.md)."""
    db.execute(CHAIN_SCHEMA)  # execute, not executescript: that would commit the caller's transaction
    linked = 0
    for table in TABLES:
        if has_links(db, table):
            continue
        db.execute(f"ALTER TABLE {table} ADD COLUMN link BLOB")
        head, end = GENESIS, 0
        read = f"SELECT offset, body FROM {table} WHERE offset > ? ORDER BY offset LIMIT {_BACKFILL_BATCH}"
        # a batch read to the end before it is updated: SQLite leaves undefined a table changed
        # under a statement still stepping through it
        while chunk := db.execute(read, (end,)).fetchall():
            updates = []
            for offset, body in chunk:
                head = link(head, body)
                updates.append((head, offset))
            db.executemany(f"UPDATE {table} SET link = ? WHERE offset = ?", updates)
            end, linked = chunk[-1][0], linked + len(chunk)
        if end:
            record_head(db.cursor(), table, end, head)
    return linked


def _rows(db: sqlite3.Connection, table: str, lo: int, hi: int) -> Iterator[tuple[int, bytes, bytes | None]]:
    cur = db.execute(
        f"SELECT offset, body, link FROM {table} WHERE offset >= ? AND offset < ? ORDER BY offset", (lo, hi)
    )
    while chunk := cur.fetchmany(10_000):
        yield from chunk


def _stretch(db: sqlite3.Connection, table: str, lo: int, hi: int) -> Verdict:
    """The chain over offsets [lo, hi), started from the link stored before lo."""
    # A body rewritten as TEXT (SQL's `||` makes text) must still be bytes to hash, not a decode error:
    # text as bytes for this read (cheaper than CAST in the query, which copies every body).
    db.text_factory = bytes
    start = GENESIS
    if lo > 1:
        row = db.execute(f"SELECT link FROM {table} WHERE offset = ?", (lo - 1,)).fetchone()
        start = bytes(row[0]) if row and row[0] is not None else b""  # missing: the stretch before says
    verdict = verify(_rows(db, table, lo, hi), lo, start)
    if verdict.intact and verdict.end_offset < hi - 1:  # the stretch's own tail is missing
        (after,) = db.execute(f"SELECT MIN(offset) FROM {table} WHERE offset >= ?", (hi,)).fetchone()
        gap = f"offsets jump from {verdict.end_offset} to {after}"  # as one walk over all would say
        return _broken(verdict, Break(verdict.end_offset + 1, "removed", gap))
    return verdict


def _stretch_of_file(uri: str, table: str, lo: int, hi: int) -> Verdict:
    """In a worker process: its own read-only connection to the log file."""
    db = sqlite3.connect(uri, uri=True)
    try:
        return _stretch(db, table, lo, hi)
    finally:
        db.close()


def _walk(db: sqlite3.Connection, table: str, end: int, workers: int) -> Verdict:
    """The chain up to `end`, in `workers` processes when it is long (hashing is the whole cost and
    sha256 is CPU-bound: one core checks about 200-300k records/s), else in this one."""
    path = db.execute("PRAGMA database_list").fetchone()[2]
    if workers < 2 or end < _PARALLEL_FROM or not path:
        return _stretch(db, table, 1, end + 1)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    from urllib.parse import quote

    uri = f"file:{quote(path)}?mode=ro"
    bounds = [1 + end * i // workers for i in range(workers)] + [end + 1]
    los, his = bounds[:-1], bounds[1:]
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            parts = list(pool.map(_stretch_of_file, [uri] * workers, [table] * workers, los, his))
    except (OSError, sqlite3.Error):  # no second connection to be had (a read-only directory): one walk
        return _stretch(db, table, 1, end + 1)
    records = 0
    for part in parts:
        if not part.intact:
            return Verdict(records + part.records, part.head, part.end_offset, part.first_break)
        records += part.records
    return Verdict(records, parts[-1].head, end, None)


def verify_table(db: sqlite3.Connection, table: str, workers: int = 1) -> Verdict:
    """Walk the table's chain (storage.chain.verify), then check its end against chain_head and
    sqlite_sequence: a record cut off the tail is named by the first missing offset. In one read
    transaction, so a writer appending meanwhile does not look like a cut tail."""
    if not has_links(db, table):
        raise Unchained(
            f"the {table} table was written before links were kept; open the log once with write "
            "access (any command) to add them"
        )
    saved, own = db.text_factory, not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        end = int(db.execute(f"SELECT COALESCE(MAX(offset), 0) FROM {table}").fetchone()[0])
        verdict = _walk(db, table, end, workers)
        return verdict if not verdict.intact else _check_end(db, table, verdict)
    finally:
        db.text_factory = saved
        if own:
            db.execute("COMMIT")


def _check_end(db: sqlite3.Connection, table: str, verdict: Verdict) -> Verdict:
    recorded = _recorded_head(db, table)
    sequence = _sequence(db, table)
    end = verdict.end_offset
    if recorded is not None and recorded[0] > end:
        detail = f"the chain head recorded by the last write ends at offset {recorded[0]}, the rows at {end}"
        return _broken(verdict, Break(end + 1, "removed", detail))
    if sequence > end:
        detail = f"SQLite handed out offsets up to {sequence}, the rows end at {end}"
        return _broken(verdict, Break(end + 1, "removed", detail))
    if recorded is None and end > 0:
        detail = "no chain head recorded for a non-empty table"
        return _broken(verdict, Break(1, "altered or reordered", detail))
    if recorded is not None and recorded[0] < end:
        detail = f"rows past the recorded chain head (offset {recorded[0]}) were written outside the log"
        return _broken(verdict, Break(recorded[0] + 1, "added", detail))
    if recorded is not None and recorded[1] != verdict.head:
        detail = "the recorded chain head no longer matches the last link"
        return _broken(verdict, Break(end, "altered or reordered", detail))
    return verdict


def _broken(verdict: Verdict, at: Break) -> Verdict:
    return Verdict(verdict.records, verdict.head, verdict.end_offset, at)


def _recorded_head(db: sqlite3.Connection, table: str) -> tuple[int, bytes] | None:
    try:
        row = db.execute("SELECT end_offset, head FROM chain_head WHERE log = ?", (table,)).fetchone()
    except sqlite3.OperationalError:  # no chain_head table: nothing was ever recorded
        return None
    return None if row is None else (int(row[0]), bytes(row[1]))


def _sequence(db: sqlite3.Connection, table: str) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return int(row[0]) if row else 0


def head_upto(db: sqlite3.Connection, upto_offset: int | None) -> tuple[int, int, bytes]:
    """(records, end offset, stored link of the last record) of the facts up to `upto_offset`: what a
    replay read. The link is the stored one; `verify` checks that it fits the bodies."""
    limit = (1 << 63) - 1 if upto_offset is None else upto_offset
    records, end = db.execute(
        "SELECT COUNT(*), COALESCE(MAX(offset), 0) FROM facts WHERE offset <= ?", (limit,)
    ).fetchone()
    if not has_links(db, "facts") or end == 0:
        return int(records), int(end), GENESIS
    row = db.execute("SELECT link FROM facts WHERE offset = ?", (end,)).fetchone()
    return int(records), int(end), GENESIS if row is None or row[0] is None else bytes(row[0])


def link_at(db: sqlite3.Connection, table: str, offset: int) -> tuple[int, bytes | None]:
    """(records up to `offset`, the stored link of the record at `offset`; None if there is none):
    what a signed head (storage.signed_head) is compared with. Offset 0, before the first record:
    the genesis link."""
    (records,) = db.execute(f"SELECT COUNT(*) FROM {table} WHERE offset <= ?", (offset,)).fetchone()
    if offset == 0:
        return int(records), GENESIS
    if not has_links(db, table):
        return int(records), None
    row = db.execute(f"SELECT link FROM {table} WHERE offset = ?", (offset,)).fetchone()
    return int(records), None if row is None or row[0] is None else bytes(row[0])
