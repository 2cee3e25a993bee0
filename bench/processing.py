"""Faust worker speed against the local broker (targets: >= 20k facts/s per worker; lag p99 < 500 ms
at a steady 5k facts/s).

1. Throughput: one worker on a facts topic pre-filled with about 200k facts (event order, keyed by
   subject). Measured from the start of main_worker (process start and imports excluded) to the
   moment the worker has applied every fact and published what they derive, read from its
   status.json (published_at_s). Twice: as deployed (the startup drain, then the live reader), and
   with the drain off, so that the live reader reads every fact (HOTLINE_WORKER_DRAIN=0; the rate
   is then taken from the first record read to the last publication).
2. Lag: one worker on an empty topic; a producer thread publishes facts in event order at a steady
   5k facts/s; the worker measures, per fact, now - the record's timestamp (set by the producer at
   send) once the batch holding it is applied and its derived events acknowledged by the broker.
   Run twice: on the synthetic stream, and, as a diagnostic, on the same stream without its
   ViolationAnnulled facts (each annulment makes the Projector refold from a checkpoint). Beside it,
   a plain kafka-python consumer of the same topic: how soon a bare consumer has each record.

Run: .venv/bin/python bench/processing.py [--facts 200000] [--rate 5000] [--seconds 30]
Each run uses fresh topics (its own namespace) and a temporary data directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from consumers.kafka_log import bootstrap, ensure_topics, topic_name
from consumers.worker.status import read_status
from producers.synthetic import generate
from schemas.codec import fact_to_json
from schemas.facts import Fact, ViolationAnnulled
from schemas.topics import FACTS, fact_key

ROOT = Path(__file__).parents[1]


def facts_for(n: int, months: int = 4) -> list[Fact]:
    """About n facts: the synthetic stream grows with its companies (about 660 facts per company)."""
    companies = max(20, round(n / 660))
    return generate(seed=5, companies=companies, engineers=companies * 10, months=months)


def producer(servers: str) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        linger_ms=5,
        batch_size=256 * 1024,
    )


def publish(servers: str, namespace: str, facts: list[Fact], rate: float | None = None) -> float:
    """Publish in order; at `rate` facts/s (in steps of 10 ms) or flat out. Returns the seconds taken."""
    p = producer(servers)
    topic = topic_name(FACTS, namespace)
    start = time.monotonic()
    step = max(1, int((rate or 0) / 100))
    for i, fact in enumerate(facts):
        p.send(topic, key=fact_key(fact), value=fact_to_json(fact))
        if rate is not None and i % step == 0 and (ahead := start + i / rate - time.monotonic()) > 0:
            time.sleep(ahead)
    p.flush()
    p.close()
    return time.monotonic() - start


class Worker:
    def __init__(
        self,
        servers: str,
        namespace: str,
        datadir: Path,
        env: dict[str, str] | None = None,
        index: int = 0,
        count: int = 1,
    ) -> None:
        self.datadir = datadir
        self.log = datadir.with_suffix(".log")
        datadir.mkdir(parents=True, exist_ok=True)  # a restart reuses its data directory
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "consumers.worker", "--index", str(index), "--of", str(count),
             "--servers", servers, "--namespace", namespace, "--datadir", str(datadir)],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        return read_status(self.datadir / "status.json") or {}

    def wait(self, until: Any, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"worker exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            status = self.status()
            if status and until(status):
                return status
            time.sleep(0.1)
        raise SystemExit(f"worker did not {what} in {timeout} s: {self.status()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


NAMESPACES: list[str] = []


def drop_topics(servers: str) -> None:
    """Every topic this run created (facts, outputs, the workers' changelogs)."""
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        prefixes = tuple(p for ns in NAMESPACES for p in (f"{ns}.", f"{ns}-worker-"))
        mine = [t for t in admin.list_topics() if t.startswith(prefixes)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def fresh_namespace(servers: str) -> str:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    ensure_topics(servers, namespace)
    NAMESPACES.append(namespace)
    return namespace


def prefill(servers: str, facts: list[Fact]) -> str:
    namespace = fresh_namespace(servers)
    seconds = publish(servers, namespace, facts)
    print(f"pre-filled {namespace}.facts with {len(facts):,} facts in {seconds:.1f} s")
    return namespace


def caught_up(worker: Worker, n: int) -> dict[str, Any]:
    def done(s: dict[str, Any]) -> bool:  # this process's status (a restart finds its predecessor's)
        return bool(
            s.get("pid") == worker.proc.pid and s.get("ready") and s["facts"] == n and not s["pending"]
        )

    worker.wait(done, 900, "catch up")
    time.sleep(0.5)  # status.json is written a tick after the publication it reports
    return worker.status()


def throughput(servers: str, root: Path, n: int) -> None:
    facts = facts_for(n)
    print("throughput, one worker:")
    # As deployed: the startup drain reads the backlog, the live reader what comes after.
    namespace = prefill(servers, facts)
    datadir = root / f"{namespace}-deployed"
    worker = Worker(servers, namespace, datadir)
    try:
        s = caught_up(worker, len(facts))
    finally:
        worker.stop()
    # Restarted on its data directory: it resumes from its checkpoint and offsets, not from offset 0.
    worker = Worker(servers, namespace, datadir)
    try:
        again = caught_up(worker, len(facts))
    finally:
        worker.stop()
    print(
        f"  restart on its data directory: caught up {again['published_at_s']:.2f} s after start "
        f"(resumed {again['drain']['resumed']:,} facts, read {again['drain']['facts']:,} again); "
        f"peak RSS {s['peak_rss_mib']:,.0f} MiB first run, {again['peak_rss_mib']:,.0f} MiB restarted"
    )
    drain, first = s["drain"]["seconds"], s["published_at_s"] - s["ready_at_s"]
    work = drain + first
    print(
        f"  as deployed: drain {drain:.2f} s + first publication (fold rebuilt once, "
        f"{s['records_sent']:,} records) {first:.2f} s = {work:.2f} s -> {len(facts) / work:,.0f} facts/s"
    )
    print(
        f"    faust start-up and table recovery between them: {s['ready_at_s'] - drain:.2f} s; "
        f"from main_worker() to caught up: {s['published_at_s']:.2f} s "
        f"-> {len(facts) / s['published_at_s']:,.0f} facts/s"
    )
    # The live path alone reading the whole backlog (the drain switched off).
    namespace = prefill(servers, facts)
    worker = Worker(servers, namespace, root / f"{namespace}-live", {"HOTLINE_WORKER_DRAIN": "0"})
    try:
        s = caught_up(worker, len(facts))
    finally:
        worker.stop()
    live = s["published_at_s"] - s["first_record_at_s"]
    print(
        f"  live reader alone (no drain): {s['received']:,} records, first record to caught up in "
        f"{live:.2f} s -> {s['received'] / live:,.0f} facts/s"
    )


def plain_consumer(servers: str, namespace: str, n: int, lags: list[float]) -> None:
    """The physical limit beside the worker: how soon a bare consumer has each record (seconds)."""
    consumer = KafkaConsumer(
        topic_name(FACTS, namespace), bootstrap_servers=servers, auto_offset_reset="earliest"
    )
    deadline = time.monotonic() + 300
    try:
        while len(lags) < n and time.monotonic() < deadline:
            for records in consumer.poll(200, max_records=5000).values():
                now = time.time()
                lags.extend(now - r.timestamp / 1000 for r in records)
    finally:
        consumer.close()


def lag(servers: str, root: Path, rate: float, seconds: float, annulments: bool = True) -> None:
    n = int(rate * seconds)
    facts = facts_for(int(n * 1.1))
    if not annulments:
        facts = [f for f in facts if not isinstance(f, ViolationAnnulled)]
    facts = facts[:n]
    namespace = fresh_namespace(servers)
    worker = Worker(servers, namespace, root / f"{namespace}-lag")
    try:
        worker.wait(lambda s: s.get("ready"), 120, "start")
        sent: list[float] = []
        peer: list[float] = []
        reader = threading.Thread(target=plain_consumer, args=(servers, namespace, len(facts), peer))
        reader.start()
        thread = threading.Thread(target=lambda: sent.append(publish(servers, namespace, facts, rate)))
        thread.start()
        thread.join()
        reader.join(timeout=120)
        status = worker.wait(
            lambda s: s["facts"] == len(facts) and s["lag_ms"].get("n") == len(facts), 300, "catch up"
        )
    finally:
        worker.stop()
    lag_ms, spent = status["lag_ms"], status["spent_s"]
    achieved = len(facts) / sent[0]
    label = "the synthetic stream" if annulments else "the same stream without its annulments (diagnostic)"
    print(f"steady {rate:,.0f} facts/s, {sent[0]:.1f} s, {len(facts):,} facts ({achieved:,.0f}/s), {label}:")
    print(
        "  end-to-end lag (record timestamp -> applied, derived events acknowledged by the broker): "
        f"p50 {lag_ms['p50']:.0f} ms, p99 {lag_ms['p99']:.0f} ms, max {lag_ms['max']:.0f} ms"
    )
    arrival = status["arrival_lag_ms"]
    print(
        "    of which before the worker had the record (timestamp -> the reading task's batch): "
        f"p50 {arrival['p50']:.0f} ms, p99 {arrival['p99']:.0f} ms"
    )
    if peer:
        peer.sort()
        print(
            "    peer: a plain kafka-python consumer of the same topic, same run (timestamp -> polled): "
            f"p50 {peer[len(peer) // 2] * 1000:.0f} ms, p99 {peer[int(len(peer) * 0.99)] * 1000:.0f} ms"
        )
    annulled = sum(isinstance(f, ViolationAnnulled) for f in facts)
    print(
        f"  worker time: apply {spent['apply']:.2f} s, fold {spent['fold']:.2f} s "
        f"({status.get('refolds', 0)} refolds from a checkpoint; {annulled} annulments in the stream), "
        f"publish {spent['publish']:.2f} s in {spent['publications']:.0f} publications"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--only", choices=("throughput", "lag"))
    args = parser.parse_args()
    servers = bootstrap()
    root = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        if args.only != "lag":
            throughput(servers, root, args.facts)
        if args.only != "throughput":
            lag(servers, root, args.rate, args.seconds)
            lag(servers, root, args.rate, args.seconds, annulments=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        drop_topics(servers)


if __name__ == "__main__":
    main()
