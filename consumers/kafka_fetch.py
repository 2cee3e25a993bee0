"""Every committed record of a topic, from offset 0 to its end at the start, by Fetch requests on
aiokafka's client: record batches walked by aiokafka's Cython parser, no consumer-record object built
per record (consumers.kafka_replay's "fetch" reader, and `hotline verify --from-kafka`). Control
batches and the batches of aborted transactions are skipped, as aiokafka's own fetcher does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

_READ_COMMITTED = 1  # only committed records, as the consumers read them; aborted batches are skipped
_FETCH_BYTES = 64 * 1024 * 1024
_PARTITION_BYTES = 16 * 1024 * 1024


#: what `fetch_every_partition` hands on: a partition number and its next records, in offset order
#: (aiokafka records: .offset, .value, .headers)
Take = Callable[[int, list[Any]], None]


def fetch_every_partition(servers: str, topic: str, take: Take) -> dict[int, int]:
    """Every committed record of every partition of `topic`, from offset 0 to its end at the start,
    handed to `take` a chunk at a time; returns partition -> that end offset. Raises ConnectionError
    with one line when the broker or the topic is missing."""
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # its connection errors come back as one ConnectionError line
    try:
        return asyncio.run(_fetch(servers, topic, take))
    finally:
        quiet.setLevel(level)


class _Partition:
    """One partition's progress; `end` is its last stable offset at the first fetch (the start)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.position = 0
        self.end: int | None = None

    @property
    def done(self) -> bool:
        return self.end is not None and self.position >= self.end


async def _fetch(servers: str, topic: str, take: Take) -> dict[int, int]:
    from aiokafka.client import AIOKafkaClient
    from aiokafka.errors import KafkaError
    from aiokafka.protocol.fetch import FetchRequest
    from aiokafka.structs import TopicPartition

    from consumers.kafka_security import KafkaSecurityError, client_settings

    try:
        security = client_settings()
    except KafkaSecurityError as err:  # the callers' one line for what stops the read
        raise ConnectionError(str(err)) from None
    client = AIOKafkaClient(bootstrap_servers=servers, **security)
    try:
        try:
            await client.bootstrap()
            # Ask for every topic first: naming a missing one would let the broker auto-create it.
            if topic not in (await client.fetch_all_metadata()).topics():
                raise ConnectionError(f"topic {topic} does not exist on {servers}")
            client.add_topic(topic)
            await client.force_metadata_update()
        except KafkaError as err:
            raise ConnectionError(f"cannot read {topic} from {servers}: {err}") from None
        numbers = client.cluster.partitions_for_topic(topic)
        if not numbers:
            raise ConnectionError(f"topic {topic} has no partitions on {servers}")
        partitions = {n: _Partition(n) for n in sorted(numbers)}
        while todo := [p for p in partitions.values() if not p.done]:
            by_leader: dict[int, list[tuple[int, int, int]]] = {}
            for p in todo:
                leader = client.cluster.leader_for_partition(TopicPartition(topic, p.number))
                if leader is None or leader < 0:
                    raise ConnectionError(f"{topic} partition {p.number} has no leader")
                by_leader.setdefault(leader, []).append((p.number, p.position, _PARTITION_BYTES))
            requests = [
                client.send(node, FetchRequest(500, 1, _FETCH_BYTES, _READ_COMMITTED, [(topic, wanted)]))
                for node, wanted in by_leader.items()
            ]
            for response in await asyncio.gather(*requests):
                for _, answered in response.topics:
                    for number, error_code, _highwater, *data in answered:
                        p = partitions[number]
                        take(number, _take(topic, p, error_code, data, response.API_VERSION))
        return {p.number: p.end or 0 for p in partitions.values()}
    finally:
        await client.close()


def _take(topic: str, p: _Partition, error_code: int, data: list[Any], version: int) -> list[Any]:
    """One partition's fetched records from p.position up to p.end, skipping control batches and the
    batches of aborted transactions (as aiokafka's own fetcher does).

    The replay's chain takes every record returned, facts or not: it commits to what is on the topic, so two
    auditors compare heads without depending on which records their reader could decode (an older
    reader, or one with a stricter schema, would otherwise chain other records over the same topic),
    and a junk record changed or removed still shows. Which records the fold left out is the
    manifest's `skipped`."""
    from aiokafka.errors import for_code
    from aiokafka.record.control_record import ABORT_MARKER, ControlRecord
    from aiokafka.record.memory_records import MemoryRecords

    if error_code:
        raise ConnectionError(f"reading {topic} partition {p.number}: {for_code(error_code).__name__}")
    # data: v4 [last_stable_offset, aborted, records]; v5-v10 [lso, log_start, aborted, records];
    # v11+ [lso, log_start, aborted, preferred_read_replica, records]
    if p.end is None:
        p.end = data[0]
    end = p.end
    assert end is not None
    aborted = sorted(
        (data[2] if version >= 11 else data[-2]) or (), key=lambda pair: pair[1]
    )  # (producer id, first offset)
    aborted_producers: set[int] = set()
    records = MemoryRecords(data[-1])
    taken: list[Any] = []
    while records.has_next() and p.position < end:
        batch = records.next_batch()
        while aborted and aborted[0][1] <= batch.base_offset:
            aborted_producers.add(aborted.pop(0)[0])
        if batch.is_control_batch:
            marker = next(iter(batch), None)
            if marker is not None and ControlRecord.parse(marker.key) == ABORT_MARKER:
                aborted_producers.discard(batch.producer_id)
        elif not (batch.is_transactional and batch.producer_id in aborted_producers):
            start = p.position
            taken += [r for r in batch if start <= r.offset < end]
        p.position = max(p.position, batch.next_offset)
    return taken
