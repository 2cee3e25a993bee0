"""Every test here talks to a real Kafka broker. If none answers, the session starts one with
deploy/kafka/broker.sh (and stops it afterwards); if that fails, the tests fail: they never skip."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).parents[2]
BROKER = ROOT / "deploy" / "kafka" / "broker.sh"
PROBE = ROOT / "deploy" / "kafka" / "probe.py"


def new_topic(servers: str, suffix: str, partitions: int) -> str:
    """A topic of its own (a random prefix, so runs never share one), created and visible."""
    name = f"t{uuid.uuid4().hex[:8]}.{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)], wait_for_metadata=True)
    finally:
        admin.close()
    return name


def topic_records(servers: str, topic: str, timeout: float = 30) -> dict[int, list[Any]]:
    """Every record on the topic now (kafka-python's ConsumerRecords), per partition in offset order;
    every partition is listed, empty or not."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        out: dict[int, list[Any]] = {tp.partition: [] for tp in partitions}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                out[tp.partition] += records
        return out
    finally:
        consumer.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.kafka)


def _reachable() -> bool:
    return subprocess.run([sys.executable, str(PROBE), "-q", "--timeout", "3"], check=False).returncode == 0


@pytest.fixture(scope="session", autouse=True)
def kafka_broker() -> Iterator[str]:
    bootstrap = os.environ.get("HOTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    started_here = False
    if not _reachable():
        result = subprocess.run(["bash", str(BROKER), "start"], capture_output=True, text=True, check=False)
        if result.returncode != 0 or not _reachable():
            pytest.fail(
                f"no Kafka broker at {bootstrap} and `{BROKER} start` failed:\n{result.stdout}{result.stderr}"
            )
        started_here = True
    before = set(_test_topics(bootstrap))
    yield bootstrap
    _drop_topics(bootstrap, [t for t in _test_topics(bootstrap) if t not in before])
    if started_here:
        subprocess.run(["bash", str(BROKER), "stop"], capture_output=True, check=False)


#: The tests' own topics: a random namespace `t` + 8 hex digits, then `.topic` or `-worker-...`.
_TEST_TOPIC = re.compile(r"t[0-9a-f]{8}[.-]")


def _test_topics(servers: str) -> list[str]:
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        return [t for t in admin.list_topics() if _TEST_TOPIC.match(t)]
    finally:
        admin.close()


def _drop_topics(servers: str, topics: list[str]) -> None:
    """The topics this session made: left on a long-lived local broker, thousands of partitions
    pile up over runs and its start takes minutes."""
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        for i in range(0, len(topics), 100):
            admin.delete_topics(topics[i : i + 100])
    except Exception as e:  # the broker went away: nothing to clean up on it now
        print(f"could not drop the session's topics: {e}", file=sys.stderr)
    finally:
        admin.close()
