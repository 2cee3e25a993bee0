"""A hash chain over log records: each record's link commits to its body and to every record before it.

The link of record n is SHA-256(0x01 || link(n-1) || SHA-256(0x00 || body n)), with link(0) = 32 zero
bytes. The 0x00/0x01 prefixes separate record hashes from chain hashes, as RFC 6962 separates leaves
from nodes. Changing, removing or reordering any record changes every later link, so two parties who
agree on the head (the last link) and the count agree on every record. The head is what an auditor
writes down; `verify` names the first record that no longer fits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = bytes(32)


def record_hash(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def link(previous: bytes, body: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + previous + record_hash(body)).digest()


@dataclass(frozen=True, slots=True)
class Break:
    """The first record that does not fit the chain, and how."""

    offset: int
    kind: str  # "removed", or "altered or reordered" (a link cannot tell which of the two)
    detail: str

    def __str__(self) -> str:
        return f"record at offset {self.offset} was {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Verdict:
    records: int
    head: bytes
    end_offset: int
    first_break: Break | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify(records: Iterable[tuple[int, bytes, bytes | None]], first_offset: int = 1) -> Verdict:
    """Walk (offset, body, stored link) in offset order. Offsets are dense from `first_offset`, so a
    gap is a removed record; a stored link that does not fit this body after this predecessor is a
    record altered or moved (a swap breaks at the first of the two)."""
    head, count, expected_offset = GENESIS, 0, first_offset
    for offset, body, stored in records:
        if offset != expected_offset:
            gap = f"offsets jump from {expected_offset - 1} to {offset}"
            return Verdict(count, head, expected_offset - 1, Break(expected_offset, "removed", gap))
        computed = link(head, body)
        if stored != computed:
            detail = "no link stored" if stored is None else "body or place no longer matches its link"
            return Verdict(count, head, offset - 1, Break(offset, "altered or reordered", detail))
        head, count, expected_offset = computed, count + 1, offset + 1
    return Verdict(count, head, expected_offset - 1, None)


@dataclass(frozen=True, slots=True)
class PartitionHead:
    """One chain's extent: a partition of a topic, or the embedded log (partition 0)."""

    partition: int
    end_offset: int  # the next offset to be written: the records read are [start, end_offset)
    records: int
    head: str  # hex of the last link

    def __str__(self) -> str:
        span = f"{self.records} records to offset {self.end_offset}"
        return f"partition {self.partition}: {span}, head {self.head}"


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a replay read, so two auditors can check they read the same records: the chain head and
    record count of every partition, and one fingerprint over all of them."""

    partitions: tuple[PartitionHead, ...]

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def fingerprint(self) -> str:
        text = ";".join(f"{p.partition}:{p.end_offset}:{p.records}:{p.head}" for p in self.partitions)
        return hashlib.sha256(text.encode()).hexdigest()


class Chain:
    """A running chain, fed one record at a time in offset order."""

    __slots__ = ("head", "records")

    def __init__(self) -> None:
        self.head, self.records = GENESIS, 0

    def extend(self, bodies: Iterable[bytes]) -> None:
        head, n = self.head, 0
        for body in bodies:
            head = hashlib.sha256(b"\x01" + head + hashlib.sha256(b"\x00" + body).digest()).digest()
            n += 1
        self.head, self.records = head, self.records + n
