"""Pseudonyms: what a sealed log holds, and the rules match on, instead of a person's data.

A pseudonym is a keyed hash (HMAC-SHA256 under the line's pepper) of the normalised value, so one
number or person is one subject however it was spelt, and nobody without the pepper can test a
guess. It is not erased with a person: penalties keep binding it (docs/privacy.md).

- a number: `+000` and 28 digits, still a phone-number shape for the schemas (domain.phone.PSEUDONYM);
- a person id: `person-` and 26 base32 letters;
- a stated problem (free text the detectors compare once normalised): `text-` and 26 base32 letters,
  the hash of the normalised text, so that equal problems stay equal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from domain.detectors import normalise_problem
from domain.phone import PSEUDONYM as NUMBER_PSEUDONYM

PERSON_PSEUDONYM = re.compile(r"person-[a-z2-7]{26}")
TEXT_PSEUDONYM = re.compile(r"text-[a-z2-7]{26}")
#: Any kind, anywhere in a text: what `privacy.reveal` looks for in what is shown to people.
ANY_PSEUDONYM = re.compile(
    rf"(?<![\w+-])(?:{NUMBER_PSEUDONYM.pattern}|{PERSON_PSEUDONYM.pattern}|{TEXT_PSEUDONYM.pattern})(?![\w-])"
)


def _mac(pepper: bytes, kind: bytes, value: str) -> bytes:
    return hmac.digest(pepper, kind + b"\x00" + value.encode(), hashlib.sha256)


@lru_cache(maxsize=1 << 16)  # a line has few distinct values, sealed many times
def number_pseudonym(pepper: bytes, e164: str) -> str:
    """The pseudonym of a number in E.164 (93 bits of the hash: collisions are out of reach for a line's
    numbers). A pseudonym given again is returned as it is."""
    if NUMBER_PSEUDONYM.fullmatch(e164):
        return e164
    digits = int.from_bytes(_mac(pepper, b"number", e164)[:12], "big") % 10**28
    return f"+000{digits:028d}"


@lru_cache(maxsize=1 << 16)  # a line has few distinct values, sealed many times
def person_pseudonym(pepper: bytes, person_id: str) -> str:
    """The pseudonym of a person id (130 bits). A pseudonym given again is returned as it is."""
    if PERSON_PSEUDONYM.fullmatch(person_id):
        return person_id
    return f"person-{_b32(_mac(pepper, b'person', person_id))}"


@lru_cache(maxsize=1 << 16)  # a line has few distinct values, sealed many times
def problem_pseudonym(pepper: bytes, problem: str) -> str:
    """The pseudonym of a stated problem: of its normalised form (domain.detectors.normalise_problem),
    so two spellings the detectors take for one problem are one pseudonym."""
    if TEXT_PSEUDONYM.fullmatch(problem):
        return problem
    return f"text-{_b32(_mac(pepper, b'problem', normalise_problem(problem)))}"


def _b32(mac: bytes) -> str:
    return base64.b32encode(mac[:17]).decode().lower()[:26]
