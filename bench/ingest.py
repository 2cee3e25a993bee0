"""Ingest into Kafka from ONE producer process: N facts (default 300k) of producers.synthetic, written
as JSON Lines to a file, then published the real way (read the file, parse + validate with
producers.validate, reference and id checks, publish with kafka-python: acks=all, idempotent, zstd,
5 ms linger, then flush and check every delivery).

Prints facts/s for the whole path (validate + publish), for each of its two phases, and for publishing
the same facts already validated (`FactPublisher.send_valid`: encode, key, send, flush) into a second
namespace; also the rate at which a new producer loads its index from the N facts on the topic.
Target: >= 50k facts/s for validate + publish. Checks first that kafka-python uses the crc32c C
extension (without it every record batch's CRC is computed in pure Python).

Run: .venv/bin/python bench/ingest.py [--facts N] [--keep]   (own namespaces; topics deleted at the end)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.record import util as record_util

from consumers.kafka_log import bootstrap, default_partition, ensure_topics, topic_name
from producers.kafka_producer import FactPublisher
from producers.sources import read_source
from producers.synthetic import generate
from schemas.codec import fact_to_json
from schemas.facts import Fact
from schemas.topics import FACTS, fact_key

TARGET = 50_000


def crc32c_in_use() -> str:
    """Which CRC-32C implementation kafka-python's record batches use."""
    impl = record_util.calc_crc32c.__defaults__[0]  # type: ignore[index]  # bound at import time
    if record_util.crc32c_c is None or impl is not record_util.crc32c_c:
        sys.exit("kafka-python is not using the crc32c C extension: pip install 'kafka-python[crc32c]'")
    return f"{impl.__module__}.{impl.__name__}"


def synthetic(n: int) -> list[Fact]:
    """At least n facts in event-time order, cut at n (what is cut is later, so nothing kept refers
    to it... except rarely a late fact; any such line is rejected and shown in the report)."""
    scale = max(1, math.ceil(n / 120_000))
    facts = generate(seed=11, companies=300 * scale, engineers=3000 * scale, months=4)
    while len(facts) < n:
        scale += 1
        facts = generate(seed=11, companies=300 * scale, engineers=3000 * scale, months=4)
    return facts[:n]


def topic_size(servers: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def delete_namespaces(servers: str, namespaces: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        doomed = [t for t in admin.list_topics() if any(t.startswith(f"{ns}.") for ns in namespaces)]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>9,.0f} facts/s  ({seconds:6.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--facts", type=int, default=300_000)
    parser.add_argument("--servers", default=bootstrap())
    parser.add_argument("--keep", action="store_true", help="keep the bench's topics")
    parser.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time aiokafka's batch API",
    )
    args = parser.parse_args()
    servers, n = args.servers, args.facts
    crc = crc32c_in_use()
    run = uuid.uuid4().hex[:6]
    ns_full, ns_valid, ns_compare = (f"bench-ingest-{run}{x}" for x in ("", "-valid", "-aiokafka"))

    started = time.perf_counter()
    facts = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"facts-{n}.jsonl"
        with path.open("wb") as out:
            for fact in facts:
                out.write(fact_to_json(fact) + b"\n")
        size = path.stat().st_size
        print(
            f"{n:,} synthetic facts, {size / n:.0f} B a line ({size / 2**20:.0f} MiB), made in "
            f"{time.perf_counter() - started:.1f}s; Python {platform.python_version()}, crc32c: {crc}"
        )
        del facts
        try:
            # 1. The real path: file -> parse + validate -> publish -> flush + delivery check.
            with FactPublisher(servers, ns_full) as publisher:
                started = time.perf_counter()
                report = publisher.publish_sources([read_source(path)])
                total = time.perf_counter() - started
            read_s = total - report.check_seconds - report.send_seconds
            print(f"validate + publish (read, parse, check, send, flush): {rate(report.published, total)}")
            print(f"  read file                               {read_s:6.2f} s")
            print(f"  parse + validate + references + ids:  {rate(report.read, report.check_seconds)}")
            print(f"  publish (send + flush + delivery):    {rate(report.published, report.send_seconds)}")
            print(f"  {report.summary()}")
            for r in report.rejected[:5]:
                print(f"  rejected {r.line}: {r.field}: {r.reason}")

            # 2. Publishing facts already validated (normalised by the parse above), no checks.
            valid = [fact for fact in _reparse(path)]
            with FactPublisher(servers, ns_valid, load_index=False) as publisher:
                started = time.perf_counter()
                published = publisher.send_valid(valid)
                took = time.perf_counter() - started
            print(f"publish only (already validated, send_valid):         {rate(published, took)}")

            # 3. What a new producer pays at start: its index, read from the N facts on the topic.
            started = time.perf_counter()
            with FactPublisher(servers, ns_full, create_topics=False) as publisher:
                took = time.perf_counter() - started
            print(f"index load by a new producer (every partition from 0): {rate(n, took)}")

            if args.compare:
                took = asyncio.run(aiokafka_batches(servers, ns_compare, valid))
                print(f"for comparison, aiokafka create_batch/send_batch (Cython): {rate(len(valid), took)}")

            on_topic = topic_size(servers, topic_name(FACTS, ns_full))
            print(f"on {topic_name(FACTS, ns_full)}: {on_topic:,} records (published {report.published:,})")
            full = report.published / total
            verdict = "met" if full >= TARGET else "NOT met"
            print(f"target >= {TARGET:,} facts/s for validate + publish: {verdict} ({full:,.0f})")
        finally:
            if not args.keep:
                delete_namespaces(servers, [ns_full, ns_valid, ns_compare])


async def aiokafka_batches(servers: str, ns: str, facts: list[Fact]) -> float:
    """The same facts, keys and partitions through aiokafka's batch API (records built in Cython), as
    a reference for what the client library costs; not the producer's path."""
    from aiokafka import AIOKafkaProducer

    ensure_topics(servers, ns)
    topic = topic_name(FACTS, ns)
    producer = AIOKafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=True,
        compression_type="zstd",
        linger_ms=5,
        max_batch_size=1 << 20,
        max_request_size=4 << 20,
    )
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        started = time.perf_counter()
        batches = {p: producer.create_batch() for p in partitions}
        sent = []
        for fact in facts:
            key, value = fact_key(fact), fact_to_json(fact)
            p = partitions[default_partition(key, len(partitions))]
            if batches[p].append(key=key, value=value, timestamp=None) is None:
                batches[p].close()
                sent.append(await producer.send_batch(batches[p], topic, partition=p))
                batches[p] = producer.create_batch()
                batches[p].append(key=key, value=value, timestamp=None)
        for p, batch in batches.items():
            batch.close()
            sent.append(await producer.send_batch(batch, topic, partition=p))
        await asyncio.gather(*sent)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def _reparse(path: Path) -> list[Fact]:
    from producers.validate import parse_lines

    parsed, _ = parse_lines(path.read_bytes().splitlines(), str(path))
    return [fact for _, fact in parsed]


if __name__ == "__main__":
    main()
