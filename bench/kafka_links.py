"""The cost of the producers' chain links on Kafka (docs/audit.md): N synthetic facts published with
and without the hl-chain/hl-link headers, alternately into fresh namespaces, R rounds each (every
round printed with the process's CPU seconds and the load average; best and median compared); then
`hotline verify --from-kafka`'s read (fetch + chain check) against the same fetch with no check.

Run: .venv/bin/python bench/kafka_links.py [--facts N] [--rounds R] [--linger-ms MS]
(own namespaces, deleted at the end; the broker is --servers, else $HOTLINE_KAFKA_BOOTSTRAP;
--linger-ms overrides the publisher's producer setting; 5 was the old one: docs/audit.md, "Cost")
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import delete_namespaces, synthetic  # noqa: E402
from consumers.kafka_log import bootstrap, topic_name  # noqa: E402
from consumers.kafka_replay import fetch_every_partition  # noqa: E402
from hotline.commands_verify import read_links  # noqa: E402
from producers.kafka_producer import FactPublisher  # noqa: E402
from schemas.topics import FACTS  # noqa: E402


def publish(
    servers: str, namespace: str, facts: list[Any], links: bool, config: dict[str, Any]
) -> tuple[float, float]:
    """Seconds of the publish: wall clock, and CPU of this process (every thread: the sender's too)."""
    with FactPublisher(servers, namespace, load_index=False, links=links, **config) as publisher:
        started, cpu = time.perf_counter(), time.process_time()
        assert publisher.send_valid(facts) == len(facts)
        return time.perf_counter() - started, time.process_time() - cpu


def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def compare(name: str, n: int, off: list[float], on: list[float]) -> None:
    best, median = min(on) / min(off) - 1, statistics.median(on) / statistics.median(off) - 1
    per_fact = (min(on) - min(off)) / n * 1e6
    print(
        f"{name}: off {n / max(off):,.0f}..{n / min(off):,.0f} facts/s, "
        f"on {n / max(on):,.0f}..{n / min(on):,.0f}; "
        f"cost {best:+.1%} best to best ({per_fact:+.1f} us a fact), {median:+.1%} median"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default=bootstrap())
    parser.add_argument("--linger-ms", type=int, default=None, help="the producer's linger_ms")
    args = parser.parse_args()
    servers, n = args.servers, args.facts
    config = {} if args.linger_ms is None else {"linger_ms": args.linger_ms}
    facts = synthetic(n)
    run = uuid.uuid4().hex[:6]
    made: list[str] = []
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    print(
        f"{n:,} facts, {args.rounds} rounds, {os.cpu_count()} cores, broker {servers}, {config or 'defaults'}"
    )
    print(f"load average before: {load_average()}")
    try:
        for r in range(args.rounds):
            for links in (False, True) if r % 2 == 0 else (True, False):  # alternate: no order bias
                ns = f"bench-links-{run}-{r}-{int(links)}"
                made.append(ns)
                took, used = publish(servers, ns, facts, links, config)
                wall[links].append(took)
                cpu[links].append(used)
                print(
                    f"round {r} links {'on ' if links else 'off'}: {n / took:>9,.0f} facts/s, "
                    f"{took:.2f} s, CPU {used:.2f} s, load {load_average()}",
                    flush=True,
                )
        for links in (False, True):
            print(
                f"publish (send_valid), links {'on ' if links else 'off'}: "
                f"{n / min(wall[links]):>9,.0f} facts/s (best), CPU {min(cpu[links]) / n * 1e6:.1f} us a fact"
            )
        compare("publish time", n, wall[False], wall[True])
        compare("publish CPU (facts per CPU second)", n, cpu[False], cpu[True])

        linked = made[-1] if made[-1].endswith("-1") else made[-2]
        topic = topic_name(FACTS, linked)
        read_best = check_best = float("inf")
        for _ in range(args.rounds):
            started = time.perf_counter()
            fetch_every_partition(servers, topic, lambda _p, _records: None)
            read_best = min(read_best, time.perf_counter() - started)
            started = time.perf_counter()
            _, parts = read_links(servers, linked)
            check_best = min(check_best, time.perf_counter() - started)
            assert sum(p.records for p in parts) == n and not any(p.breaks for p in parts)
        print(f"fetch only (no check):          {n / read_best:>9,.0f} records/s")
        print(f"verify --from-kafka (read_links): {n / check_best:>9,.0f} records/s")
    finally:
        delete_namespaces(servers, made)


if __name__ == "__main__":
    main()
