"""A sealed log's key store: a SQLite file beside the log (`<log>.keys`), never inside it.

It holds the line's pepper (the HMAC key of every pseudonym), one AES key per engineer account and
one for the line, the links that tie a case or a report to its account and an account to its person,
and each pseudonym's clear value sealed under its account's key, for showing to people.

Kept apart so that the log, its copies and its backups hold no key: destroying a person's keys here
(`forget_person`) erases their data everywhere the log went. SQLite's `secure_delete` overwrites the
destroyed keys in the file, and the WAL is truncated after an erasure; backups of this file are the
operator's to keep short-lived (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag

from privacy.pseudonyms import number_pseudonym, person_pseudonym
from privacy.sealing import decrypt, encrypt, seal
from schemas.facts import Fact

_SCHEMA = """
CREATE TABLE IF NOT EXISTS line (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, account_id TEXT UNIQUE, key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    kind TEXT NOT NULL, key TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revealed (
    pseudonym TEXT NOT NULL, key_id TEXT NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (pseudonym, key_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forgotten (
    person TEXT PRIMARY KEY, at TEXT NOT NULL, keys INTEGER NOT NULL, by TEXT NOT NULL
);
"""
LINE_ACCOUNT = ""  # the `account_id` of the line's own key


class KeyStoreError(Exception):
    """The key store cannot be used; the message says why, in one line."""


def key_store_path(log: Path) -> Path:
    """Where a log's key store lives: $HOTLINE_KEYS, else beside the log."""
    return Path(os.environ.get("HOTLINE_KEYS") or f"{log}.keys")


class KeyStore:
    """Reads are cached for a run; writes made while `sealing()` go out in one transaction."""

    def __init__(self, path: Path, create: bool = False, threads: bool = False) -> None:
        self.path = path
        if not create and not path.is_file():
            raise KeyStoreError(f"{path}: no key store (restore it from its backup, or set HOTLINE_KEYS)")
        try:
            # `threads`: a server's, used from its worker threads under the caller's lock
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=not threads)
            self.db.execute("PRAGMA secure_delete = ON")  # a destroyed key is overwritten, not left free
            self.db.executescript(_SCHEMA)
            self._pepper = self._line_pepper()
        except sqlite3.Error as e:
            raise KeyStoreError(f"{path}: not a usable key store ({e})") from None
        self._keys: dict[str | None, tuple[str, bytes]] = {}
        self._links: dict[tuple[str, str], str | None] = {}
        self._remembered: set[tuple[str, str]] = set()  # this run's: INSERT OR IGNORE covers the rest

    def close(self) -> None:
        self.db.close()

    def _line_pepper(self) -> bytes:
        row = self.db.execute("SELECT value FROM line WHERE name = 'pepper'").fetchone()
        if row is not None:
            return bytes(row[0])
        self.db.execute("INSERT OR IGNORE INTO line VALUES ('pepper', ?)", (secrets.token_bytes(32),))
        return bytes(self.db.execute("SELECT value FROM line WHERE name = 'pepper'").fetchone()[0])

    @property
    def pepper(self) -> bytes:
        return self._pepper

    @contextmanager
    def sealing(self) -> Iterator[None]:
        """One transaction for a run of `seal`s: committed before the facts are stored, so that no stored
        fact names a key that is not on disk."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            self._keys.clear()
            self._links.clear()
            self._remembered.clear()
            raise

    def seal_all(self, facts: list[Fact]) -> list[Fact]:
        """The facts as a sealed log stores them; the keys they need are on disk when this returns."""
        with self.sealing():
            return [seal(fact, self) for fact in facts]

    def number_asked(self, e164: str, account_id: str) -> str:
        """The pseudonym of a number asked about by a call (admission): its clear value kept under the
        account's key, so that answers and audits show it even when no fact ever carried it."""
        pseudonym = number_pseudonym(self._pepper, e164)
        if pseudonym == e164:
            return pseudonym
        key_id, key = self.key(account_id)
        if not self.remembers(pseudonym, key_id):
            with self.sealing():
                self.remember(pseudonym, key_id, encrypt(key, e164.encode(), pseudonym.encode()))
        return pseudonym

    def key(self, account_id: str | None) -> tuple[str, bytes]:
        """The account's key (the line's for None), made on first use."""
        if (found := self._keys.get(account_id)) is not None:
            return found
        owner = LINE_ACCOUNT if account_id is None else account_id
        row = self.db.execute("SELECT key_id, key FROM keys WHERE account_id = ?", (owner,)).fetchone()
        if row is None:
            row = (secrets.token_hex(8), secrets.token_bytes(32))
            self.db.execute("INSERT INTO keys VALUES (?, ?, ?)", (row[0], owner, row[1]))
        self._keys[account_id] = found = (row[0], bytes(row[1]))
        return found

    def key_by_id(self, key_id: str) -> bytes | None:
        row = self.db.execute("SELECT key FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def link(self, kind: str, key: str, account_id: str) -> None:
        if self._links.get((kind, key)) == account_id:
            return
        self.db.execute("INSERT OR REPLACE INTO links VALUES (?, ?, ?)", (kind, key, account_id))
        self._links[(kind, key)] = account_id

    def account_of(self, kind: str, key: str) -> str | None:
        if (kind, key) not in self._links:
            row = self.db.execute(
                "SELECT target FROM links WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
            self._links[(kind, key)] = None if row is None else row[0]
        return self._links[(kind, key)]

    def remembers(self, pseudonym: str, key_id: str) -> bool:
        """Whether the pseudonym's clear value is kept under this key: sealing skips encrypting it again."""
        return (pseudonym, key_id) in self._remembered

    def remember(self, pseudonym: str, key_id: str, sealed: bytes) -> None:
        self.db.execute("INSERT OR IGNORE INTO revealed VALUES (?, ?, ?)", (pseudonym, key_id, sealed))
        self._remembered.add((pseudonym, key_id))

    def reveal(self, pseudonyms: Iterable[str]) -> dict[str, str | None]:
        """Each pseudonym's clear value, or None once every key it was sealed under is destroyed."""
        wanted = sorted(set(pseudonyms))
        shown: dict[str, str | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), 500):  # a view names thousands: one query per 500
            part = wanted[start : start + 500]
            rows = self.db.execute(
                "SELECT r.pseudonym, k.key, r.sealed FROM revealed r JOIN keys k USING (key_id) "
                f"WHERE r.pseudonym IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
            for pseudonym, key, sealed in rows:
                if shown[pseudonym] is not None:
                    continue
                try:
                    shown[pseudonym] = decrypt(bytes(key), bytes(sealed), pseudonym.encode()).decode()
                except InvalidTag:  # an altered row: shown as erased rather than as something else
                    continue
        return shown

    def forget_person(self, person_id: str, by: str) -> int:
        """Destroy the keys of every account of the person: their sealed fields are erased for good.
        The number of keys destroyed; 0 when the person is unknown here or already forgotten."""
        person = person_pseudonym(self._pepper, person_id)
        with self.sealing():
            accounts = [
                a
                for (a,) in self.db.execute(
                    "SELECT key FROM links WHERE kind = 'person' AND target = ?", (person,)
                )
            ]
            ids = [
                k
                for a in accounts
                for (k,) in self.db.execute("SELECT key_id FROM keys WHERE account_id = ?", (a,))
            ]
            for key_id in ids:
                self.db.execute("DELETE FROM revealed WHERE key_id = ?", (key_id,))
                self.db.execute("DELETE FROM keys WHERE key_id = ?", (key_id,))
            if accounts:
                at = datetime.now(UTC).isoformat()
                self.db.execute(
                    "INSERT OR REPLACE INTO forgotten VALUES (?, ?, ?, ?)", (person, at, len(ids), by)
                )
        self._keys.clear()
        self._remembered.clear()
        return len(ids) if accounts else 0

    def forgotten_at(self, person_id: str) -> str | None:
        person = person_pseudonym(self._pepper, person_id)
        row = self.db.execute("SELECT at FROM forgotten WHERE person = ?", (person,)).fetchone()
        return None if row is None else str(row[0])

    def knows_person(self, person_id: str) -> bool:
        person = person_pseudonym(self._pepper, person_id)
        row = self.db.execute(
            "SELECT 1 FROM links WHERE kind = 'person' AND target = ?", (person,)
        ).fetchone()
        return row is not None


# The log says whether it is sealed, so that a missing key store is an error and not a clear log.
_SEALED = "CREATE TABLE IF NOT EXISTS sealed (pepper_id TEXT NOT NULL)"


def is_sealed(db: sqlite3.Connection) -> bool:
    return (
        db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sealed'").fetchone()
        is not None
    )


def pepper_id(pepper: bytes) -> str:
    """Names the pepper without giving it away: a log and a key store that belong together agree on it."""
    return hashlib.sha256(b"hotline-pepper\x00" + pepper).hexdigest()[:16]


def mark_sealed(db: sqlite3.Connection, keys: KeyStore) -> None:
    db.execute(_SEALED)
    db.execute(
        "INSERT INTO sealed SELECT ? WHERE NOT EXISTS (SELECT 1 FROM sealed)", (pepper_id(keys.pepper),)
    )


def sealed_with(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT pepper_id FROM sealed").fetchone()
    return "" if row is None else str(row[0])


def keys_of_log(db: sqlite3.Connection, log: Path, threads: bool = False) -> KeyStore | None:
    """A sealed log's key store; None for a clear log. KeyStoreError (one line) when the log is sealed
    and its key store is missing or another log's: never read a sealed log as if it were clear."""
    if not is_sealed(db):
        return None
    keys = KeyStore(key_store_path(log), threads=threads)
    if sealed_with(db) != pepper_id(keys.pepper):
        raise KeyStoreError(f"{keys.path}: the key store of another log (its pepper differs from {log}'s)")
    return keys
