"""Validation at the edge: one bad line is reported by line, field and reason; it never stops the rest."""

from __future__ import annotations

import json
import logging
import re
import typing
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache

import msgspec

from domain.admission import MISMATCH
from producers.event_time import EventTimeBounds
from schemas import facts as f
from schemas.codec import Refused, fact_from_json
from schemas.types import Id, Instant
from schemas.upcast import VersionError

log = logging.getLogger("hotline.validate")


#: A refused line is kept (rejects file, rejects topic) up to this many characters: a huge line must
#: not become a record the rejects topic refuses (its limit is 4 MiB), and the start names it well.
RAW_KEPT = 65_536


class Rejection(msgspec.Struct, kw_only=True):
    file: str
    line: int
    field: str | None
    reason: str
    raw: str

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_KEPT:
            cut = len(self.raw) - RAW_KEPT
            self.raw = f"{self.raw[:RAW_KEPT]}… [{cut:,} more characters not kept]"


_AT_FIELD = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


def explain_decode_error(err: Exception) -> tuple[str | None, str]:
    """msgspec's message, split into the field it names and a reason a person can act on."""
    text = str(err)
    if isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError):
        return None, f"not valid JSON ({text.removeprefix('JSON is malformed: ')})"
    if (m := _MISSING.search(text)) is not None:
        return m.group(1), "missing required field"
    if (m := _UNKNOWN.search(text)) is not None:
        return m.group(1), "unknown field: not part of this fact type (misspelt?)"
    field = None
    if (m := _AT_FIELD.search(text)) is not None:
        field, text = m.group(1) or None, text[: m.start()]
    if field == "type" and text.startswith("Invalid value"):
        return field, f"unknown fact type {text.removeprefix('Invalid value ')}"
    if "RFC3339" in text:
        text = "not a valid date-time; use e.g. 2025-03-01T09:30:00+08:00"
    elif "timezone component" in text:
        text = "a date-time needs a UTC offset, e.g. 2025-03-01T09:30:00+08:00"
    return field, text


def all_missing(line: bytes) -> tuple[str, str] | None:
    """Name every missing field at once, so an integrator fixes a line in one go."""
    try:
        raw = msgspec.json.decode(line)
        fact_type = f.TYPE_OF_TAG[raw["type"]]
    except (msgspec.DecodeError, KeyError, TypeError):
        return None
    missing = [
        fd.encode_name
        for fd in msgspec.structs.fields(fact_type)
        if fd.required and fd.encode_name not in raw
    ]
    if not missing:
        return None
    return ", ".join(missing), "missing required field" + ("s" if len(missing) > 1 else "")


#: C0, DEL and C1 controls: a newline or an ANSI escape in a key would reach terminals, logs and keys.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _may_hold_control(line: bytes) -> bool:
    """Whether a JSON line may hold a control character in a string: as an escape (`\\n`,
    `\\u001b`), a DEL, or a C1 character in UTF-8 (lead byte 0xc2); raw C0 bytes are not valid JSON.
    Nearly every line has none of these and skips the per-key check (three memchr scans)."""
    return b"\\" in line or b"\x7f" in line or b"\xc2" in line


@cache
def _key_fields(struct_type: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields typed `Id` (alone, optional or in a tuple): keys, as opposed to free text."""
    hints = typing.get_type_hints(struct_type, include_extras=True)
    return tuple(name for name, hint in hints.items() if hint is Id or Id in typing.get_args(hint))


@cache
def _time_fields(struct_type: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields typed `Instant` (alone or optional)."""
    hints = typing.get_type_hints(struct_type, include_extras=True)
    return tuple(name for name, hint in hints.items() if hint is Instant or Instant in typing.get_args(hint))


def key_problems(struct: msgspec.Struct) -> list[tuple[str, str]]:
    """Keys with a control character, refused here rather than by the `Id` type itself: a fact
    accepted before this check may hold one, and the log and the topics must still decode it."""
    out = []
    for name in _key_fields(type(struct)):
        value = getattr(struct, name)
        for key in value if isinstance(value, tuple) else (value,):
            if isinstance(key, str) and _CONTROL.search(key):
                out.append(
                    (name, "contains a control character (newline, escape...): keys are one printable line")
                )
                break
    return out


def semantic_problems(
    fact: f.Fact, received: datetime | None = None, bounds: EventTimeBounds | None = None, keys: bool = True
) -> list[tuple[str, str]]:
    """Checks a schema cannot express. `received` (default: now) is when the line arrived, for the
    event-time bounds (`bounds`, default: from the environment). `keys=False` skips `key_problems`,
    for a line known to hold no control character."""
    out = key_problems(fact) if keys else []
    if fact.sealed is not msgspec.UNSET:  # only the line seals (privacy.sealing); a sender's would be trusted
        out.append(("sealed", "set by the line when it seals a fact, never by a sender"))
    times = {name: t for name in _time_fields(type(fact)) if (t := getattr(fact, name)) is not None}
    bounds = bounds or EventTimeBounds.from_env()
    out += bounds.problems(times, received or datetime.now(UTC))
    if isinstance(fact, f.CallReceived) and fact.ended_at is not None and fact.ended_at < fact.at:
        out.append(("ended_at", "the call ends before it starts"))
    if isinstance(fact, f.AdmissionRefused) and MISMATCH not in fact.reasons:
        out.append(("reasons", f"an admission.refused fact records a {MISMATCH!r} refusal"))
    if isinstance(fact, f.CertificateGranted) and fact.valid_until <= fact.at:
        out.append(("valid_until", "the certificate expires before it is granted"))
    if isinstance(fact, f.ViolationReported):
        if fact.rule == "CERT-FRAUD" and not fact.certificate_id:
            out.append(("certificate_id", "a CERT-FRAUD report names the certificate"))
        if fact.rule.startswith("BARCODE-SWAP") and not fact.device_barcode:
            out.append(("device_barcode", "a barcode swap report names device B"))
        if fact.rule == "BLACKLIST-EVASION":
            out.append(("rule", "evasion is detected from calls and accounts, not reported"))
    return out


NOT_UTF8 = "not UTF-8 text: facts are JSON encoded as UTF-8"


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_lines(
    lines: Iterable[bytes],
    file: str,
    received: datetime | None = None,
    bounds: EventTimeBounds | None = None,
    first: int = 1,
) -> tuple[list[tuple[int, f.Fact]], list[Rejection]]:
    """Each non-blank line is either parsed or refused (once per problem), never an exception.
    `received` (default: now, once for the batch) and `bounds` (default: the environment's) set the
    event-time bounds. `first` is the number of the first line (a window further into a file)."""
    parsed: list[tuple[int, f.Fact]] = []
    rejected: list[Rejection] = []
    received = received or datetime.now(UTC)
    bounds = bounds or EventTimeBounds.from_env()
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        raw = line.decode("utf-8", "replace").rstrip("\n")
        try:
            outcome = _line_problems(line, received, bounds)
        except Exception as err:  # a bug of ours must not stop the batch: the line is refused, and logged
            log.exception("line %d of %s could not be checked", number, file)
            outcome = [(None, f"could not be checked ({type(err).__name__}); please report this line")]
        if isinstance(outcome, f.Fact):
            parsed.append((number, outcome))
        else:
            rejected += [Rejection(file=file, line=number, field=a, reason=r, raw=raw) for a, r in outcome]
    return parsed, rejected


def _line_problems(
    line: bytes, received: datetime, bounds: EventTimeBounds
) -> f.Fact | list[tuple[str | None, str]]:
    """The fact on this line, or every problem found with it."""
    try:
        fact = fact_from_json(line)
    except Refused as err:
        return [(err.field, err.reason)]
    except (UnicodeDecodeError, msgspec.DecodeError, VersionError) as err:
        if not _is_utf8(line):  # checked by us: msgspec's wording and error class vary by version
            return [(None, NOT_UTF8)]
        field, reason = explain_decode_error(err)
        if reason == "missing required field":
            field, reason = all_missing(line) or (field, reason)
        return [(field, reason)]
    if (twice := duplicate_key(line)) is not None:
        return [(twice, TWICE)]
    problems = semantic_problems(fact, received, bounds, keys=_may_hold_control(line))
    return list(problems) if problems else fact


TWICE = "given twice: each key appears once in a fact (readers disagree on which one counts)"
_plain = msgspec.json.Decoder()


def duplicate_key(line: bytes) -> str | None:
    """The first key given twice in a decoded line's object, or None. msgspec, like most parsers, keeps
    the last of two, and another reader may keep the first: a fact that reads two ways is refused.
    Costs a count and an untyped decode (~3 µs); the exact pass runs only when a key may repeat."""
    if line.count(b'":') + line.count(b'" :') <= len(_plain.decode(line)):
        return None  # as many key ends as distinct keys: none repeats (a fact is one flat object)
    seen: set[str] = set()
    twice: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> None:
        for key, _ in items:
            if key in seen and not twice:
                twice.append(key)
            seen.add(key)

    try:
        json.loads(line, object_pairs_hook=pairs)  # a `":` inside a string value: no key repeats
    except ValueError:  # msgspec read it; a stricter or looser reader's opinion changes nothing here
        return None
    return twice[0] if twice else None
