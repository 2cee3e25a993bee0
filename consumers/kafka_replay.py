"""`hotline replay --from-kafka`: the audit path. Every partition of the facts topic from offset 0,
batch-decoded straight into the pure core (no faust, no consumer group, no committed offsets), then
the same fold, snapshot and digest as the embedded replay: equal facts, equal digest.

Two readers give the same facts:
- "fetch" (the default): Fetch requests on aiokafka's client, record batches walked by aiokafka's
  Cython parser, values handed to one msgspec decode per partition chunk. No consumer-record object is
  built per record, which is what caps both clients' consumers: kafka-python's FactReader drains about
  150k records/s here, aiokafka's consumer about 250-350k, this reader well over 1M (decode included:
  about 400k facts/s; bench/replay_kafka.py).
- "kafka-python": the consumer of consumers.kafka_log.FactReader, the reader the workers and the API use.

A record that is not a fact (written past the producers, which refuse one: a probe, an attacker) is
skipped and named, never a stop, by both readers alike, as FactReader skips and counts it for the
workers and the API (`undecodable`). The manifest still counts and chains it: see `_take`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

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
log = logging.getLogger("hotline.replay")


@dataclass(frozen=True, slots=True, order=True)
class Skipped:
    """A record of the facts topic that is not a fact: where it is, for the operator to look at."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"partition {self.partition} offset {self.offset}"


@dataclass(frozen=True, slots=True)
class ReplayManifest(Manifest):
    """The manifest, and the records read that are not facts (in partition and offset order). They are
    part of the chains and counts above: the skipped list says which of them the fold left out."""

    skipped: tuple[Skipped, ...] = ()


def skipped_line(skipped: tuple[Skipped, ...] | list[Skipped]) -> str | None:
    """One line for the operator: "skipped 1 record that is not a fact: partition 2 offset 17"."""
    if not skipped:
        return None
    shown = ", ".join(str(s) for s in skipped[:10]) + (", ..." if len(skipped) > 10 else "")
    records = "record that is not a fact" if len(skipped) == 1 else "records that are not facts"
    return f"skipped {len(skipped)} {records}: {shown}"


def decode_or_skip(
    partition: int, records: list[tuple[int, bytes]], skipped: list[Skipped]
) -> Sequence[Fact]:
    """The facts among (offset, value) records of one partition; the others are added to `skipped`.
    One decode for the whole chunk, record by record only when the chunk holds one that is not a fact."""
    from consumers.kafka_log import decode_batch

    if not records:
        return []
    try:
        return decode_batch([value for _, value in records])
    except (msgspec.DecodeError, ValueError):
        facts: list[Fact] = []
        for offset, value in records:
            try:
                facts += decode_batch([value])
            except (msgspec.DecodeError, ValueError) as e:
                skipped.append(Skipped(partition, offset))
                log.warning(
                    "skipped a record that is not a fact at partition %s offset %s: %s", partition, offset, e
                )
        return facts


def read_facts(servers: str | None, namespace: str | None, client: Client = "fetch") -> list[Fact]:
    """Every fact on the facts topic when the call starts (records re-sent by a producer included:
    the fold keeps one per id). Raises ConnectionError with one line when the broker or topic is missing."""
    return read_counted(servers, namespace, client)[0]


def read_counted(
    servers: str | None, namespace: str | None, client: Client = "fetch"
) -> tuple[list[Fact], tuple[Skipped, ...]]:
    """As `read_facts`, and the records that are not facts, skipped (the same whichever the reader)."""
    if client == "kafka-python":
        from consumers.kafka_log import bootstrap, topic_name

        return _drain_kafka_python(servers or bootstrap(), topic_name(FACTS, namespace))
    facts, manifest = read_with_manifest(servers, namespace)
    return facts, manifest.skipped


def read_with_manifest(servers: str | None, namespace: str | None) -> tuple[list[Fact], ReplayManifest]:
    """The facts as `read_facts` reads them, and the manifest of what was read: per partition, the end
    offset, the record count and the head of a hash chain over the records (storage.chain), and the
    records skipped because they are not facts."""
    from consumers.kafka_log import bootstrap, topic_name

    facts: list[Fact] = []
    skipped: list[Skipped] = []
    chains: dict[int, Chain] = {}

    def take(partition: int, records: list[Any]) -> None:
        taken = [(r.offset, r.value or b"") for r in records]  # a null value (a tombstone): empty
        chains.setdefault(partition, Chain()).extend(value for _, value in taken)
        facts.extend(decode_or_skip(partition, taken, skipped))

    ends = fetch_every_partition(servers or bootstrap(), topic_name(FACTS, namespace), take)
    heads = []
    for number, end in ends.items():
        chain = chains.get(number, Chain())
        heads.append(PartitionHead(number, end, chain.records, chain.head.hex()))
    return facts, ReplayManifest(tuple(heads), tuple(sorted(skipped)))


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


def _drain_kafka_python(servers: str, topic: str) -> tuple[list[Fact], tuple[Skipped, ...]]:
    """FactReader's consumer, up to the end offsets at the start (as the fetch reader), records
    decoded by `decode_or_skip` so that a skipped record is named as the fetch reader names it."""
    from kafka.errors import KafkaError

    from consumers.kafka_log import FactReader

    try:
        reader = FactReader(servers, topic)
    except KafkaError as err:
        raise ConnectionError(f"cannot read {topic} from {servers}: {err}") from None
    except RuntimeError as err:  # FactReader: the topic does not exist
        raise ConnectionError(str(err)) from None
    consumer = reader.consumer
    facts: list[Fact] = []
    skipped: list[Skipped] = []
    try:
        end = consumer.end_offsets(reader.partitions)
        while any(consumer.position(tp) < end[tp] for tp in reader.partitions):
            for tp, records in consumer.poll(timeout_ms=500).items():
                taken = [(r.offset, r.value or b"") for r in records if r.offset < end[tp]]
                facts += decode_or_skip(tp.partition, taken, skipped)
        return facts, tuple(sorted(skipped))
    finally:
        reader.close()


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


def replay_from_kafka(
    servers: str | None,
    namespace: str | None,
    as_of: datetime | None,
    policy: Policy | PolicyHistory | None = None,
    client: Client = "fetch",
) -> tuple[str, int, float]:
    """(digest, facts read, seconds): the digest `hotline replay [--as-of]` prints for the same facts.
    Under a history, each fact is judged by the version in force at its time, as on the embedded log."""
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
) -> tuple[str, int, float, ReplayManifest]:
    """As `replay_from_kafka` with the "fetch" reader, plus the manifest of what was read: per partition
    the end offset, the record count and the head of the chain the reader computed over the records,
    and the records skipped because they are not facts (`skipped_line` says them in one line)."""
    policy = policy or load_policy()
    started = time.perf_counter()
    facts, manifest = read_with_manifest(servers, namespace)
    state = project(facts, policy, as_of)
    result = digest(snapshot(state, as_of))
    return result, len(facts), time.perf_counter() - started, manifest
