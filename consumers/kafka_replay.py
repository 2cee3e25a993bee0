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
workers and the API (`undecodable`). The manifest still counts and chains it: see
`consumers.kafka_fetch._take`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from consumers.kafka_fetch import Take, fetch_every_partition
from consumers.replay_manifest import ReplayManifest, Skipped, skipped_line
from domain.policy import Policy, load_policy
from domain.policy_history import PolicyHistory
from projections.fold import project
from projections.view import digest, snapshot
from schemas.facts import Fact
from schemas.topics import FACTS
from storage.chain import Chain, PartitionHead

__all__ = [
    "Client",
    "ReplayManifest",
    "Skipped",
    "Take",
    "decode_or_skip",
    "fetch_every_partition",
    "read_counted",
    "read_facts",
    "read_with_manifest",
    "replay_from_kafka",
    "replay_with_manifest",
    "skipped_line",
]

Client = Literal["fetch", "kafka-python"]
log = logging.getLogger("hotline.replay")


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
