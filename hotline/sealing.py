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
from storage.keystore import KeyStore, KeyStoreError, is_sealed, key_store_path, keys_of_log, mark_sealed


def open_keys(hl: Hotline, seal: bool = False) -> KeyStore | None:
    """The log's key store when the log is sealed (None for a clear log), also set on `hl` and used for
    what is printed. With `seal`, a new log is sealed first; a log that holds clear facts is refused."""
    db = hl.log.db
    keys: KeyStore | None
    if seal and not is_sealed(db):
        if hl.log.count():
            raise OperatorError(f"--seal: {hl.log.path} already holds clear facts; seal a new log")
        keys = new = KeyStore(key_store_path(hl.log.path), create=True)
        mark_sealed(db, new)
    else:
        try:
            keys = keys_of_log(db, hl.log.path)
        except KeyStoreError as e:
            raise OperatorError(f"{hl.log.path} is sealed: {e}") from None
    if keys is None:
        render.reveal_with(None)  # one process, one log: nothing left from a sealed one before
        return None
    hl.keys = keys
    render.reveal_with(Revealer(keys.reveal))
    return keys
