"""Reading the facts topic straight into the pure core: every partition, from offset 0, in batches.

Used by the audit replay, by each worker at start and by the query API. No consumer group: the
reader is assigned every partition, so whoever calls it sees every fact (the log is the system of
record; committed offsets never decide what a projection holds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import msgspec
from kafka import KafkaConsumer, TopicPartition

from schemas.facts import AnyFact
from schemas.topics import ALL, FACTS, PARTITIONS, Topic

_batch_decoder = msgspec.json.Decoder(list[AnyFact])


def bootstrap() -> str:
    """Where the brokers are: $HOTLINE_KAFKA_BOOTSTRAP, e.g. broker1:9092,broker2:9092."""
    return os.environ.get("HOTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def namespace() -> str:
    """The prefix of every topic name: $HOTLINE_NAMESPACE, default "hotline" (hotline.facts, ...)."""
    return os.environ.get("HOTLINE_NAMESPACE", "hotline")


def topic_name(topic: Topic, ns: str | None = None) -> str:
    return topic.in_namespace(ns or namespace())


def decode_batch(values: list[bytes]) -> list[AnyFact]:
    """One decode call per batch: the records' JSON objects joined into one JSON array."""
    return _batch_decoder.decode(b"[" + b",".join(values) + b"]")  # type: ignore[no-any-return]


class FactReader:
    """Reads every partition of the facts topic; `drain()` up to the end offsets seen at the call,
    `poll()` whatever arrived since."""

    def __init__(
        self, servers: str | None = None, topic: str | None = None, max_records: int = 50_000
    ) -> None:
        topic = topic or topic_name(FACTS)
        self.consumer = KafkaConsumer(
            bootstrap_servers=servers or bootstrap(),
            enable_auto_commit=False,
            group_id=None,
            max_poll_records=max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
        partitions = self.consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise RuntimeError(f"topic {topic} does not exist on {servers or bootstrap()}")
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)

    def poll(self, timeout_ms: int = 200) -> list[AnyFact]:
        records = self.consumer.poll(timeout_ms=timeout_ms)
        values = [r.value for batch in records.values() for r in batch]
        return decode_batch(values) if values else []

    def drain(self) -> Iterator[list[AnyFact]]:
        """Every fact written before this call, a batch at a time."""
        end = self.consumer.end_offsets(self.partitions)
        while any(self.consumer.position(tp) < end[tp] for tp in self.partitions):
            if batch := self.poll(timeout_ms=500):
                yield batch

    def close(self) -> None:
        self.consumer.close()


def ensure_topics(
    servers: str | None = None, ns: str | None = None, partitions: int = PARTITIONS
) -> list[str]:
    """Create every topic of schemas.topics that does not exist yet (facts kept for ever, projections
    compacted). Workers must not start on a missing topic: faust would ignore it for minutes."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=servers or bootstrap())
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=topic.config())
            for topic in ALL
            if (name := topic_name(topic, ns)) not in existing
        ]
        if wanted:
            admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        admin.close()
