"""Publishing what changed: the state is diffed against what this worker already published.

Delivery is at-least-once. An event is recorded in the `emitted` table only after the broker has
acknowledged it, so a crash can never lose one; a worker killed with -9 between the acknowledgement
and the table write publishes that event again after its restart, under the same id and with the
same payload. Consumers therefore dedupe by topic and event `id` (an id is unique within its topic:
a suspicion and the violation it becomes share one). One narrow window remains: a table
write reaches RocksDB at once but its changelog copy a few ms later, and faust restores a table by
replaying its changelog over RocksDB from the last committed offset; a kill -9 in those ms, on an
entry written twice within the last commit interval (an event retracted right after being
published), can bring back the older entry, and if the event then comes back it is not re-published.

- A derived event (see outputs.derived_events) is published once, on its topic, keyed by its subject;
  the `emitted` table keeps it under f"{topic kind}|{event id}" (`ledger_key`) with a fingerprint of
  what it said. Tables written before that keyed entries by the bare event id; they are read back
  under the topic kind each entry holds (`_ledger`), so a worker restarted on them republishes
  nothing, with one exception: where a suspicion and its violation shared an entry (the violation
  had overwritten it), the suspicion is published under its id, once more if it already was (a
  consumer that has it drops it as a duplicate: consumers dedupe by id per topic).
- If a late fact shows that a published event never happened (facts arrive in any order; a state
  built from part of them can hold a suspicion the rest dismisses), a `derived.changed` event with
  change "retracted" and id f"{event id}@retracted" withdraws it, on the same topic and key (so it
  follows the event in its partition). Should the event come back later, or a late fact change what
  it says, it is published again as generation n, with id f"{event id}#n" (the previous generation
  withdrawn first). Generations are rare: they need facts that arrive out of event-time order.
- A projection key (blacklist "kind:subject", company counters, certificate tallies) is written when
  its value differs from the last one written (a fingerprint without `as_of`), and deleted with a
  tombstone when its subject disappears.
- Only keys this worker owns are published: partition(key) % count == index.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import msgspec

from projections.state import State

from .outputs import derived_events, projection_values, retraction, type_tag
from .ownership import Ownership

Send = Callable[[str, str, bytes | None], Awaitable[Awaitable[Any]]]  # kind, key, value -> delivery

_encode = msgspec.json.Encoder().encode


def wire_id(event_id: str, generation: int) -> str:
    return event_id if generation == 1 else f"{event_id}#{generation}"


def _hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def fingerprint(value: msgspec.Struct) -> str:
    """Of a projection value: equal content, equal fingerprint; `as_of` moves with every fact and is
    left out."""
    return _hash(_encode(msgspec.structs.replace(value, as_of=None)))  # type: ignore[call-arg]


def ledger_key(kind: str, event_id: str) -> str:
    """The `emitted` table's key of an event: ids are unique per topic, not across topics."""
    return f"{kind}|{event_id}"


def _ledger(entries: dict[str, Any]) -> dict[tuple[str, str], list[Any]]:
    """The `emitted` table by (topic kind, event id). A key without its kind's prefix is a bare event
    id from before the ledger was keyed by topic: it is filed under the kind its entry holds, unless
    an entry written since then has that key (the newer one is what the topic last received)."""
    ledger: dict[tuple[str, str], list[Any]] = {}
    legacy: dict[tuple[str, str], list[Any]] = {}
    for name, value in entries.items():
        entry = list(value)
        kind = str(entry[1])
        if name.startswith(f"{kind}|"):
            ledger[(kind, name[len(kind) + 1 :])] = entry
        else:
            legacy[(kind, name)] = entry
    for event, entry in legacy.items():
        ledger.setdefault(event, entry)
    return ledger


def _contents(table: MutableMapping[str, Any]) -> dict[str, Any]:
    snapshot = getattr(table, "snapshot", None)  # tables.KeyedTable reads its store in one pass
    items = snapshot() if snapshot is not None else dict(table)
    return {k: v for k, v in items.items() if v is not None}


class Emitter:
    def __init__(
        self,
        ownership: Ownership,
        send: Send,
        emitted: MutableMapping[str, Any],
        published: MutableMapping[str, Any],
        policy_version: str,
    ) -> None:
        self.owns = ownership.owns
        self.send = send
        self.emitted_table, self.published_table = emitted, published
        # In-memory copies: the diff reads them on every batch; the tables are the durable record.
        self.emitted: dict[tuple[str, str], list[Any]] = _ledger(_contents(emitted))  # (kind, id) -> entry
        self.published: dict[str, str] = {k: str(v) for k, v in _contents(published).items()}
        self.policy_version = policy_version
        self.sent = 0  # records published by this process

    def live(self) -> int:
        return sum(1 for generation, *_ in self.emitted.values() if generation > 0)

    def _retraction(self, event_id: str, known: list[Any]) -> tuple[str, str, bytes]:
        generation, kind, key, tag = known[:4]
        out = retraction(wire_id(event_id, generation), tag, kind, key, self.policy_version)
        return kind, key, _encode(out.record)

    async def publish(self, state: State, t: datetime | None) -> int:
        """Publish what the state says and the topics do not have yet; returns the number of records."""
        sends: list[tuple[str, str, bytes | None]] = []
        events: dict[tuple[str, str], list[Any]] = {}
        current = derived_events(state)
        for event, out in current.items():
            event_id = event[1]
            if not self.owns(out.key):
                continue
            body = _encode(out.record)
            mark = _hash(body)
            known = self.emitted.get(event)
            generation = 1
            if known is not None:
                if known[0] > 0 and known[4] == mark:
                    continue  # published, unchanged: the usual case
                if known[0] > 0:  # a late fact changed what the event says: withdraw it, say it again
                    sends.append(self._retraction(event_id, known))
                generation = abs(known[0]) + 1
            if generation > 1:
                record = msgspec.structs.replace(out.record, id=wire_id(event_id, generation))  # type: ignore[call-arg]
                body = _encode(record)
            sends.append((out.kind, out.key, body))
            events[event] = [generation, out.kind, out.key, type_tag(out.record), mark]
        for event, known in self.emitted.items():
            if known[0] > 0 and event not in current and self.owns(known[2]):
                sends.append(self._retraction(event[1], known))
                events[event] = [-known[0], *known[1:]]

        projections: dict[str, str | None] = {}
        written: set[str] = set()
        for (kind, key), value in projection_values(state, t).items():
            if not self.owns(key):
                continue
            name = f"{kind}|{key}"
            written.add(name)
            mark = fingerprint(value)
            if self.published.get(name) != mark:
                sends.append((kind, key, _encode(value)))
                projections[name] = mark
        for name in self.published.keys() - written:
            kind, key = name.split("|", 1)
            if self.owns(key):
                sends.append((kind, key, None))  # tombstone: the subject has nothing left
                projections[name] = None

        if not sends:
            return 0
        # Wait for every acknowledgement before recording anything: record-after-ack is what makes
        # a crash produce duplicates (harmless) rather than gaps.
        deliveries = [await self.send(kind, key, value) for kind, key, value in sends]
        await asyncio.gather(*deliveries)
        for event, entry in events.items():
            self.emitted[event] = entry
            self.emitted_table[ledger_key(*event)] = entry
        for name, fp in projections.items():
            if fp is None:
                self.published.pop(name, None)
                self.published_table.pop(name, None)
            else:
                self.published[name] = fp
                self.published_table[name] = fp
        self.sent += len(sends)
        return len(sends)
