"""Schema versions and upcasters: an old fact is rewritten to the current shape before it is decoded.

To change a fact type: bump its version in CURRENT_VERSION and register an upcaster from the old
version. Facts already on the log keep their old version and are upcast when read at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from domain.phone import PhoneNumberError, normalise
from schemas.facts import E164_VERSION, FACT_TYPES, TAG_OF, AnyFact, CallReceived, Fact, ViolationReported

Raw = dict[str, Any]

CURRENT_VERSION: dict[type[Fact], int] = {t: 1 for t in FACT_TYPES} | {
    CallReceived: E164_VERSION,  # v2: `number` in E.164
    ViolationReported: E164_VERSION,
}
_CURRENT_BY_TAG = {TAG_OF[t]: v for t, v in CURRENT_VERSION.items()}
UPCASTERS: dict[tuple[str, int], Callable[[Raw], Raw]] = {}


class VersionError(ValueError):
    pass


def upcaster(tag: str, from_version: int) -> Callable[[Callable[[Raw], Raw]], Callable[[Raw], Raw]]:
    def register(fn: Callable[[Raw], Raw]) -> Callable[[Raw], Raw]:
        UPCASTERS[(tag, from_version)] = fn
        return fn

    return register


def upcast(raw: Raw) -> Raw:
    tag, version = raw.get("type"), raw.get("v", 1)
    current = _CURRENT_BY_TAG.get(tag)  # type: ignore[arg-type]
    if current is None:
        raise VersionError(f"unknown fact type {tag!r}")
    if not isinstance(version, int) or version > current or version < 1:
        raise VersionError(f"{tag} has no schema version {version!r} (current is {current}) - at `$.v`")
    while version < current:
        step = UPCASTERS.get((tag, version))  # type: ignore[arg-type]
        if step is None:
            raise VersionError(f"no upcaster for {tag} v{version}")
        raw = {**step(raw), "v": version + 1}
        version += 1
    return raw


@upcaster("call.received", 1)
@upcaster("violation.reported", 1)
def upcast_v1_v2(raw: Raw) -> Raw:
    """v1 kept `number` as written; v2 holds it in E.164. A number that is not valid is left as it
    is: decoding the v2 fact then refuses it at ingest (and a log record decodes as v1: see
    schemas.facts._number_in_e164, the same step done during a batch decode)."""
    number = raw.get("number")
    if isinstance(number, str):
        try:
            return {**raw, "number": normalise(number)}
        except PhoneNumberError:
            pass
    return raw


_stored = msgspec.msgpack.Decoder(AnyFact)
_encoder = msgspec.msgpack.Encoder()


def same_fact(stored: bytes, body: bytes) -> bool:
    """Whether a stored MessagePack body and a new one are the same fact. Equal bytes are; an older
    record (a v1 call with its number as written) is compared as decoding upcasts it, so a re-send in
    another spelling is a duplicate, not a conflict. Only a mismatch pays for the decode."""
    if stored == body:
        return True
    try:
        return _encoder.encode(_stored.decode(stored)) == body
    except msgspec.DecodeError:
        return False
