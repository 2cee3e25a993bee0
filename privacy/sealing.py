"""Sealing a fact: its personal fields become pseudonyms and one AES-GCM ciphertext, before it is stored.

- `number`, `person_id` and a call's or case's stated `problem` are replaced by their pseudonyms
  (privacy.pseudonyms): the rules match on those, so admission and detection never decrypt.
- Free text that may name a person (`note`, `reason`) is emptied.
- The clear values of all of them go into the fact's `sealed` field, encrypted under the key of the
  engineer account the fact is about. Destroying a person's keys (`KeyStore.forget_person`) erases them.

The account is the fact's own `account_id`; for a fact about a case or a violation report, the
account that opened the case or was reported (linked when that fact was sealed); otherwise (a staff
note on a penalty, say) the line's own key, which no single person's erasure destroys.

Encryption is deterministic: the nonce is an HMAC of the plaintext under the same key (a synthetic
IV). The same fact sealed twice gives the same bytes, so a re-sent line is still a duplicate and not
a conflict. Equal plaintexts under one key are thereby visible as equal; nothing else is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Protocol

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.pseudonyms import number_pseudonym, person_pseudonym, problem_pseudonym
from schemas.facts import AccountOpened, CaseOpened, Fact, ViolationReported

#: Fields replaced by a pseudonym, which the rules match on; shown again through the key store.
PSEUDONYMISED = ("number", "person_id", "problem")
#: Free-text fields that may carry a person's data and that no rule reads: emptied (a company's `name`
#: is not a person's).
TEXT_FIELDS = ("note", "reason")
_VERSION = "v1"
_NONCE = 12
_payload = msgspec.msgpack.Encoder()
_decode_payload = msgspec.msgpack.Decoder(dict[str, str])


class Keys(Protocol):
    """Where a sealed log's keys live (storage.keystore.KeyStore)."""

    @property
    def pepper(self) -> bytes: ...
    def key(self, account_id: str | None) -> tuple[str, bytes]: ...
    def key_by_id(self, key_id: str) -> bytes | None: ...
    def link(self, kind: str, key: str, account_id: str) -> None: ...
    def account_of(self, kind: str, key: str) -> str | None: ...
    def remembers(self, pseudonym: str, key_id: str) -> bool: ...
    def remember(self, pseudonym: str, key_id: str, sealed: bytes) -> None: ...


@lru_cache(maxsize=1024)  # the key schedule, once per key rather than once per fact
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(key)


def encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Nonce and AES-GCM ciphertext; `context` is authenticated (a fact id, a pseudonym)."""
    nonce = hmac.digest(key, context + b"\x00" + plaintext, hashlib.sha256)[:_NONCE]
    return nonce + _cipher(key).encrypt(nonce, plaintext, context)


def decrypt(key: bytes, sealed: bytes, context: bytes) -> bytes:
    """The plaintext; cryptography's InvalidTag if the bytes or the context were altered."""
    return _cipher(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], context)


def _owner(fact: Fact, keys: Keys) -> str | None:
    account = getattr(fact, "account_id", None)
    if isinstance(account, str):
        return account
    if isinstance(case := getattr(fact, "case_id", None), str) and (found := keys.account_of("case", case)):
        return found
    violation = getattr(fact, "violation_id", None)
    return keys.account_of("violation", violation) if isinstance(violation, str) else None


def _links(fact: Fact, keys: Keys, person: str | None) -> None:
    """What later facts are sealed under: a case's and a report's account, and an account's person."""
    if isinstance(fact, CaseOpened):
        keys.link("case", fact.case_id, fact.account_id)
    elif isinstance(fact, ViolationReported):
        keys.link("violation", fact.id, fact.account_id)
    elif isinstance(fact, AccountOpened) and person is not None:
        keys.link("person", fact.account_id, person)


def seal(fact: Fact, keys: Keys) -> Fact:
    """The fact as a sealed log stores it; a fact with no personal field is returned as it is."""
    if fact.sealed is not msgspec.UNSET:
        raise ValueError("a fact is sealed once, by the line - at `$.sealed`")
    clear: dict[str, str] = {}
    changes: dict[str, str] = {}
    pepper = keys.pepper
    if isinstance(number := getattr(fact, "number", None), str):
        clear["number"], changes["number"] = number, number_pseudonym(pepper, number)
    if isinstance(fact, AccountOpened):
        clear["person_id"], changes["person_id"] = fact.person_id, person_pseudonym(pepper, fact.person_id)
    if problem := getattr(fact, "problem", None):
        clear["problem"], changes["problem"] = problem, problem_pseudonym(pepper, problem)
    for name in TEXT_FIELDS:
        if text := getattr(fact, name, None):
            clear[name], changes[name] = text, ""
    _links(fact, keys, changes.get("person_id"))
    if not clear:
        return fact
    key_id, key = keys.key(_owner(fact, keys))
    for name in PSEUDONYMISED:
        if name in changes and changes[name] != clear[name] and not keys.remembers(changes[name], key_id):
            keys.remember(changes[name], key_id, encrypt(key, clear[name].encode(), changes[name].encode()))
    blob = encrypt(key, _payload.encode(clear), fact.id.encode())
    changes["sealed"] = f"{_VERSION}.{key_id}.{base64.urlsafe_b64encode(blob).decode()}"
    return msgspec.structs.replace(fact, **changes)  # type: ignore[arg-type]


def opened(fact: Fact, keys: Keys) -> dict[str, str] | None:
    """The clear personal fields of a sealed fact; {} for a clear one; None once its key is destroyed."""
    if fact.sealed is msgspec.UNSET:
        return {}
    version, key_id, text = fact.sealed.split(".", 2)
    key = keys.key_by_id(key_id) if version == _VERSION else None
    if key is None:
        return None
    return _decode_payload.decode(decrypt(key, base64.urlsafe_b64decode(text), fact.id.encode()))
