"""Encoding of facts: JSON at the edges, MessagePack on the log. Times leave here in UTC."""

from __future__ import annotations

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


def fact_from_json(line: bytes | str) -> Fact:
    """Decode and validate one JSON fact, upcasting an older schema version. Raises msgspec errors
    that name the field at fault (e.g. "Expected `str`, got `int` - at `$.account_id`")."""
    try:
        fact: Fact = _json_decoder.decode(line)
        if fact.v == CURRENT_VERSION[type(fact)]:
            return normalise(fact)
    except msgspec.ValidationError:
        raw = msgspec.json.decode(line)
        if not (isinstance(raw, dict) and isinstance(raw.get("v"), int) and raw["v"] > 1):
            raise  # not an older version: the error stands as it is
    raw_fact: dict[str, Any] = msgspec.json.decode(line)
    return normalise(msgspec.convert(upcast(raw_fact), type=AnyFact))  # type: ignore[arg-type]


def fact_to_json(fact: Fact) -> bytes:
    return msgspec.json.encode(fact)


__all__ = [
    "TAG_OF",
    "batch_from_msgpack",
    "fact_from_json",
    "fact_to_json",
    "from_msgpack",
    "normalise",
    "to_msgpack",
]
