"""The cost of the producers' chain links on Kafka (docs/audit.md): N synthetic facts published with
and without the hl-chain/hl-link headers, alternately into fresh namespaces, best of R rounds each;
then `hotline verify --from-kafka`'s read (fetch + chain check) against the same fetch with no check.

Run: .venv/bin/python bench/kafka_links.py [--facts N] [--rounds R]   (own namespaces; deleted at the end)
"""

from __future__ import annotations

import argparse
import os
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


def publish(servers: str, namespace: str, facts: list[Any], links: bool) -> float:
    with FactPublisher(servers, namespace, load_index=False, links=links) as publisher:
        started = time.perf_counter()
        assert publisher.send_valid(facts) == len(facts)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default=bootstrap())
    args = parser.parse_args()
    servers, n = args.servers, args.facts
    facts = synthetic(n)
    run = uuid.uuid4().hex[:6]
    made: list[str] = []
    best: dict[bool, float] = {}
    print(f"{n:,} facts, {args.rounds} rounds, {os.cpu_count()} cores, broker {servers}")
    try:
        for r in range(args.rounds):
            for links in (False, True) if r % 2 == 0 else (True, False):  # alternate: no order bias
                ns = f"bench-links-{run}-{r}-{int(links)}"
                made.append(ns)
                took = publish(servers, ns, facts, links)
                best[links] = min(best.get(links, took), took)
        for links in (False, True):
            print(
                f"publish (send_valid), links {'on ' if links else 'off'}: {n / best[links]:>9,.0f} facts/s"
            )
        print(f"cost of the links: {best[True] / best[False] - 1:+.1%} of the publish time")

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
