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


# The two prefixes, hashed once: a link copies them rather than calling hashlib.sha256() twice, which
# under OpenSSL 3 looks the digest up again at every call (about 1 us of the 4 a link took from
# scratch). Never updated after this, so copies are thread-safe.
_RECORD_PREFIX = hashlib.sha256(b"\x00")
_LINK_PREFIX = hashlib.sha256(b"\x01")


def link(previous: bytes, body: bytes) -> bytes:
    # record_hash inlined: this runs once per appended or published record, on the writer's lock
    record = _RECORD_PREFIX.copy()
    record.update(body)
    chained = _LINK_PREFIX.copy()
    chained.update(previous)
    chained.update(record.digest())
    return chained.digest()


@dataclass(frozen=True, slots=True)
class Break:
    """The first record that does not fit the chain, and how."""

    offset: int
    # "removed", "altered or reordered" (a link cannot tell which of the two), or "added" (rows past
    # the head the log recorded, written by something other than the log)
    kind: str
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


def verify(
    records: Iterable[tuple[int, bytes, bytes | None]], first_offset: int = 1, start: bytes = GENESIS
) -> Verdict:
    """Walk (offset, body, stored link) in offset order. Offsets are dense from `first_offset`, so a
    gap is a removed record; a stored link that does not fit this body after this predecessor is a
    record altered or moved (a swap breaks at the first of the two). `start`: the link before
    `first_offset`, to check a stretch of a chain on its own (each stored link fitting its predecessor
    and body is, by induction, the whole chain fitting)."""
    sha256 = hashlib.sha256  # the loop is the whole cost of `hotline verify`: link() inlined
    head, expected_offset = start, first_offset
    for offset, body, stored in records:
        if offset != expected_offset:
            gap = f"offsets jump from {expected_offset - 1} to {offset}"
            records_ok = expected_offset - first_offset
            return Verdict(records_ok, head, expected_offset - 1, Break(expected_offset, "removed", gap))
        computed = sha256(b"\x01" + head + sha256(b"\x00" + body).digest()).digest()
        if stored != computed:
            detail = "no link stored" if stored is None else "body or place no longer matches its link"
            at = Break(offset, "altered or reordered", detail)
            return Verdict(offset - first_offset, head, offset - 1, at)
        head, expected_offset = computed, offset + 1
    return Verdict(expected_offset - first_offset, head, expected_offset - 1, None)


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
