"""A long-running process's checkpoints: the frozen states in files, their index in its SQLite store.

A checkpoint of a long history is tens of MB (68 MB at 621k facts). Kept as a SQLite blob, deleting
one walks its chain of overflow pages: a change that drops two checkpoints spent 1-3 s there, on the
change's path, and the file kept the freed pages (800 MB at 621k facts). Here the index, the thinning
and the marks stay in SQLite (one transaction each, as in `SqliteCheckpoints`), and each state is one
file: dropping it is an unlink.

Order of writes, so that a crash leaves nothing that contradicts the timeline:
- save: the file is written under a temporary name and renamed, then its row is inserted;
- drop: the rows are deleted in one transaction, then the files are unlinked.
A file without a row (a crash between the two) is removed when the store is opened. A row whose file
is missing or cut short fails to verify against its digest, is discarded with one log line, and the
projector falls back to an older checkpoint (projections.timeline.newest_sound).
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from projections.checkpoint import Position
from projections.timeline import Checkpoint, thinned
from storage.timeline import SqliteCheckpoints, decode_position, transaction

log = logging.getLogger("hotline.checkpoints")

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint_files (
    position TEXT PRIMARY KEY,  -- JSON [at, rank, fact id], as in the checkpoints table
    facts INTEGER NOT NULL,
    file TEXT NOT NULL          -- a name in the checkpoint directory
);
"""
_SUFFIX = ".ckpt"


class CheckpointFiles(SqliteCheckpoints):
    """`SqliteCheckpoints` with each blob in a file of `directory` (created if missing)."""

    def __init__(self, db: sqlite3.Connection, directory: Path, keep: int = 16) -> None:
        super().__init__(db, keep)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        db.executescript(SCHEMA)
        self._sweep()

    def _sweep(self) -> None:
        """Files no row names: a crash between writing one and indexing it, or after unindexing it."""
        named = {name for (name,) in self.db.execute("SELECT file FROM checkpoint_files")}
        for path in self.directory.iterdir():
            if path.name not in named:
                path.unlink(missing_ok=True)

    def _rows(self) -> list[tuple[Position, int, str, str]]:
        rows = self.db.execute("SELECT position, facts, file FROM checkpoint_files").fetchall()
        return sorted((decode_position(p), n, p, name) for p, n, name in rows)

    def _saved(self) -> list[tuple[Position, int, str]]:
        return [(p, n, key) for p, n, key, _ in self._rows()]

    def _save(self, checkpoint: Checkpoint) -> None:
        key = msgspec.json.encode(checkpoint.position).decode()
        name = f"{checkpoint.facts}-{secrets.token_hex(6)}{_SUFFIX}"
        staged = self.directory / (name + ".part")
        staged.write_bytes(checkpoint.blob)
        os.replace(staged, self.directory / name)
        doomed: list[str] = []
        with transaction(self.db):
            doomed += self._delete([key])
            self.db.execute("INSERT INTO checkpoint_files VALUES (?, ?, ?)", (key, checkpoint.facts, name))
            saved = self._rows()
            while len(saved) > self.keep:
                stand_ins = [Checkpoint(p, n, b"") for p, n, _, _ in saved]
                _, _, victim, _ = saved.pop(thinned(stand_ins))
                doomed += self._delete([victim])
        self._unlink(doomed)

    def _delete(self, keys: Iterable[str]) -> list[str]:
        """Unindex the rows of `keys` (inside a transaction); returns their files, to unlink after it."""
        names = []
        for key in keys:
            rows = self.db.execute("SELECT file FROM checkpoint_files WHERE position = ?", (key,))
            names += [name for (name,) in rows]
            self.db.execute("DELETE FROM checkpoint_files WHERE position = ?", (key,))
        return names

    def _unlink(self, names: Iterable[str]) -> None:
        for name in names:
            (self.directory / name).unlink(missing_ok=True)

    def before(self, bound: Position | None) -> Iterator[Checkpoint]:
        for position, facts, _, name in reversed(self._rows()):
            if bound is None or position < bound:
                try:
                    blob = (self.directory / name).read_bytes()
                except OSError:  # gone: it fails to verify, and is discarded like a damaged one
                    blob = b""
                yield Checkpoint(position, facts, blob)

    def drop_from(self, position: Position) -> None:
        doomed = [key for p, _, key in self._saved() if p >= position]
        if not doomed:
            return
        with transaction(self.db):
            names = self._delete(doomed)
        self._unlink(names)

    def discard(self, checkpoint: Checkpoint) -> None:
        key = msgspec.json.encode(checkpoint.position).decode()
        try:
            with transaction(self.db):
                names = self._delete([key])
        except sqlite3.OperationalError as e:  # read-only: it stays, and is skipped again next time
            log.warning("could not delete the damaged checkpoint (%s)", e)
            return
        self._unlink(names)
