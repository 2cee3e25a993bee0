"""Faust workers against the real broker: 4 partitions, 2 worker processes, each holding the whole
projection and publishing the keys it owns. The digest each worker reports must equal the embedded
run's on the same facts (shuffled, 10% re-sent), and the derived topics must hold exactly the derived
events of the embedded run, split between the workers by ownership, with no gap: also after one
worker is killed with -9 in the middle of the stream and restarted."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from consumers.kafka_log import ensure_topics, topic_name
from consumers.worker.outputs import derived_events, projection_values
from consumers.worker.ownership import partition_of
from consumers.worker.status import read_status
from consumers.worker.topics import WRITTEN
from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from projections.view import digest, snapshot
from schemas.codec import fact_from_json, fact_to_json
from schemas.facts import Fact
from schemas.topics import DERIVED, FACTS, PROJECTIONS, fact_key

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).parents[2]
POLICY = load_policy()
WORKERS = 2
WAIT = 180.0  # seconds for the workers to report every fact


@dataclass(frozen=True)
class Expected:
    facts: list[Fact]
    arrival: list[Fact]  # shuffled, 10% re-sent
    as_of: Any
    digest: str
    derived: dict[tuple[str, str], tuple[str, str, dict[str, Any]]]  # (kind, id) -> (kind, key, payload)
    projections: dict[tuple[str, str], dict[str, Any]]  # (kind, key) -> value without as_of


@pytest.fixture(scope="module")
def expected() -> Expected:
    """The embedded run: project() on the facts, validated and normalised as a producer does."""
    facts = [fact_from_json(fact_to_json(f)) for f in generate(companies=20, engineers=200, months=2)]
    as_of = max(f.at for f in facts)
    state = project(facts, POLICY, as_of)
    rng = random.Random(11)
    arrival = facts + rng.sample(facts, len(facts) // 10)
    rng.shuffle(arrival)
    derived = {
        event: (out.kind, out.key, msgspec.json.decode(msgspec.json.encode(out.record)))
        for event, out in derived_events(state).items()
    }
    projections = {
        kv: _without_as_of(msgspec.json.decode(msgspec.json.encode(value)))
        for kv, value in projection_values(state, as_of).items()
    }
    return Expected(facts, arrival, as_of, digest(snapshot(state, as_of)), derived, projections)


def _without_as_of(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "as_of"}


# --- worker processes ------------------------------------------------------------------------------
@dataclass
class Workers:
    namespace: str
    servers: str
    root: Path
    as_of: Any
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def datadir(self, index: int) -> Path:
        return self.root / f"worker-{index}"

    def start(self, index: int) -> None:
        log = (self.root / f"worker-{index}.log").open("ab")
        env = {**os.environ, "HOTLINE_DIGEST_AS_OF": self.as_of.isoformat(), "PYTHONUNBUFFERED": "1"}
        self.procs[index] = subprocess.Popen(
            [sys.executable, "-m", "consumers.worker", "--index", str(index), "--of", str(WORKERS),
             "--servers", self.servers, "--namespace", self.namespace,
             "--datadir", str(self.datadir(index)), "--loglevel", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill9(self, index: int) -> None:
        proc = self.procs.pop(index)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def status(self, index: int) -> dict[str, Any] | None:
        return read_status(self.datadir(index) / "status.json")

    def logs(self) -> str:
        return "\n".join(
            f"--- worker {i} ---\n" + (self.root / f"worker-{i}.log").read_text(errors="replace")[-3000:]
            for i in range(WORKERS)
            if (self.root / f"worker-{i}.log").exists()
        )

    def wait_all(self, facts: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Until every worker has applied and published all facts and computed its digest over them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, proc in self.procs.items():
                if proc.poll() is not None:
                    pytest.fail(f"worker {index} exited with {proc.returncode}\n{self.logs()}")
            statuses = [self.status(i) for i in range(WORKERS)]
            if all(
                s is not None and s["ready"] and s["facts"] == facts and s["digest_facts"] == facts
                for s in statuses
            ):
                return statuses  # type: ignore[return-value]
            time.sleep(0.2)
        pytest.fail(f"workers did not report {facts} facts in {timeout} s: {statuses}\n{self.logs()}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker has drained the topic and restored its tables: facts sent from now on
        go through the faust agent, not the startup drain."""
        deadline = time.monotonic() + timeout
        while not all((s := self.status(i)) and s["ready"] for i in range(WORKERS)):
            if time.monotonic() > deadline:
                pytest.fail(f"workers not ready in {timeout} s\n{self.logs()}")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


@pytest.fixture
def workers(kafka_broker: str, expected: Expected, tmp_path: Path) -> Iterator[Workers]:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker, namespace)  # fails, never skips, without a broker
    group = Workers(namespace, kafka_broker, tmp_path, expected.as_of)
    try:
        yield group
    finally:
        group.stop()
        drop_topics(kafka_broker, namespace)


def drop_topics(servers: str, namespace: str) -> None:
    """The test's topics and its workers' internal ones: a shared dev broker should not fill up."""
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        mine = [t for t in admin.list_topics() if t.startswith((f"{namespace}.", f"{namespace}-worker-"))]
        if mine:
            admin.delete_topics(mine)
    except KafkaError:
        pass  # best effort: a leftover namespace harms nothing
    finally:
        admin.close()


def publish(servers: str, namespace: str, facts: list[Fact], rate: float | None = None) -> None:
    """Keyed by fact_key, values fact_to_json, as the producers do; `rate` facts/s, or flat out."""
    producer = KafkaProducer(
        bootstrap_servers=servers, acks="all", enable_idempotence=True, compression_type="lz4", linger_ms=5
    )
    topic = topic_name(FACTS, namespace)
    start = time.monotonic()
    for i, fact in enumerate(facts):
        producer.send(topic, key=fact_key(fact), value=fact_to_json(fact))
        if rate is not None and (ahead := start + i / rate - time.monotonic()) > 0:
            time.sleep(ahead)
    producer.flush()
    producer.close()


# --- what the output topics hold -------------------------------------------------------------------
@dataclass
class Record:
    partition: int
    key: str
    value: bytes | None
    worker: int | None


def read_topic(servers: str, name: str) -> list[Record]:
    """Every record of a topic, partition by partition, in offset order."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, group_id=None)
    try:
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        by_partition: dict[int, list[Record]] = {tp.partition: [] for tp in tps}
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for r in batch:
                    worker = dict(r.headers or []).get("hotline-worker")
                    by_partition[tp.partition].append(
                        Record(tp.partition, r.key.decode(), r.value, int(worker) if worker else None)
                    )
        return [record for p in sorted(by_partition) for record in by_partition[p]]
    finally:
        consumer.close()


_GENERATION = re.compile(r"#\d+$")


def check_outputs(servers: str, namespace: str, expected: Expected) -> Counter[str]:
    """The derived topics, read as a consumer should (dedupe by topic and id, apply retractions in
    partition order), hold exactly the embedded run's derived events; the projection topics its values.
    An id is unique per topic: a suspicion and the violation it becomes share one.
    Returns counts: "duplicate" deliveries (at-least-once), "retracted" events, "records"."""
    live: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
    seen: dict[tuple[str, str], bytes] = {}
    counts: Counter[str] = Counter()
    for kind in WRITTEN:
        for record in read_topic(servers, topic_name(DERIVED[kind], namespace)):
            assert record.value is not None
            assert record.worker is not None and record.partition % WORKERS == record.worker, (
                f"{kind} {record.key} was published by worker {record.worker}, "
                f"which does not own partition {record.partition}"
            )
            assert record.partition == partition_of(record.key)
            event = json.loads(record.value)
            counts["records"] += 1
            if (kind, event["id"]) in seen:
                assert seen[(kind, event["id"])] == record.value, f"two payloads under one id {event['id']}"
                counts["duplicate"] += 1
                continue
            seen[(kind, event["id"])] = record.value
            if event["type"] == "derived.changed" and event["change"] == "retracted":
                assert live.pop((kind, event["record_id"]), None) is not None, f"retracts nothing: {event}"
                counts["retracted"] += 1
            else:
                live[(kind, event["id"])] = (kind, record.key, event)
    by_base: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
    for (_, wire_id), (kind, key, event) in live.items():
        base = _GENERATION.sub("", wire_id)
        assert (kind, base) not in by_base, f"two live generations of {kind} {base}"
        by_base[(kind, base)] = (kind, key, {**event, "id": base} if base != wire_id else event)
    assert set(by_base) == set(expected.derived), (
        f"missing {sorted(set(expected.derived) - set(by_base))[:10]}, "
        f"extra {sorted(set(by_base) - set(expected.derived))[:10]}"
    )
    assert by_base == expected.derived

    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, topic in PROJECTIONS.items():
        for record in read_topic(servers, topic_name(topic, namespace)):
            assert record.worker is not None and record.partition % WORKERS == record.worker
            if record.value is None:
                latest.pop((kind, record.key), None)
            else:
                latest[(kind, record.key)] = _without_as_of(json.loads(record.value))
    assert latest == expected.projections
    counts["generations"] = sum(1 for event in live if event not in by_base)
    return counts


# --- the tests -------------------------------------------------------------------------------------
def test_two_workers_match_the_embedded_run(workers: Workers, expected: Expected) -> None:
    for index in range(WORKERS):
        workers.start(index)
    workers.wait_ready()
    publish(workers.servers, workers.namespace, expected.arrival)

    statuses = workers.wait_all(len(expected.facts))

    assert [s["digest"] for s in statuses] == [expected.digest] * WORKERS
    counts = check_outputs(workers.servers, workers.namespace, expected)
    print(f"derived records {counts}, worker statuses {statuses}")
    assert not counts["duplicate"], f"nothing crashed, yet events were published twice: {counts}"
    assert sum(s["emitted"] for s in statuses) == len(expected.derived)
    assert all(s["drain"]["facts"] == 0 and s["lag_ms"]["n"] > 0 for s in statuses)  # the agent did it


def test_kill_9_mid_stream_loses_nothing(workers: Workers, expected: Expected) -> None:
    for index in range(WORKERS):
        workers.start(index)
    workers.wait_ready()  # so the kill lands while they consume, not while they start
    producer = threading.Thread(
        target=publish, args=(workers.servers, workers.namespace, expected.arrival, 1500.0)
    )
    producer.start()
    # Kill it once it has applied some of the stream (about 2,000 of the 5,400 records are out after
    # 1.5 s on a quiet machine; a busy one may need longer before the first batch lands).
    deadline = time.monotonic() + 60
    time.sleep(1.5)
    while ((s := workers.status(1)) is None or s["facts"] == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    before = workers.status(1)
    workers.kill9(1)
    time.sleep(0.5)
    workers.start(1)  # same data directory: its tables say what it already published
    producer.join()

    statuses = workers.wait_all(len(expected.facts))

    assert before is not None and 0 < before["facts"] < len(expected.facts), before
    assert [s["digest"] for s in statuses] == [expected.digest] * WORKERS
    # The restarted worker took up its store: what it held at the kill, not offset 0 again.
    assert statuses[1]["drain"]["resumed"] > 0 and statuses[1]["drain"]["from_offsets"] > 0, statuses[1]
    counts = check_outputs(workers.servers, workers.namespace, expected)  # duplicates: identical only
    print(f"killed worker 1 at {before['facts']} facts; derived records {counts}")


def test_state_dir_holds_the_worker_files_and_its_log_is_plain(workers: Workers, tmp_path: Path) -> None:
    """Without --datadir, worker 0 keeps projection.db, status.json and faust's tables under
    $HOTLINE_STATE_DIR/NS-worker-0 and writes nothing into its current directory; its log, a file and
    not a terminal, holds no ANSI escape code."""
    state, cwd = tmp_path / "state", tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "HOTLINE_STATE_DIR": str(state), "PYTHONUNBUFFERED": "1"}
    env.pop("XDG_STATE_HOME", None)
    log = tmp_path / "worker-0.log"  # where workers.logs() looks
    with log.open("ab") as out:
        workers.procs[0] = subprocess.Popen(  # the fixture stops it
            [sys.executable, "-m", "consumers.worker", "--index", "0", "--of", "1",
             "--servers", workers.servers, "--namespace", workers.namespace, "--loglevel", "info"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    mine = state / f"{workers.namespace}-worker-0"
    deadline = time.monotonic() + 60
    while not ((s := read_status(mine / "status.json")) and s["ready"]):
        if time.monotonic() > deadline or workers.procs[0].poll() is not None:
            pytest.fail(f"worker not ready under {mine}\n{workers.logs()}")
        time.sleep(0.1)
    workers.stop()

    assert (mine / "projection.db").is_file() and (mine / "faust").is_dir(), sorted(mine.iterdir())
    assert list(cwd.iterdir()) == []
    text = log.read_text(errors="replace")
    assert f"keeps its state in {mine}" in text, text[-3000:]  # --loglevel info: the log is not empty
    assert "\x1b[" not in text, text[-3000:]
