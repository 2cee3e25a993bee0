"""The producers' links are storage.chain.link (docs/audit.md), however ProducerChains computes them."""

from __future__ import annotations

import random

from storage.chain import GENESIS, link
from storage.kafka_links import CHAIN_HEADER, LINK_HEADER, ProducerChains, check_partition


def test_headers_are_the_chain_function_on_every_partition() -> None:
    rng = random.Random(7)
    chains = ProducerChains("crm")
    expected: dict[int, bytes] = {}
    sent: dict[int, list[tuple[int, bytes, list[tuple[str, bytes | None]]]]] = {}
    for _ in range(500):
        partition = rng.randrange(4)
        value = rng.randbytes(rng.choice((0, 1, 55, 56, 64, 250, 3000)))
        headers = chains.headers(partition, value)
        expected[partition] = link(expected.get(partition, GENESIS), value)
        assert headers == [(CHAIN_HEADER, chains.chain_id.encode()), (LINK_HEADER, expected[partition])]
        records = sent.setdefault(partition, [])
        records.append((len(records), value, list(headers)))
    assert chains.heads() == {p: (len(sent[p]), h.hex()) for p, h in sorted(expected.items())}
    for partition, records in sent.items():
        assert check_partition(partition, records).breaks == []
