"""Issue 7: the audit replay from Kafka skips a record of the facts topic that is not a fact (a probe's,
an attacker's), names it, and replays the rest, with either reader; the manifest still counts and
chains it, so two replays of the same topic compare equal."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from consumers.kafka_replay import Skipped, read_counted, replay_with_manifest, skipped_line
from domain.policy import load_policy
from hotline.cli import app
from projections.fold import project
from projections.view import digest, snapshot
from schemas.codec import fact_to_json
from schemas.facts import CompanyRegistered
from tests.kafka.test_cli_kafka import digest_of

from .conftest import new_topic

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
JUNK = b'{"probe": "not a fact"}'
runner = CliRunner()


def company(n: int) -> CompanyRegistered:
    at = datetime(2025, 1, 6, 1, n, tzinfo=UTC)
    return CompanyRegistered(id=f"junk-{n}", at=at, source="crm", company_id=f"C-J{n}", name="Acme")


def write(servers: str, topic: str, records: list[tuple[int, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=servers)
    try:
        for partition, value in records:
            producer.send(topic, value, partition=partition).get(timeout=30)
    finally:
        producer.close()


def test_both_readers_skip_and_name_the_record_that_is_not_a_fact(kafka_broker: str) -> None:
    topic = new_topic(kafka_broker, "facts", 3)
    namespace = topic.removesuffix(".facts")
    facts = [company(n) for n in range(4)]
    # partition 0: facts 0, 1; partition 2: fact 2 (offset 0), the junk (offset 1), fact 3 (offset 2)
    layout = [(0, facts[0]), (0, facts[1]), (2, facts[2]), (2, JUNK), (2, facts[3])]
    write(kafka_broker, topic, [(p, v if isinstance(v, bytes) else fact_to_json(v)) for p, v in layout])

    for client in ("fetch", "kafka-python"):
        read, skipped = read_counted(kafka_broker, namespace, client)  # type: ignore[arg-type]
        assert sorted(f.id for f in read) == ["junk-0", "junk-1", "junk-2", "junk-3"], client
        assert skipped == (Skipped(2, 1),), client

    result, n, _, manifest = replay_with_manifest(kafka_broker, namespace, None)
    policy = load_policy()
    assert result == digest(snapshot(project(facts, policy), None))  # as if the junk were not there
    assert n == 4
    # the manifest counts every record read, the junk included: 2 + 0 + 3
    assert [(p.partition, p.end_offset, p.records) for p in manifest.partitions] == [
        (0, 2, 2),
        (1, 0, 0),
        (2, 3, 3),
    ]
    assert manifest.skipped == (Skipped(2, 1),)
    assert skipped_line(manifest.skipped) == "skipped 1 record that is not a fact: partition 2 offset 1"


def replay_cli(*args: str) -> str:
    result = runner.invoke(app, ["replay", *args])
    assert result.exit_code == 0, result.output  # a successful replay, the junk notwithstanding
    return result.output


@pytest.fixture
def poisoned(kafka_broker: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, int]:
    """The README's example facts on the topic, then one junk record on partition 1; returns the
    embedded log of the same facts and the junk's offset (as the broker gave it)."""
    monkeypatch.setenv("HOTLINE_NAMESPACE", f"t{uuid.uuid4().hex[:8]}")
    assert runner.invoke(app, ["produce", str(EXAMPLES), "--source", "any"]).exit_code == 0
    log = str(tmp_path / "embedded.db")
    assert runner.invoke(app, ["ingest", str(EXAMPLES), "--log", log]).exit_code == 0
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    try:
        offset = producer.send(f"{os.environ['HOTLINE_NAMESPACE']}.facts", JUNK, partition=1).get(30).offset
    finally:
        producer.close()
    return log, offset


def test_the_replay_command_replays_the_facts_around_the_junk(poisoned: tuple[str, int]) -> None:
    log, _ = poisoned
    for as_of in ("2025-03-20", "2025-12-31"):
        kafka = digest_of(replay_cli("--from-kafka", "--as-of", as_of))
        assert kafka == digest_of(replay_cli("--log", log, "--as-of", as_of))
    out = json.loads(replay_cli("--from-kafka", "--json"))
    assert (out["facts"], out["manifest"]["records"]) == (26, 27)  # 26 facts, 27 records chained


def test_the_replay_command_names_the_skipped_record(poisoned: tuple[str, int]) -> None:
    _, offset = poisoned
    assert f"skipped 1 record that is not a fact: partition 1 offset {offset}" in replay_cli("--from-kafka")
