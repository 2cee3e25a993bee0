"""A sealed log from the CLI: open its key store, seal a new log, show pseudonyms in clear.

A log is sealed when it was created with `hotline ingest --seal` (docs/privacy.md); its key store
is `<log>.keys` or $HOTLINE_KEYS. Every command that reads a sealed log reveals what it prints, and
one whose key store is missing stops with one line rather than reading the log as if it were clear.
"""

from __future__ import annotations

from consumers.embedded import Hotline
from hotline import render
from hotline.errors import OperatorError
from privacy.reveal import Revealer
from storage.keystore import (
    KeyStore,
    KeyStoreError,
    is_sealed,
    key_store_path,
    mark_sealed,
    pepper_id,
    sealed_with,
)


def open_keys(hl: Hotline, seal: bool = False) -> KeyStore | None:
    """The log's key store when the log is sealed (None for a clear log), also set on `hl` and used for
    what is printed. With `seal`, a new log is sealed first; a log that holds clear facts is refused."""
    db, path = hl.log.db, key_store_path(hl.log.path)
    if not is_sealed(db):
        if not seal:
            render.reveal_with(None)  # one process, one log: nothing left from a sealed one before
            return None
        if hl.log.count():
            raise OperatorError(f"--seal: {hl.log.path} already holds clear facts; seal a new log")
    try:
        keys = KeyStore(path, create=seal and not is_sealed(db))
    except KeyStoreError as e:
        raise OperatorError(f"{hl.log.path} is sealed: {e}") from None
    if not is_sealed(db):
        mark_sealed(db, keys)
    elif sealed_with(db) != pepper_id(keys.pepper):
        raise OperatorError(f"{path}: the key store of another log (its pepper differs from {hl.log.path}'s)")
    hl.keys = keys
    render.reveal_with(Revealer(keys.reveal))
    return keys
