"""Issue 8.1: the producers' chains on a partition (storage/kafka_links.py), checked by hand.

The expected links are written out from the definition in docs/audit.md, not with the module's code:
link(0) = 32 zero bytes, link(n) = SHA-256(0x01 || link(n-1) || SHA-256(0x00 || value n)).
"""

from __future__ import annotations

import hashlib

from storage.kafka_links import (
    CHAIN_HEADER,
    LINK_HEADER,
    ProducerChains,
    check_partition,
)

ZERO = bytes(32)


def by_hand(previous: bytes, value: bytes) -> bytes:
    inner = hashlib.sha256(b"\x00" + value).digest()
    return hashlib.sha256(b"\x01" + previous + inner).digest()


Headers = list[tuple[str, bytes | None]]


def linked(chain: str, values: list[bytes]) -> list[tuple[bytes, Headers]]:
    """(value, headers) as a producer with chain id `chain` writes them to one partition."""
    out: list[tuple[bytes, Headers]] = []
    head = ZERO
    for value in values:
        head = by_hand(head, value)
        out.append((value, [(CHAIN_HEADER, chain.encode()), (LINK_HEADER, head)]))
    return out


def at_offsets(records: list[tuple[bytes, Headers]], first: int = 0) -> list[tuple[int, bytes, Headers]]:
    return [(first + i, value, headers) for i, (value, headers) in enumerate(records)]


A = linked("crm-a", [b"a1", b"a2", b"a3", b"a4"])
B = linked("callcentre-b", [b"b1", b"b2", b"b3"])
# two producers interleaved on one partition, as concurrent writers land
INTERLEAVED = [A[0], B[0], A[1], A[2], B[1], A[3], B[2]]


def test_the_producer_writes_the_links_of_the_definition() -> None:
    chains = ProducerChains("crm")
    h1 = chains.headers(3, b"a1")
    h2 = chains.headers(3, b"a2")
    other = chains.headers(0, b"a1")  # another partition: its own chain from zero
    name = chains.chain_id.encode()
    assert chains.chain_id.startswith("crm-")
    assert h1 == [(CHAIN_HEADER, name), (LINK_HEADER, by_hand(ZERO, b"a1"))]
    assert h2 == [(CHAIN_HEADER, name), (LINK_HEADER, by_hand(by_hand(ZERO, b"a1"), b"a2"))]
    assert other[1][1] == by_hand(ZERO, b"a1")
    assert chains.heads() == {0: (1, by_hand(ZERO, b"a1").hex()), 3: (2, h2[1][1].hex())}
    before = chains.chain_id
    chains.restart()
    assert chains.chain_id != before and chains.heads() == {}
    assert chains.headers(3, b"a3")[1][1] == by_hand(ZERO, b"a3")


def test_interleaved_chains_verify_clean_with_their_heads() -> None:
    links = check_partition(2, at_offsets(INTERLEAVED))
    assert links.breaks == [] and links.records == 7 and links.unlinked == 0
    assert set(links.chains) == {"crm-a", "callcentre-b"}
    a, b = links.chains["crm-a"], links.chains["callcentre-b"]
    assert (a.records, a.head, a.last_offset) == (4, A[3][1][1][1], 5)
    assert (b.records, b.head, b.last_offset) == (3, B[2][1][1][1], 6)


def test_an_altered_value_is_named_at_its_offset_and_only_there() -> None:
    records = at_offsets(INTERLEAVED, first=10)
    offset, _, headers = records[3]  # A's third record, at offset 13
    records[3] = (offset, b"a3 changed", headers)
    links = check_partition(1, records)
    assert [(b.offset, b.chain) for b in links.breaks] == [(13, "crm-a")]
    assert str(links.first_break).startswith("partition 1 offset 13, chain crm-a: record altered")


def test_a_removed_record_breaks_at_the_next_of_its_chain() -> None:
    records = at_offsets(INTERLEAVED)
    del records[2]  # A's second record (offset 2): the copy without it is renumbered
    records = [(i, v, h) for i, (_, v, h) in enumerate(records)]
    links = check_partition(0, records)
    # A's next record, a3, now at offset 2, no longer follows a1: the message admits a removal
    assert [(b.offset, b.chain) for b in links.breaks] == [(2, "crm-a")]
    assert "before it removed" in links.breaks[0].detail and "offset 0" in links.breaks[0].detail


def test_two_swapped_records_break_at_the_first_of_them() -> None:
    records = at_offsets(INTERLEAVED)
    (_, a2, a2_headers), (_, a3, a3_headers) = records[2], records[3]
    records[2], records[3] = (2, a3, a3_headers), (3, a2, a2_headers)  # a3 before a2
    links = check_partition(0, records)
    # a3 does not follow a1, a2 does not follow a3, a4 does not follow a2 (it followed a3)
    assert [b.offset for b in links.breaks] == [2, 3, 5]
    assert links.first_break is not None and links.first_break.offset == 2


def test_a_removed_first_record_is_named_at_the_new_first() -> None:
    records = [(i, v, h) for i, (v, h) in enumerate(B[1:])]
    links = check_partition(0, records)
    assert [b.offset for b in links.breaks] == [0]
    assert "not the first of its chain" in links.breaks[0].detail


def test_records_without_links_are_counted_not_broken() -> None:
    records: list[tuple[int, bytes, Headers]] = [(0, b"old", []), *at_offsets(A[:2], first=1)]
    records.append((3, b"by hand", [("other", b"x")]))
    links = check_partition(0, records)
    assert links.breaks == [] and links.unlinked == 2 and links.unlinked_offsets == [0, 3]
    assert links.chains["crm-a"].records == 2


def test_damaged_headers_are_a_break() -> None:
    short: Headers = [(CHAIN_HEADER, b"crm-a"), (LINK_HEADER, b"\x00" * 5)]
    no_id: Headers = [(LINK_HEADER, by_hand(ZERO, b"x"))]
    links = check_partition(0, [(0, b"x", short), (1, b"x", no_id)])
    assert [(b.offset, b.chain, b.detail) for b in links.breaks] == [
        (0, "crm-a", "link headers damaged"),
        (1, "?", "link headers damaged"),
    ]


def test_records_fed_in_chunks_check_as_one_walk() -> None:
    whole = check_partition(0, at_offsets(INTERLEAVED))
    chunked = check_partition(0, at_offsets(INTERLEAVED)[:3])
    chunked.add(at_offsets(INTERLEAVED)[3:])
    assert {n: c.head for n, c in chunked.chains.items()} == {n: c.head for n, c in whole.chains.items()}
