"""Phone numbers: one caller, one subject (RULES.md). Numbers are compared in E.164 form.

`+86 134 1532 3691`, `13415323691`, `0086 134 1532 3691` and `+86-134-1532-3691` are one caller:
each normalises to `+8613415323691`. A number written without a country code is read on the line's
region (the vendor's line is in China: "CN"), which `HOTLINE_PHONE_REGION` can change.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

import msgspec
import phonenumbers

DEFAULT_REGION = "CN"


class PhoneNumberError(ValueError):
    """A number that is not a valid phone number; the message says why, for a person."""


def line_region() -> str:
    """The region of numbers written without a country code: $HOTLINE_PHONE_REGION, default CN."""
    return os.environ.get("HOTLINE_PHONE_REGION", "").strip().upper() or DEFAULT_REGION


REGION = line_region()  # read once: every number of one process is read on one region

# What people write: digits, spaces and hyphens, with a leading + (or 00) for a country code.
# Anything else, a letter or a trailing newline among them, is refused before libphonenumber sees it
# (it would skip letters and whitespace quietly).
_SPELLING = re.compile(r"\+?[0-9][0-9 -]*[0-9]")
#: A sealed log's number (privacy.pseudonyms): `+000` and 28 digits of a keyed hash of the E.164 form. No
#: country code starts with 0, so no real number has this shape; it is a subject as it stands.
PSEUDONYM = re.compile(r"\+000[0-9]{28}")
_E164 = phonenumbers.PhoneNumberFormat.E164
_INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL


@lru_cache(maxsize=1 << 16)  # parsing costs ~50 µs; a log holds few distinct numbers, read many times
def normalise(text: str, region: str = REGION) -> str:
    """The number in E.164 (`+8613415323691`), or a sealed log's pseudonym as it is; raises
    PhoneNumberError saying why it is neither."""
    if isinstance(text, str) and PSEUDONYM.fullmatch(text) is not None:
        return text
    if not isinstance(text, str) or _SPELLING.fullmatch(text) is None:
        raise PhoneNumberError("not a phone number: use digits, spaces or hyphens, with a leading + or 00")
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneNumberError(f"unknown phone region {region!r} (set HOTLINE_PHONE_REGION to e.g. CN)")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise PhoneNumberError(f"not a valid phone number for region {region}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneNumberError(f"not a valid phone number for region {region}")
    return phonenumbers.format_number(parsed, _E164)


def for_people(e164: str) -> str:
    """The international format for display (`+86 134 1532 3691`); a number that is not E.164 (one
    kept as written in an old log) is shown as it is."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), _INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def as_subject(text: str, region: str = REGION) -> str:
    """The number as a subject to look up: E.164 when it is a valid number, else the text as written
    (an old log keeps an invalid number as written, and it is found so). Never raises."""
    try:
        return normalise(text, region)
    except PhoneNumberError:
        return text


def hold_in_e164(record: Any) -> None:
    """In a record's `__post_init__`: its `number` held in E.164, or ValueError naming the field (as
    msgspec names one) when it is not a valid number. For records that carry E.164 from their
    first version (facts of older versions upcast instead: schemas.facts._number_in_e164)."""
    try:
        e164 = normalise(record.number)
    except PhoneNumberError as err:
        raise ValueError(f"{err} - at `$.number`") from None
    if e164 != record.number:
        msgspec.structs.force_setattr(record, "number", e164)
