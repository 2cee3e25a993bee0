"""`hotline audit --from-kafka` reads the admission-decisions topic and answers each request again with
everything the facts topic holds now. Expected values by hand (see tests/e2e/test_cli_audit.py): on
2025-03-10 10:00 +08:00 the account A-1001 and the number 13800138000 are both blacklisted since
2025-03-06 15:00 +08:00 (BARCODE-MISMATCH, codes refused)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from consumers.kafka_log import bootstrap, topic_name
from hotline.cli import app
from schemas.derived import AdmissionDecision, CallRequest
from schemas.topics import DERIVED

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
runner = CliRunner()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def hotline(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def namespace(monkeypatch: pytest.MonkeyPatch) -> str:
    ns = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOTLINE_NAMESPACE", ns)
    return ns


def test_audit_from_kafka_reads_the_decisions_topic(namespace: str) -> None:
    hotline("topics")
    hotline("produce", str(EXAMPLES), "--source", "any")
    at = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    request = CallRequest(
        account_id="A-1001",
        number="13800138000",
        barcode="210235A1B2C3",
        stated_model="ST-5310",
        stated_site="SITE-77-SH-01",
        at=at,
    )
    # what a replica that had not seen the confirmation yet answered
    admitted = AdmissionDecision(
        id="adm-early", at=at, policy_version="3.0", request=request, admitted=True, reasons=(), known_up_to=9
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap(), acks="all")
    topic = topic_name(DERIVED["admission-decisions"], namespace)
    producer.send(topic, key=b"A-1001", value=msgspec.json.encode(admitted))
    producer.send(topic, key=b"A-1001", value=b"{not a decision")
    producer.flush()
    producer.close()

    report = json.loads(hotline("audit", "--from-kafka", "--json"))
    assert report["decisions"] == 1
    assert len(report["undecodable"]) == 1 and report["undecodable"][0].endswith(":1")
    [row] = report["would_differ"]
    assert row["decision"]["id"] == "adm-early" and row["now_admitted"] is False
    assert [r["code"] for r in row["now_reasons"]] == ["account-blacklisted", "number-blacklisted"]
    text = hotline("audit", "--from-kafka")
    assert "1 decisions recorded; 1 would differ" in text and "undecodable record" in text
