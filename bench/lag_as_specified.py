"""End-to-end lag as issue 6 specifies it: two workers, a steady 2k facts/s, 1% of the facts up to 10
minutes late, and an annulment of a violation confirmed about 30 days earlier every 30 s.

The stream is the synthetic one in event order (about 4 months of a line's traffic pressed into the
run). A late fact is sent after the facts up to 10 minutes of event time after it; an annulment names
the confirmed violation nearest to 30 days before the latest event time sent, and is stamped just
after it. Each worker reports, per fact it read, record timestamp -> applied and its derived events
acknowledged (lag_ms in status.json), and the part before it had the record (arrival_lag_ms). Beside
them, a plain kafka-python consumer of the same topic in the same run: the physical limit.

Run: .venv/bin/python bench/lag_as_specified.py [--rate 2000] [--seconds 90]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # run as a script: `bench.*` from the repository root
from bench.processing import Worker, drop_topics, facts_for, fresh_namespace, plain_consumer, publish  # noqa: E402
from consumers.kafka_log import bootstrap  # noqa: E402
from schemas.facts import Fact, ViolationAnnulled, ViolationConfirmed  # noqa: E402

LATE_SHARE = 0.01
LATE_BY = timedelta(minutes=10)
ANNUL_AGE = timedelta(days=30)


def late_order(facts: list[Fact], rng: random.Random) -> tuple[list[Fact], int]:
    """The facts in send order: 1% of them moved after the facts up to LATE_BY after their time."""
    keys = [float(i) for i in range(len(facts))]
    late = 0
    for i in rng.sample(range(len(facts)), int(len(facts) * LATE_SHARE)):
        j = i
        while j + 1 < len(facts) and facts[j + 1].at - facts[i].at <= LATE_BY:
            j += 1
        if j > i:
            keys[i], late = j + 0.5, late + 1
    order = sorted(range(len(facts)), key=keys.__getitem__)
    return [facts[i] for i in order], late


def with_annulments(facts: list[Fact], every: int) -> tuple[list[Fact], list[timedelta]]:
    """Every `every` facts, an annulment of the violation confirmed nearest to ANNUL_AGE before."""
    out: list[Fact] = []
    confirmed: list[ViolationConfirmed] = []
    annulled: set[str] = set()
    ages: list[timedelta] = []
    latest = facts[0].at
    for n, fact in enumerate(facts, 1):
        out.append(fact)
        latest = max(latest, fact.at)
        if isinstance(fact, ViolationConfirmed):
            confirmed.append(fact)
        if n % every == 0:
            open_ = [c for c in confirmed if c.violation_id not in annulled]
            if not open_:
                continue
            target = min(open_, key=lambda c: abs((latest - c.at) - ANNUL_AGE))
            annulled.add(target.violation_id)
            ages.append(latest - target.at)
            at = latest + timedelta(seconds=1)
            out.append(
                ViolationAnnulled(
                    id=f"bench-annul-{n}", at=at, source="bench", violation_id=target.violation_id
                )
            )
    return out, ages


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=90.0)
    args = parser.parse_args()
    n = int(args.rate * args.seconds)
    stream = [f for f in facts_for(int(n * 1.1)) if not isinstance(f, ViolationAnnulled)][:n]
    ordered, late = late_order(stream, random.Random(7))
    facts, ages = with_annulments(ordered, int(args.rate * 30))
    servers = bootstrap()
    root = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    namespace = fresh_namespace(servers)
    workers = [Worker(servers, namespace, root / f"w{i}", index=i, count=2) for i in range(2)]
    try:
        for w in workers:
            w.wait(lambda s: s.get("ready"), 120, "start")
        peer: list[float] = []
        reader = threading.Thread(target=plain_consumer, args=(servers, namespace, len(facts), peer))
        reader.start()
        took = publish(servers, namespace, facts, args.rate)
        reader.join(timeout=120)
        statuses = [
            w.wait(lambda s: s["facts"] == len(facts) and s["lag_ms"].get("n") == len(facts), 300, "catch up")
            for w in workers
        ]
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(root, ignore_errors=True)
        drop_topics(servers)
    print(
        f"two workers, steady {args.rate:,.0f} facts/s for {took:.1f} s: {len(facts):,} facts, {late:,} "
        f"sent up to 10 min late, {len(ages)} annulments "
        f"(violations {', '.join(str(a.days) for a in ages)} days old)"
    )
    for i, s in enumerate(statuses):
        lag, arrival, spent = s["lag_ms"], s["arrival_lag_ms"], s["spent_s"]
        print(
            f"  worker {i}: end-to-end lag p50 {lag['p50']:.0f} ms, p99 {lag['p99']:.0f} ms, "
            f"max {lag['max']:.0f} ms; before it had the record p50 {arrival['p50']:.0f} ms, "
            f"p99 {arrival['p99']:.0f} ms; {s['refolds']} refolds, {s['late_applied']} late facts applied in "
            f"place, {s['annulments_voided']} annulments "
            f"voided in place, fold {spent['fold']:.2f} s, peak RSS {s['peak_rss_mib']:,.0f} MiB"
        )
    peer.sort()
    if peer:
        print(
            "  peer: a plain kafka-python consumer of the same topic (timestamp -> polled): "
            f"p50 {peer[len(peer) // 2] * 1000:.0f} ms, p99 {peer[int(len(peer) * 0.99)] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
