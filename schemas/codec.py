"""Encoding of facts: JSON at the edges, MessagePack on the log. Times leave here in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from schemas.facts import TAG_OF, AnyFact, Fact
from schemas.upcast import CURRENT_VERSION, upcast

_json_decoder = msgspec.json.Decoder(AnyFact)
_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoder = msgspec.msgpack.Decoder(AnyFact)
_msgpack_batch_decoder = msgspec.msgpack.Decoder(list[AnyFact])


def to_msgpack(fact: Fact) -> bytes:
    return _msgpack_encoder.encode(fact)


def from_msgpack(body: bytes) -> Fact:
    return _msgpack_decoder.decode(body)  # type: ignore[no-any-return]


def batch_from_msgpack(bodies: list[bytes]) -> list[AnyFact]:
    """Decode many log records in one call: one array header, then the records as they are stored."""
    n = len(bodies)
    header = (
        bytes([0x90 | n])
        if n < 16
        else (b"\xdc" + n.to_bytes(2, "big") if n < 65536 else b"\xdd" + n.to_bytes(4, "big"))
    )
    return _msgpack_batch_decoder.decode(header + b"".join(bodies))  # type: ignore[no-any-return]


def normalise(fact: Fact) -> Fact:
    """The same fact with every time in UTC (MessagePack timestamps are UTC), so equal facts compare equal."""
    return from_msgpack(to_msgpack(fact))


#: How deeply a line may nest. A fact nests two levels (an object and a list); msgspec recurses per
#: level and has no limit of its own, so thousands of `[` would raise RecursionError mid-decode.
MAX_DEPTH = 64
_NESTING = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)  # an escape pair, a quote or a bracket


class Refused(ValueError):
    """A line refused by the codec's own checks, which msgspec does not make: `field` (None for the
    whole line) and a reason a person can act on."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{reason} - at `$.{field or ''}`")
        self.field, self.reason = field, reason


def nests_deeper_than(line: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than `limit`. Counting the brackets first keeps
    the common line at two C scans; the exact walk is linear too (one regex pass, no backtracking)."""
    if line.count(b"[") + line.count(b"{") <= limit:
        return False
    depth, in_string = 0, False
    for m in _NESTING.finditer(line):
        token = m.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _in_utc(fact: Fact) -> Fact:
    """`normalise`, refusing a time that has no UTC equivalent (year 1 at +08:00, year 9999 at -08:00)."""
    try:
        return normalise(fact)
    except OverflowError:
        for name in fact.__struct_fields__:
            t = getattr(fact, name)
            if isinstance(t, datetime):
                try:
                    t.astimezone(UTC)
                except OverflowError:
                    raise Refused(
                        name, "date-time out of range: it falls outside years 1 to 9999 in UTC"
                    ) from None
        raise


def fact_from_json(line: bytes | str) -> Fact:
    """Decode and validate one JSON fact, upcasting an older schema version. Raises msgspec errors
    that name the field at fault (e.g. "Expected `str`, got `int` - at `$.account_id`"), or `Refused`
    for a line nested too deeply or a time out of range."""
    if nests_deeper_than(line.encode() if isinstance(line, str) else line):
        raise Refused(None, f"JSON nested more than {MAX_DEPTH} levels deep: a fact is a flat object")
    try:
        fact: Fact = _json_decoder.decode(line)
        if fact.v == CURRENT_VERSION[type(fact)]:
            return _in_utc(fact)
    except msgspec.ValidationError:
        raw = msgspec.json.decode(line)
        if not (isinstance(raw, dict) and isinstance(raw.get("v"), int) and raw["v"] > 1):
            raise  # not an older version: the error stands as it is
    raw_fact: dict[str, Any] = msgspec.json.decode(line)
    return _in_utc(msgspec.convert(upcast(raw_fact), type=AnyFact))  # type: ignore[arg-type]


def fact_to_json(fact: Fact) -> bytes:
    return msgspec.json.encode(fact)


__all__ = [
    "MAX_DEPTH",
    "TAG_OF",
    "Refused",
    "batch_from_msgpack",
    "fact_from_json",
    "fact_to_json",
    "from_msgpack",
    "nests_deeper_than",
    "normalise",
    "to_msgpack",
]
