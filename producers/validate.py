"""Validation at the edge: one bad line is reported by line, field and reason; it never stops the rest."""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from schemas import facts as f
from schemas.codec import fact_from_json
from schemas.upcast import VersionError


class Rejection(msgspec.Struct, kw_only=True):
    file: str
    line: int
    field: str | None
    reason: str
    raw: str


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


def semantic_problems(fact: f.Fact) -> list[tuple[str, str]]:
    """Checks a schema cannot express."""
    out = []
    if isinstance(fact, f.CallReceived) and fact.ended_at is not None and fact.ended_at < fact.at:
        out.append(("ended_at", "the call ends before it starts"))
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


def parse_lines(lines: Iterable[bytes], file: str) -> tuple[list[tuple[int, f.Fact]], list[Rejection]]:
    parsed: list[tuple[int, f.Fact]] = []
    rejected: list[Rejection] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        raw = line.decode("utf-8", "replace").rstrip("\n")
        try:
            fact = fact_from_json(line)
        except (UnicodeDecodeError, msgspec.DecodeError, VersionError) as err:
            if not _is_utf8(line):  # checked by us: msgspec's wording and error class vary by version
                field, reason = None, NOT_UTF8
            else:
                field, reason = explain_decode_error(err)
                if reason == "missing required field":
                    field, reason = all_missing(line) or (field, reason)
            rejected.append(Rejection(file=file, line=number, field=field, reason=reason, raw=raw))
            continue
        problems = semantic_problems(fact)
        for field, reason in problems:
            rejected.append(Rejection(file=file, line=number, field=field, reason=reason, raw=raw))
        if not problems:
            parsed.append((number, fact))
    return parsed, rejected
