"""Producer-assigned hash chains on the facts topic (docs/audit.md, "Kafka: the producers' links").

Several producers write to the same partitions at once, so no single chain per partition can be
assigned at send time without a lock across processes. Instead each producer keeps its own chain per
partition, and every record it sends carries two headers:

- `hl-chain`: the producer's chain id (new at each publisher start, so a restart begins a new chain
  at zero and nothing has to be recovered);
- `hl-link`: storage.chain.link(the previous link of that chain on that partition, the record value),
  32 bytes, with link(0) = 32 zero bytes: the embedded log's link function.

A reader groups a partition's records by chain id and recomputes each chain in offset order: a
record changed, moved, or following a removed one no longer fits its link. Records with neither
header (an older producer, a hand-written record) are counted as unlinked.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storage.chain import GENESIS, link

CHAIN_HEADER = "hl-chain"
LINK_HEADER = "hl-link"
_SHOWN_UNLINKED = 10  # offsets of unlinked records kept per partition, for the operator to look at

Headers = Sequence[tuple[str, bytes | None]]


def new_chain_id(producer: str) -> str:
    """A chain id for one publisher's life: who wrote it, for the operator, and a random part."""
    return f"{producer}-{uuid.uuid4().hex[:12]}"


class ProducerChains:
    """One producer's chains, one per partition. `headers` must be called in the order the records are
    handed to the Kafka producer for that partition, which is the order they land in (idempotent
    producer: one batch in flight per partition, retries keep their place)."""

    __slots__ = ("producer", "chain_id", "_chain_header", "_heads", "_counts")

    def __init__(self, producer: str) -> None:
        self.producer = producer
        self.restart()

    def restart(self) -> None:
        """A new chain from zero: after a record whose delivery is unknown, its successors' links
        would follow a record that may not be on the topic."""
        self.chain_id = new_chain_id(self.producer)
        self._chain_header = (CHAIN_HEADER, self.chain_id.encode())  # the same tuple in every record
        self._heads: dict[int, bytes] = {}
        self._counts: dict[int, int] = {}

    def headers(self, partition: int, value: bytes) -> list[tuple[str, bytes]]:
        """The record's two headers; its link is storage.chain.link(this chain's head on the
        partition, value)."""
        self._heads[partition] = head = link(self._heads.get(partition, GENESIS), value)
        self._counts[partition] = self._counts.get(partition, 0) + 1
        return [self._chain_header, (LINK_HEADER, head)]

    def heads(self) -> dict[int, tuple[int, str]]:
        """Partition -> (records linked, head in hex)."""
        return {p: (self._counts[p], h.hex()) for p, h in sorted(self._heads.items())}

    def summary(self, topic: str) -> str | None:
        """One line with every head, what the producer logs when it closes (None: nothing linked)."""
        if not self._heads:
            return None
        shown = ", ".join(f"partition {p}: {n} records, head {h}" for p, (n, h) in self.heads().items())
        return f"chain {self.chain_id} on {topic}: {shown}"


@dataclass(frozen=True, slots=True)
class LinkBreak:
    """A record that does not fit its chain. A link cannot tell an edit from a move, nor a removed
    record from an edit of the one after it: both show here, at the first record that no longer fits."""

    partition: int
    offset: int
    chain: str
    detail: str

    def __str__(self) -> str:
        return f"partition {self.partition} offset {self.offset}, chain {self.chain}: {self.detail}"


@dataclass(slots=True)
class ChainState:
    """One producer chain as read on one partition."""

    records: int = 0
    head: bytes = GENESIS
    last_offset: int = -1


@dataclass(slots=True)
class PartitionLinks:
    """Every chain on one partition, fed its records in offset order (`add`)."""

    partition: int
    records: int = 0
    unlinked: int = 0
    unlinked_offsets: list[int] = field(default_factory=list)
    chains: dict[str, ChainState] = field(default_factory=dict)
    breaks: list[LinkBreak] = field(default_factory=list)
    # (chain, offset) pairs whose chain state to keep when read (a signed head's, storage.signed_head)
    marks: frozenset[tuple[str, int]] = frozenset()
    marked: dict[tuple[str, int], tuple[int, bytes]] = field(default_factory=dict)

    def add(self, records: Iterable[tuple[int, bytes, Headers]]) -> None:
        """(offset, value, headers) records of this partition, in offset order, after those already
        added. After a break the chain carries on from the stored link, so each break is found once."""
        sha256, chains, marks = hashlib.sha256, self.chains, self.marks
        n = 0
        for offset, value, headers in records:
            n += 1
            # the publishers' layout first: the check runs once per record of the topic
            if len(headers) == 2 and headers[0][0] == CHAIN_HEADER and headers[1][0] == LINK_HEADER:
                raw_id, stored = headers[0][1], headers[1][1]
            else:
                raw_id, stored = _link_headers(headers)
                if raw_id is None and stored is None:
                    self.unlinked += 1
                    if len(self.unlinked_offsets) < _SHOWN_UNLINKED:
                        self.unlinked_offsets.append(offset)
                    continue
            name = "?" if raw_id is None else raw_id.decode(errors="replace")
            state = chains.get(name)
            if state is None:
                state = chains[name] = ChainState()
            if stored is None or len(stored) != 32 or raw_id is None:
                self.breaks.append(LinkBreak(self.partition, offset, name, "link headers damaged"))
            elif stored != sha256(b"\x01" + state.head + sha256(b"\x00" + value).digest()).digest():
                self.breaks.append(LinkBreak(self.partition, offset, name, _mismatch(state)))
            if stored is not None and len(stored) == 32:
                state.head = stored  # carry on from the stored link: the next record is judged alone
            state.records += 1
            state.last_offset = offset
            if marks and (name, offset) in marks:
                self.marked[(name, offset)] = (state.records, state.head)
        self.records += n

    @property
    def first_break(self) -> LinkBreak | None:
        return self.breaks[0] if self.breaks else None


def _mismatch(state: ChainState) -> str:
    if state.records == 0:
        return "record altered, or not the first of its chain (one before it removed or moved after it)"
    return (
        "record altered or reordered, or a record of its chain before it removed "
        f"(the chain's previous record here is at offset {state.last_offset})"
    )


def _link_headers(headers: Headers) -> tuple[bytes | None, bytes | None]:
    chain_id = stored = None
    for key, value in headers:
        if key == CHAIN_HEADER:
            chain_id = value
        elif key == LINK_HEADER:
            stored = value
    return chain_id, stored


def check_partition(partition: int, records: Iterable[tuple[int, bytes, Headers]]) -> PartitionLinks:
    """The pure check of one partition: its (offset, value, headers) records in offset order."""
    links = PartitionLinks(partition)
    links.add(records)
    return links
