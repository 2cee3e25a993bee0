"""Bearer tokens in a SQLite file, stored only as SHA-256 hashes.

A token is `hlt_` and 32 random bytes (`secrets.token_urlsafe`), shown once when it is made. The prefix
lets secret scanners recognise a leaked one. Tokens this random need no slow password hash: SHA-256
is what GitHub and PyPI store for their API tokens, and a lookup by hash (an indexed column) compares
no secret byte by byte, so it leaks nothing through timing. Revoking keeps the row (who had access,
and until when); a server sees a revocation made by another process within a second
(`TokenStore.authenticate`).

The file: `HOTLINE_TOKENS`, default `hotline-tokens.db` in the working directory; never in the repo.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from access.roles import Role

DEFAULT_PATH = Path("hotline-tokens.db")
PREFIX = "hlt_"
_NAME = re.compile(r"^[A-Za-z0-9 ._:@/-]{1,64}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    revoked TEXT
)
"""


class TokenStoreError(Exception):
    """The store cannot be used; the message is one line for the operator."""


@dataclass(frozen=True)
class Principal:
    """Who a request comes from."""

    token_id: str
    name: str
    role: Role


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    role: Role
    created: datetime
    revoked: datetime | None


def store_path(path: Path | None = None) -> Path:
    return path or Path(os.environ.get("HOTLINE_TOKENS") or DEFAULT_PATH)


def check_name(name: str) -> str:
    """A token's name is shown to operators: plain characters only (no markup, no control codes)."""
    if not _NAME.match(name):
        raise TokenStoreError(f"name {name!r}: use 1 to 64 letters, digits, spaces or . _ : @ / -")
    return name


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _create_private(path: Path) -> None:
    """The file is made readable by its owner only (it holds hashes, but who may do what)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


class TokenStore:
    """One SQLite file; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: Path | None = None, *, create: bool = False, recheck_s: float = 1.0) -> None:
        self.path = store_path(path)
        self.recheck_s = recheck_s
        if self.path.is_dir():
            raise TokenStoreError(f"the token store {self.path} is a directory, not a file")
        if not self.path.exists():
            if not create:
                raise TokenStoreError(
                    f"no token store at {self.path}: make a token first with "
                    "`hotline tokens create --role ROLE` (or point HOTLINE_TOKENS at the store)"
                )
            try:
                _create_private(self.path)
            except OSError as err:
                raise TokenStoreError(f"cannot create the token store {self.path}: {err.strerror}") from None
        self._lock = threading.Lock()
        self._seen: tuple[object, ...] | None = None  # the file's version when `_active` was read
        self._checked = -float("inf")  # when the version was last looked at (monotonic)
        self._active: dict[str, Principal] = {}  # hash -> principal, of the unrevoked tokens
        self._connect()

    def _connect(self) -> None:
        try:
            self._ino = os.stat(self.path).st_ino
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
            self._db.execute(_SCHEMA)
            # The change counter (`_version`) is kept up to date in rollback-journal mode only.
            self._db.execute("PRAGMA journal_mode=DELETE")
        except (OSError, sqlite3.DatabaseError) as err:
            raise TokenStoreError(f"{self.path} is not a readable token store: {err}") from None

    @classmethod
    def for_server(cls, path: Path | None = None) -> TokenStore:
        """The store a server authenticates against: it must exist and hold a usable token, so a
        server never starts open to everyone by mistake."""
        store = cls(path)
        if not store.active():
            store.close()
            raise TokenStoreError(
                f"the token store {store.path} holds no usable token: make one with "
                "`hotline tokens create --role ROLE` before starting the server"
            )
        return store

    def create(self, role: Role, name: str = "") -> tuple[TokenRecord, str]:
        """A new token: its record and the token itself, which is not kept and cannot be shown again."""
        name = check_name(name or role.value)
        token = PREFIX + secrets.token_urlsafe(32)
        created = _now()
        with self._lock:
            while True:
                token_id = secrets.token_hex(4)
                try:
                    self._db.execute(
                        "INSERT INTO tokens (id, name, role, hash, created) VALUES (?, ?, ?, ?, ?)",
                        (token_id, name, role.value, _digest(token), created),
                    )
                    break
                except sqlite3.IntegrityError:  # an id drawn twice (1 in 4 billion): draw again
                    continue
            self._checked = -float("inf")
        return TokenRecord(token_id, name, role, datetime.fromisoformat(created), None), token

    def revoke(self, token_id: str) -> TokenRecord:
        with self._lock:
            self._db.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (_now(), token_id)
            )
            self._checked = -float("inf")
        found = [r for r in self.records() if r.id == token_id]
        if not found:
            raise TokenStoreError(f"no token with id {token_id!r} (see `hotline tokens list`)")
        return found[0]

    def records(self) -> list[TokenRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, role, created, revoked FROM tokens ORDER BY rowid"
            ).fetchall()
        return [
            TokenRecord(
                token_id,
                name,
                Role(role),
                datetime.fromisoformat(created),
                datetime.fromisoformat(revoked) if revoked else None,
            )
            for token_id, name, role, created, revoked in rows
        ]

    def active(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM tokens WHERE revoked IS NULL").fetchone()
        return int(n)

    def _version(self) -> tuple[object, ...] | None:
        """What changes whenever the file is written: its inode, size, time, and SQLite's own change
        counter (bytes 24-27 of the header, incremented by every commit). None: no file."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                stat = os.fstat(fd)
                return stat.st_ino, stat.st_size, stat.st_mtime_ns, os.pread(fd, 4, 24)
            finally:
                os.close(fd)
        except OSError:
            return None

    def authenticate(self, token: str) -> Principal | None:
        """Who holds this token; None when it is unknown or revoked, or the store is gone.

        A SQLite read costs ~75 us here (a lock and the header on every transaction), and even
        looking whether the file changed ~16 us, against ~15 us for the whole admission check. So the
        unrevoked tokens are kept in memory; the file is looked at again at most every `recheck_s`
        seconds and read again when it changed. A create or a revoke through this store counts at
        once; one by `hotline tokens` in another process within `recheck_s` (default 1 s)."""
        digest = _digest(token)
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.recheck_s:
                return self._active.get(digest)
            self._checked = now
            version = self._version()
            if version is None:
                self._active = {}
                self._seen = None
                return None
            if version != self._seen:
                if version[0] != self._ino:  # the file was replaced: read the new one
                    self._db.close()
                    self._connect()
                self._active = self._read_active()
                self._seen = version
            return self._active.get(digest)

    def _read_active(self) -> dict[str, Principal]:
        rows = self._db.execute("SELECT hash, id, name, role FROM tokens WHERE revoked IS NULL").fetchall()
        roles = {r.value for r in Role}  # a role this version does not know (a newer store): no access
        return {digest: Principal(i, name, Role(role)) for digest, i, name, role in rows if role in roles}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
