"""Audit replay from Kafka: N mixed facts (default 1M) on a namespace's facts topic, read back from
offset 0 and batch-decoded straight into the pure core (consumers.kafka_replay.read_facts: the
"fetch" reader of `replay --from-kafka`, and FactReader through kafka-python), then folded.

Prints facts/s for read+decode, for the fold and for the whole replay, beside the raw drain rate of
the same topic by kcat (librdkafka, C) measured in the same run, and the ratio. The topic is filled
once (from bench/out/replay-N.db, the embedded replay bench's log) and reused by later runs.

Run: .venv/bin/python bench/replay_kafka.py [--facts N] [--namespace NS] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.embedded import Hotline
from consumers.kafka_log import bootstrap, ensure_topics, topic_name
from consumers.kafka_replay import Client, read_facts
from domain.policy import load_policy
from projections.fold import project
from projections.view import digest, snapshot
from schemas.codec import fact_to_json
from schemas.facts import Fact
from schemas.topics import FACTS, fact_key

sys.path.insert(0, str(Path(__file__).parent))
from replay import OUT, build_log  # noqa: E402  (the embedded bench's cached log: the same facts)


def topic_size(servers: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values()) if parts else 0
    finally:
        consumer.close()


def fill(servers: str, topic: str, facts: Sequence[Fact]) -> None:
    """As a producer does: keyed by subject, acks=all, idempotent, lz4, a few ms of linger."""
    producer = KafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        linger_ms=10,
        batch_size=512 * 1024,
    )
    started = time.perf_counter()
    for fact in facts:
        producer.send(topic, key=fact_key(fact), value=fact_to_json(fact))
    producer.flush()
    producer.close()
    took = time.perf_counter() - started
    print(f"filled {topic} with {len(facts):,} facts in {took:.1f}s ({len(facts) / took:,.0f} facts/s)")


def kcat_drain(servers: str, topic: str) -> tuple[int, float]:
    """The raw drain of every partition from the beginning, values to a pipe: the C client's pace."""
    cmd = f"kcat -C -b {servers} -t {topic} -e -q -o beginning | wc -l"
    started = time.perf_counter()
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()), time.perf_counter() - started


def read_decode(servers: str, ns: str, client: Client) -> tuple[list[Fact], float]:
    started = time.perf_counter()
    facts = read_facts(servers, ns, client)
    return facts, time.perf_counter() - started


def rate(n: int, seconds: float) -> str:
    return f"{n:,} in {seconds:.2f}s = {n / seconds:,.0f} facts/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--namespace", default=None, help="default bench-replay-N (filled once, reused)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each drain; the best is compared")
    parser.add_argument("--no-embedded", action="store_true", help="skip the embedded digest comparison")
    args = parser.parse_args()
    servers = bootstrap()
    ns = args.namespace or f"bench-replay-{args.facts}"
    topic = topic_name(FACTS, ns)
    OUT.mkdir(exist_ok=True)
    log = build_log(OUT / f"replay-{args.facts}.db", args.facts)

    ensure_topics(servers, ns)
    held = topic_size(servers, topic)
    if held == 0:
        fill(servers, topic, log.read())
    elif held != args.facts:
        sys.exit(f"{topic} holds {held:,} records, not {args.facts:,}: use another --namespace")
    else:
        print(f"reusing {topic}: {held:,} facts")
    gc.collect()

    kcat: list[tuple[int, float]] = []
    ours: dict[Client, list[tuple[int, float]]] = {"fetch": [], "kafka-python": []}
    facts: list[Fact] = []
    for _ in range(args.repeat):
        kcat.append(kcat_drain(servers, topic))
        for client, runs in ours.items():
            facts = []
            gc.collect()
            facts, took = read_decode(servers, ns, client)
            runs.append((len(facts), took))
    print(f"{'kcat raw drain (librdkafka, to wc -l)':44s}: " + "; ".join(rate(n, s) for n, s in kcat))
    for client, runs in ours.items():
        label = f"read+decode, reader {client!r}"
        print(f"{label:44s}: " + "; ".join(rate(n, s) for n, s in runs))

    policy = load_policy()
    t0 = time.perf_counter()
    state = project(facts, policy)
    t1 = time.perf_counter()
    kafka_digest = digest(snapshot(state, None))
    t2 = time.perf_counter()
    best_read = min(s for _, s in ours["fetch"])
    n = len(facts)
    print(f"{'fold (dedupe, order, apply)':44s}: {rate(n, t1 - t0)}")
    print(f"{'snapshot + digest':44s}: {t2 - t1:.2f}s")
    total = best_read + (t2 - t0)
    print(f"{'audit replay total (fetch read .. digest)':44s}: {rate(n, total)}")

    best_kcat = max(n / s for n, s in kcat)
    print()
    for client, runs in ours.items():
        best = max(n / s for n, s in runs)
        print(
            f"read+decode ({client}) {best:,.0f} facts/s vs kcat raw {best_kcat:,.0f} msgs/s: ratio "
            f"{best / best_kcat:.2f}; target >= 250,000 facts/s {'met' if best >= 250_000 else 'NOT met'}"
        )
    print(f"digest from Kafka   {kafka_digest}")
    if not args.no_embedded:
        del state
        gc.collect()
        embedded, _ = Hotline.of(log, policy).replay_digest()
        print(f"digest embedded log {embedded}  ({'equal' if embedded == kafka_digest else 'DIFFERENT'})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
