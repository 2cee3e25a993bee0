"""`hotline replay --from-kafka`: the audit path. Every partition of the facts topic from offset 0,
batch-decoded straight into the pure core (no faust, no consumer group, no committed offsets), then
the same fold, snapshot and digest as the embedded replay: equal facts, equal digest.

Two readers give the same facts:
- "fetch" (the default): Fetch requests on aiokafka's client, record batches walked by aiokafka's
  Cython parser, values handed to one msgspec decode per partition chunk. No consumer-record object is
  built per record, which is what caps both clients' consumers: kafka-python's FactReader drains about
  150k records/s here, aiokafka's consumer about 250-350k, this reader well over 1M (decode included:
  about 400k facts/s; bench/replay_kafka.py).
- "kafka-python": consumers.kafka_log.FactReader.drain(), the reader the workers and the API use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any, Literal

from domain.policy import Policy, load_policy
from domain.policy_history import PolicyHistory
from projections.fold import project
from projections.view import digest, snapshot
from schemas.facts import Fact
from schemas.topics import FACTS
from storage.chain import Chain, Manifest, PartitionHead

Client = Literal["fetch", "kafka-python"]
_READ_COMMITTED = 1  # only committed records, as the consumers read them; aborted batches are skipped
_FETCH_BYTES = 64 * 1024 * 1024
_PARTITION_BYTES = 16 * 1024 * 1024


def read_facts(servers: str | None, namespace: str | None, client: Client = "fetch") -> list[Fact]:
    """Every fact on the facts topic when the call starts (records re-sent by a producer included:
    the fold keeps one per id). Raises ConnectionError with one line when the broker or topic is missing."""
    from consumers.kafka_log import bootstrap, topic_name

    topic = topic_name(FACTS, namespace)
    servers = servers or bootstrap()
    if client == "kafka-python":
        return _drain_kafka_python(servers, topic)
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # its connection errors come back as one ConnectionError line
    try:
        return asyncio.run(_drain_fetch(servers, topic))[0]
    finally:
        quiet.setLevel(level)


def read_with_manifest(servers: str | None, namespace: str | None) -> tuple[list[Fact], Manifest]:
    """The facts as `read_facts` reads them, and the manifest of what was read: per partition, the end
    offset, the record count and the head of a hash chain over the records (storage.chain)."""
    from consumers.kafka_log import bootstrap, topic_name

    topic = topic_name(FACTS, namespace)
    servers = servers or bootstrap()
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_drain_fetch(servers, topic))
    finally:
        quiet.setLevel(level)


def _drain_kafka_python(servers: str, topic: str) -> list[Fact]:
    from kafka.errors import KafkaError

    from consumers.kafka_log import FactReader

    try:
        reader = FactReader(servers, topic)
    except KafkaError as err:
        raise ConnectionError(f"cannot read {topic} from {servers}: {err}") from None
    except RuntimeError as err:  # FactReader: the topic does not exist
        raise ConnectionError(str(err)) from None
    try:
        facts: list[Fact] = []
        for batch in reader.drain():
            facts.extend(batch)
        return facts
    finally:
        reader.close()


class _Partition:
    """One partition's progress; `end` is its last stable offset at the first fetch (the start)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.position = 0
        self.end: int | None = None
        self.chain = Chain()  # over the record values taken, in offset order: the manifest's head

    @property
    def done(self) -> bool:
        return self.end is not None and self.position >= self.end


async def _drain_fetch(servers: str, topic: str) -> tuple[list[Fact], Manifest]:
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
        facts: list[Fact] = []
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
                        _take(topic, partitions[number], error_code, data, response.API_VERSION, facts)
        heads = (
            PartitionHead(p.number, p.end or 0, p.chain.records, p.chain.head.hex())
            for p in partitions.values()
        )
        return facts, Manifest(tuple(heads))
    finally:
        await client.close()


def _take(
    topic: str, p: _Partition, error_code: int, data: list[Any], version: int, facts: list[Fact]
) -> None:
    """Decode one partition's fetched records from p.position up to p.end, skipping control batches
    and the batches of aborted transactions (as aiokafka's own fetcher does)."""
    from aiokafka.errors import for_code
    from aiokafka.record.control_record import ABORT_MARKER, ControlRecord
    from aiokafka.record.memory_records import MemoryRecords

    from consumers.kafka_log import decode_batch

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
    values: list[bytes] = []
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
            values += [r.value for r in batch if start <= r.offset < end]
        p.position = max(p.position, batch.next_offset)
    if values:
        p.chain.extend(values)
        facts.extend(decode_batch(values))


def replay_from_kafka(
    servers: str | None,
    namespace: str | None,
    as_of: datetime | None,
    policy: Policy | PolicyHistory | None = None,
    client: Client = "fetch",
) -> tuple[str, int, float]:
    """(digest, records read, seconds): the digest `hotline replay [--as-of]` prints for the same facts."""
    policy = policy or load_policy()
    started = time.perf_counter()
    facts = read_facts(servers, namespace, client)
    state = project(facts, policy, as_of)
    result = digest(snapshot(state, as_of))
    return result, len(facts), time.perf_counter() - started


def replay_with_manifest(
    servers: str | None,
    namespace: str | None,
    as_of: datetime | None,
    policy: Policy | PolicyHistory | None = None,
) -> tuple[str, int, float, Manifest]:
    """As `replay_from_kafka` with the "fetch" reader, plus the manifest of what was read: per partition
    the end offset, the record count and the head of the chain the reader computed over the records."""
    policy = policy or load_policy()
    started = time.perf_counter()
    facts, manifest = read_with_manifest(servers, namespace)
    state = project(facts, policy, as_of)
    result = digest(snapshot(state, as_of))
    return result, len(facts), time.perf_counter() - started, manifest
