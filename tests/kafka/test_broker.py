"""The broker the Kafka tests use is real: topics are created with their configuration; `hotline broker`
lists its topics and groups, and starts another broker on the port HOTLINE_KAFKA_BOOTSTRAP names."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.structs import OffsetAndMetadata
from typer.testing import CliRunner

from consumers.kafka_log import bootstrap, ensure_topics
from hotline.cli import app
from schemas.topics import ALL, PARTITIONS

from .conftest import BROKER, PROBE, new_topic


def test_topics_are_created_with_partitions_retention_and_compaction() -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    created = ensure_topics(ns=ns)
    assert sorted(created) == sorted(t.in_namespace(ns) for t in ALL)
    assert ensure_topics(ns=ns) == []  # a second call creates nothing
    admin = KafkaAdminClient(bootstrap_servers=bootstrap())
    try:
        described = {
            d["name"]: d for d in admin.describe_topics([f"{ns}.facts", f"{ns}.projection.blacklist"])
        }
        assert {len(d["partitions"]) for d in described.values()} == {PARTITIONS}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in described]
        configs = admin.describe_configs(resources)[
            "topic"
        ]  # kafka-python 3: {"topic": {name: {key: {...}}}}
        assert configs[f"{ns}.facts"]["retention.ms"]["value"] == "-1"
        assert configs[f"{ns}.facts"]["cleanup.policy"]["value"] == "delete"
        assert configs[f"{ns}.projection.blacklist"]["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()


# --- `hotline broker topics|groups|start|stop` -------------------------------------------------

runner = CliRunner()


def hotline(*args: str, env: Mapping[str, str | None] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def answers(where: str) -> bool:
    """Whether a live broker answers at `where` (deploy/kafka/probe.py, as the session fixture asks)."""
    probe = [sys.executable, str(PROBE), "-q", "--timeout", "3", "--bootstrap", where]
    return subprocess.run(probe, check=False, capture_output=True).returncode == 0


def test_topics_lists_a_topic_with_its_partition_count(kafka_broker: str) -> None:
    name = new_topic(kafka_broker, "listed", 3)
    out = hotline("broker", "topics", "--servers", kafka_broker)
    assert out.splitlines()[0].split() == ["TOPIC", "PARTITIONS"]
    assert re.search(rf"^{re.escape(name)} +3$", out, re.MULTILINE), out
    # Kafka makes __consumer_offsets at a group's first commit: commit one, so it exists on a fresh broker
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker, group_id=f"g{uuid.uuid4().hex[:8]}")
    first = TopicPartition(name, 0)
    consumer.assign([first])
    consumer.commit({first: OffsetAndMetadata(0, "", -1)})
    consumer.close()
    out = hotline("broker", "topics", "--servers", kafka_broker)
    assert "__consumer_offsets" not in out  # Kafka's own topics only with --internal
    assert "__consumer_offsets" in hotline("broker", "topics", "--internal", "--servers", kafka_broker)


def test_groups_shows_a_groups_lag_per_partition_after_it_commits(kafka_broker: str) -> None:
    topic, group = new_topic(kafka_broker, "lagging", 2), f"g{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    for partition, n in ((0, 5), (1, 2)):
        for i in range(n):
            producer.send(topic, f"record {i}".encode(), partition=partition)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker, group_id=group, enable_auto_commit=False)
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    consumer.assign([p0, p1])
    consumer.commit({p0: OffsetAndMetadata(3, "", -1), p1: OffsetAndMetadata(2, "", -1)})
    consumer.close()

    listed = hotline("broker", "groups", "--servers", kafka_broker)
    assert re.search(rf"^{group} +\w+$", listed, re.MULTILINE), listed
    out = hotline("broker", "groups", group, "--servers", kafka_broker)
    assert re.search(rf"^group {group} \(\w+\): lag 2$", out, re.MULTILINE), out
    rows = [line.split() for line in out.splitlines() if line.startswith(topic)]
    assert rows == [[topic, "0", "3", "5", "2"], [topic, "1", "2", "2", "0"]]


def test_unknown_group_is_one_line_and_exit_status_2(kafka_broker: str) -> None:
    result = runner.invoke(app, ["broker", "groups", "no-such-group", "--servers", kafka_broker])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: no consumer group 'no-such-group' at {kafka_broker} (`hotline broker groups` lists them)\n"
    )


def free_port_pair() -> int:
    """A port that is free, with the next one (the controller's) free too."""
    for _ in range(50):
        port = random.randint(20_000, 60_000)
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two free ports in a row")


def second_broker(tmp_path: Path) -> tuple[str, dict[str, str | None]]:
    """Where a broker of the test's own would listen, and the environment that makes `hotline broker`
    start it there (its own port pair and data directory, no security)."""
    where = f"127.0.0.1:{free_port_pair()}"
    return where, {
        "HOTLINE_KAFKA_BOOTSTRAP": where,
        "HOTLINE_KAFKA_DATA": str(tmp_path / "kafka"),
        "HOTLINE_KAFKA_PORT": None,
        "HOTLINE_KAFKA_SECURITY_PROTOCOL": None,
    }


def test_a_broker_on_the_port_of_the_bootstrap_runs_beside_the_default_one(
    kafka_broker: str, tmp_path: Path
) -> None:
    """`hotline broker start` with HOTLINE_KAFKA_BOOTSTRAP on another port starts a second broker there
    (its own data dir, here a temporary one); restarting and stopping it leave the session's broker
    running."""
    where, env = second_broker(tmp_path)
    assert answers(kafka_broker) and not answers(where)
    try:
        started = runner.invoke(app, ["broker", "start"], env=env)
        assert started.exit_code == 0, started.output
        assert answers(where)
        status = subprocess.run(
            ["bash", str(BROKER), "status"],
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
        )
        assert status.returncode == 0 and f"{where}," in status.stdout, status.stdout
        assert (tmp_path / "kafka" / "kafka.pid").is_file()
        assert "no topics" in hotline("broker", "topics", env=env)  # `topics` asks it, not the other
        assert answers(kafka_broker)
        restarted = runner.invoke(app, ["broker", "restart"], env=env)
        assert restarted.exit_code == 0, restarted.output
        assert answers(where) and answers(kafka_broker)
    finally:
        stopped = runner.invoke(app, ["broker", "stop"], env=env)
    assert stopped.exit_code == 0, stopped.output
    assert not answers(where)
    assert answers(kafka_broker)  # the session's broker was not disturbed
    assert runner.invoke(app, ["broker", "status"], env=env).exit_code == 1
