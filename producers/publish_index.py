"""What the publisher knows is on the facts topic: a hash per fact id, and per entity key (company,
account, certificate, device barcode, `domain.references.ENTITY_KEYS`) the earliest event time a fact
on the topic introduces it.

It is filled from the records read off the topic (`add_records`, which decodes only the little it
needs of each, `FactHead`) and from the facts the publisher itself gets acknowledged
(`add_published`). References are checked as of event time, so a key keeps its earliest
introduction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import msgspec

from domain.references import ENTITY_KEYS
from schemas.facts import TAG_OF, Fact

log = logging.getLogger(__name__)

_ENTITY_OF_TAG = {TAG_OF[t]: kind_attr for t, kind_attr in ENTITY_KEYS.items()}


class FactHead(msgspec.Struct):
    """The little the index needs from a fact on the topic; every other field is skipped unread."""

    id: str
    type: str
    company_id: str | None = None
    account_id: str | None = None
    certificate_id: str | None = None
    barcode: str | None = None
    at: datetime | None = None


_heads = msgspec.json.Decoder(list[FactHead])
_head = msgspec.json.Decoder(FactHead)


class TopicIndex:
    """The ids and entity keys of the facts on one facts topic. `check_ids=False` keeps no ids (the
    publisher then cannot tell a re-send or a reused id, and saves their memory)."""

    def __init__(self, check_ids: bool = True) -> None:
        self.check_ids = check_ids
        # entity kind -> key -> the earliest event time a fact on the topic introduces it
        self.known: dict[str, dict[str, datetime]] = defaultdict(dict)
        self.ids: dict[str, int] = {}  # fact id -> hash of its record value on the topic

    def add_records(self, values: list[bytes]) -> None:
        """Record values read off the topic; one that is not a fact is logged and skipped."""
        try:
            heads: Sequence[FactHead | None] = _heads.decode(b"[" + b",".join(values) + b"]")
        except msgspec.DecodeError:
            heads = [decode_head(v) for v in values]  # one bad record must not hide the others
        ids, known = self.ids, self.known
        for head, value in zip(heads, values, strict=True):
            if head is None:
                continue
            if self.check_ids:
                ids[head.id] = hash(value)
            if (entity := _ENTITY_OF_TAG.get(head.type)) is not None:
                key = getattr(head, entity[1])
                if key is not None and head.at is not None:
                    introduce(known[entity[0]], key, head.at)

    def add_published(self, fact: Fact, value: bytes) -> None:
        """A fact the broker acknowledged, with its record value."""
        if self.check_ids:
            self.ids[fact.id] = hash(value)
        if (entity := ENTITY_KEYS.get(type(fact))) is not None:
            introduce(self.known[entity[0]], getattr(fact, entity[1]), fact.at)

    def knows(self, kind: str, key: str) -> bool:
        return key in self.known[kind]

    def introduced_at(self, kind: str, key: str) -> datetime | None:
        return self.known[kind].get(key)


def introduce(known: dict[str, datetime], key: str, at: datetime) -> None:
    """References are checked as of event time: keep the earliest introduction of a key."""
    if key not in known or at < known[key]:
        known[key] = at


def decode_head(value: bytes) -> FactHead | None:
    try:
        return _head.decode(value)  # type: ignore[no-any-return]
    except msgspec.DecodeError:
        log.warning("a record on the facts topic is not a fact; ignored by the index: %.200r", value)
        return None
