"""A signed statement of the embedded log's chain heads: the anchor outside the file, attributable.

`hotline verify` shows that every link fits its record, but someone who rewrites the file
consistently (bodies, links and the recorded head) gets a chain that verifies too; only a head noted
outside the file catches that (docs/audit.md). A statement signed with Ed25519 says who noted which
heads when, and nobody without the private key can make another. Checking it later
(`hotline verify --against`) asks: is the link the log holds at each signed end offset still the
signed head? If it is, every record up to there is what it was when the statement was signed.

Keys are standard PEM files, made with any tool (`openssl genpkey -algorithm ed25519 -out head.key`,
`openssl pkey -in head.key -pubout -out head.pub`); PyCA cryptography, already the line's library
for sealing, signs and checks.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class TableHead(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    records: int
    end_offset: int
    head: str  # the link of the record at end_offset, hex


class ChainHead(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A producer chain on a partition of the facts topic, as `verify --from-kafka` read it."""

    partition: int
    chain: str
    records: int
    last_offset: int  # the offset of its last record read
    head: str  # that record's link, hex


class HeadStatement(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    heads: dict[str, TableHead] = {}  # the embedded log: "facts", "decisions"
    topic: str = ""  # or a facts topic, and its chains
    chains: list[ChainHead] = []
    signed_at: datetime
    key: str  # SHA-256 of the raw public key, hex: which key signed it
    signature: str = ""  # base64 Ed25519 over the statement without its signature, keys sorted


class StatementError(Exception):
    """A key or statement that cannot be used; the message names the file and the reason."""


def sign(
    heads: dict[str, TableHead],
    key_path: Path,
    now: datetime,
    topic: str = "",
    chains: list[ChainHead] | None = None,
) -> HeadStatement:
    key = _private_key(key_path)
    unsigned = HeadStatement(
        heads=heads, topic=topic, chains=chains or [], signed_at=now, key=fingerprint(key.public_key())
    )
    signature = key.sign(_message(unsigned))
    return msgspec.structs.replace(unsigned, signature=base64.b64encode(signature).decode())


def check(statement: HeadStatement, public_key_path: Path, where: Path) -> None:
    """Raise StatementError unless `statement` (read from `where`) was signed by that key."""
    key = _public_key(public_key_path)
    if statement.key != fingerprint(key):
        raise StatementError(f"{where}: signed by key {statement.key[:16]}…, not by {public_key_path}")
    try:
        key.verify(base64.b64decode(statement.signature, validate=True), _message(statement))
    except (InvalidSignature, ValueError):
        raise StatementError(f"{where}: the signature does not match its content (altered?)") from None


def write(statement: HeadStatement, path: Path) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(statement, order="sorted")) + b"\n")


def read(path: Path) -> HeadStatement:
    try:
        return msgspec.json.decode(path.read_bytes(), type=HeadStatement)
    except OSError as e:
        raise StatementError(f"{path}: cannot read it ({e.strerror})") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise StatementError(f"{path}: not a signed head statement ({e})") from None


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _message(statement: HeadStatement) -> bytes:
    return msgspec.json.encode(msgspec.structs.replace(statement, signature=""), order="sorted")


def _private_key(path: Path) -> Ed25519PrivateKey:
    key = _pem(path, "signing key", lambda data: serialization.load_pem_private_key(data, password=None))
    if not isinstance(key, Ed25519PrivateKey):
        raise StatementError(f"{path}: not an Ed25519 key (openssl genpkey -algorithm ed25519)")
    return key


def _public_key(path: Path) -> Ed25519PublicKey:
    key = _pem(path, "public key", serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise StatementError(f"{path}: not an Ed25519 public key")
    return key


def _pem(path: Path, what: str, load: Callable[[bytes], object]) -> object:
    try:
        return load(path.read_bytes())
    except OSError as e:
        raise StatementError(f"{path}: cannot read the {what} ({e.strerror})") from None
    except (ValueError, TypeError) as e:
        raise StatementError(f"{path}: not an unencrypted PEM {what} ({e})") from None
