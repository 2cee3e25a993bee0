"""`hotline replay --from-kafka` prints a manifest: per partition of the facts topic, the end offset, the
record count and the head of the chain the reader computed (docs/audit.md). Checked against a second,
independent read of the topic with kafka-python, the chain written out by hand."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from typer.testing import CliRunner

from hotline.cli import app

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
runner = CliRunner()


def by_hand(values: list[bytes]) -> str:
    head = bytes(32)
    for value in values:
        head = hashlib.sha256(b"\x01" + head + hashlib.sha256(b"\x00" + value).digest()).digest()
    return head.hex()


def partitions_read_by_kafka_python(servers: str, topic: str) -> dict[int, tuple[int, list[bytes]]]:
    """Partition -> (end offset, values in offset order), committed records only."""
    consumer = KafkaConsumer(
        bootstrap_servers=servers, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(parts)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        values: dict[int, list[bytes]] = {tp.partition: [] for tp in parts}
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                values[tp.partition] += [r.value for r in records if r.offset < ends[tp]]
        return {tp.partition: (ends[tp], values[tp.partition]) for tp in parts}
    finally:
        consumer.close()


def test_the_kafka_manifest_holds_each_partitions_end_count_and_head(
    kafka_broker: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOTLINE_NAMESPACE", namespace)
    assert runner.invoke(app, ["produce", str(EXAMPLES), "--source", "any"]).exit_code == 0
    result = runner.invoke(app, ["replay", "--from-kafka", "--json", "--as-of", "2025-12-31"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"digest", "manifest", "facts", "seconds"}
    manifest = out["manifest"]
    assert manifest["source"] == "kafka" and manifest["records"] == 26 and out["facts"] == 26
    expected = partitions_read_by_kafka_python(kafka_broker, f"{namespace}.facts")
    assert {p["partition"]: (p["end_offset"], p["records"], p["head"]) for p in manifest["partitions"]} == {
        number: (end, len(values), by_hand(values)) for number, (end, values) in expected.items()
    }
    log = tmp_path / "embedded.db"
    assert runner.invoke(app, ["ingest", str(EXAMPLES), "--log", str(log)]).exit_code == 0
    embedded = runner.invoke(app, ["replay", "--log", str(log), "--json", "--as-of", "2025-12-31"])
    assert json.loads(embedded.stdout)["digest"] == out["digest"]
    text = runner.invoke(app, ["replay", "--from-kafka", "--as-of", "2025-12-31"]).output
    assert f"manifest 26 records, fingerprint {manifest['fingerprint']}" in text
    assert "manifest partition 0: " in text
