"""Reading the facts topic straight into the pure core: every partition, from offset 0 or from given
offsets, in batches.

Used by the audit replay, by each worker at start and by the query API. No consumer group: the
reader is assigned every partition, so whoever calls it sees every fact (the log is the system of
record; committed offsets never decide what a projection holds).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import suppress

import msgspec
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from consumers.kafka_security import client_settings
from schemas.facts import AnyFact
from schemas.topics import ALL, FACTS, PARTITIONS, REPLICATION_FACTOR, Topic

log = logging.getLogger("hotline.kafka")

_batch_decoder = msgspec.json.Decoder(list[AnyFact])


def bootstrap() -> str:
    """Where the brokers are: $HOTLINE_KAFKA_BOOTSTRAP, e.g. broker1:9092,broker2:9092."""
    return os.environ.get("HOTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def namespace() -> str:
    """The prefix of every topic name: $HOTLINE_NAMESPACE, default "hotline" (hotline.facts, ...)."""
    return os.environ.get("HOTLINE_NAMESPACE", "hotline")


def topic_name(topic: Topic, ns: str | None = None) -> str:
    return topic.in_namespace(ns or namespace())


def default_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner: murmur2 of the key, made positive, modulo the partition count
    (kafka-python and aiokafka agree on every key). The one place it is computed: the producers pick
    a record's partition with it and the workers own keys by it (consumers.worker.ownership)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def decode_batch(values: list[bytes]) -> list[AnyFact]:
    """One decode call per batch: the records' JSON objects joined into one JSON array."""
    return _batch_decoder.decode(b"[" + b",".join(values) + b"]")  # type: ignore[no-any-return]


class FactReader:
    """Reads every partition of the facts topic; `drain()` up to the end offsets seen at the call,
    `poll()` whatever arrived since."""

    def __init__(
        self,
        servers: str | None = None,
        topic: str | None = None,
        max_records: int = 50_000,
        start: dict[int, int] | None = None,
    ) -> None:
        """`start`: partition -> the offset to read from (a process resuming from its checkpoint);
        the partitions it does not name are read from the beginning."""
        topic = topic or topic_name(FACTS)
        self.consumer = KafkaConsumer(
            bootstrap_servers=servers or bootstrap(),
            enable_auto_commit=False,
            group_id=None,
            max_poll_records=max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            **client_settings(),
        )
        partitions = self.consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise RuntimeError(f"topic {topic} does not exist on {servers or bootstrap()}")
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.undecodable = 0  # records skipped because they are not facts (written past the producers)
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        for tp in self.partitions:
            if start and start.get(tp.partition):
                self.consumer.seek(tp, start[tp.partition])

    def poll(self, timeout_ms: int = 200) -> list[AnyFact]:
        records = [r for batch in self.consumer.poll(timeout_ms=timeout_ms).values() for r in batch]
        if not records:
            return []
        try:
            return decode_batch([r.value for r in records])
        except (msgspec.DecodeError, ValueError):  # one record that is not a fact must not stop a reader
            facts: list[AnyFact] = []
            for r in records:
                try:
                    facts += decode_batch([r.value])
                except (msgspec.DecodeError, ValueError) as e:
                    self.undecodable += 1
                    log.warning(
                        "skipped a record that is not a fact at %s-%s@%s: %s",
                        r.topic,
                        r.partition,
                        r.offset,
                        e,
                    )
            return facts

    def drain(self) -> Iterator[list[AnyFact]]:
        """Every fact written before this call, a batch at a time."""
        end = self.consumer.end_offsets(self.partitions)
        while any(self.consumer.position(tp) < end[tp] for tp in self.partitions):
            if batch := self.poll(timeout_ms=500):
                yield batch

    def positions(self) -> dict[int, int]:
        """Partition -> the next offset this reader will read."""
        return {tp.partition: self.consumer.position(tp) for tp in self.partitions}

    def lag(self) -> dict[int, int]:
        """Partition -> records written and not read yet (asks the broker for the end offsets)."""
        end = self.consumer.end_offsets(self.partitions)
        return {tp.partition: max(0, end[tp] - self.consumer.position(tp)) for tp in self.partitions}

    def close(self) -> None:
        self.consumer.close()


class TopicLayoutError(KafkaError):
    """A topic exists with another partition count than this deployment's ($HOTLINE_PARTITIONS)."""

    retriable = False


def ensure_topics(
    servers: str | None = None,
    ns: str | None = None,
    partitions: int | None = None,
    replication_factor: int | None = None,
    *,
    changelogs: Iterable[str] = (),
    wait_s: float = 30.0,
) -> list[str]:
    """Create every topic of schemas.topics that does not exist yet (facts kept for ever, projections
    compacted), and the `changelogs` (a worker's faust table changelogs, compacted), with `partitions`
    partitions and `replication_factor` replicas (default $HOTLINE_PARTITIONS, 4, and
    $HOTLINE_REPLICATION_FACTOR, 1). Returns the names created.

    Then waits until the broker's metadata shows every one of them with a leader for each partition,
    and raises TopicLayoutError if one has another partition count. Workers must not start on a
    missing topic: faust would ignore it for minutes. And a worker must not let faust create its
    changelogs: faust declares them when its tables start, a moment before its consumer's first
    rebalance, and on a busy machine that rebalance can take the metadata of a topic created a few
    ms earlier, with no partitions yet. faust then compares the changelog's partition count (0) with
    the facts topic's (4) at the first table write and stops the worker with PartitionsMismatch
    (faust.tables.base.Collection._verify_source_topic_partitions). Created and visible before faust
    starts, the changelogs have their partitions in faust's first metadata, and faust leaves them as
    they are ("Topic exists, skipping creation")."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    partitions = PARTITIONS if partitions is None else partitions
    replication_factor = REPLICATION_FACTOR if replication_factor is None else replication_factor
    configs = {topic_name(topic, ns): topic.config() for topic in ALL}
    # compact only: the latest value of each key kept for ever (faust's default, "compact,delete",
    # would drop what was published more than the broker's retention ago, 7 days by default)
    configs.update({name: {"cleanup.policy": "compact"} for name in changelogs})
    admin = KafkaAdminClient(bootstrap_servers=servers or bootstrap(), **client_settings())
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, topic_configs=c)
            for name, c in configs.items()
            if name not in existing
        ]
        if wanted:
            # Another process may create one between our list and our create: what we wanted. The
            # broker still creates the others of the request.
            with suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
        admin.wait_for_topics(list(configs), timeout_ms=int(wait_s * 1000))
        other = {
            d["name"]: len(d["partitions"])
            for d in admin.describe_topics(list(configs))
            if len(d["partitions"]) != partitions
        }
        if other:
            found = ", ".join(f"{name} has {n}" for name, n in sorted(other.items()))
            raise TopicLayoutError(
                f"topics should have {partitions} partitions (HOTLINE_PARTITIONS) but {found}; "
                "set HOTLINE_PARTITIONS to the partition count of the existing topics"
            )
        return [t.name for t in wanted]
    finally:
        admin.close()
