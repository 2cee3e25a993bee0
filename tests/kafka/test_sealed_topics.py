"""A sealed Kafka line on the real broker (docs/privacy.md): `produce --keys` publishes pseudonyms and
ciphertext only, to the facts topic and to the rejects topic, and its replay equals the sealed
embedded log's under the same key store."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from tests.kafka.conftest import topic_records

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
# What the examples say of P-1 and their number: none of it may reach a topic.
PERSONAL = ("13800138000", "P-1", "engineer called back", "shared duty phone", "controller B reboots")


def hotline(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def raw_values(servers: str, topic: str) -> bytes:
    """Every record value on the topic now, as stored."""
    return b"\n".join(r.value for records in topic_records(servers, topic).values() for r in records)


@pytest.fixture
def namespace(monkeypatch: pytest.MonkeyPatch) -> str:
    ns = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOTLINE_NAMESPACE", ns)
    return ns


def test_a_sealed_line_publishes_no_personal_data_and_replays_as_the_sealed_log(
    namespace: str, tmp_path: Path, kafka_broker: str
) -> None:
    keys = tmp_path / "line.keys"
    hotline("keys", "create", "--keys", str(keys))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "call.received", "number": "13800138000", "id": "x"}\n')
    assert "26 facts published" in hotline("produce", str(EXAMPLES), "--keys", str(keys))
    again = hotline("produce", str(EXAMPLES), "--keys", str(keys))
    assert "0 facts published" in again and "26 already there" in again  # sealing is deterministic
    hotline("produce", str(bad), "--keys", str(keys), code=3)

    facts, rejects = (
        raw_values(kafka_broker, f"{namespace}.facts"),
        raw_values(kafka_broker, f"{namespace}.rejects"),
    )
    # 15 of the examples' 26 facts hold a number, a person id, a problem or a note: each has its ciphertext
    assert facts.count(b'"sealed":"v1.') == 15
    assert b"withheld on a sealed line: sha256" in rejects
    for personal in PERSONAL:
        assert personal.encode() not in facts + rejects, personal

    log = tmp_path / "embedded.db"
    shutil.copy(keys, f"{log}.keys")  # the same line's keys: the same pseudonyms, the same bytes
    hotline("ingest", str(EXAMPLES), "--log", str(log), "--seal")
    for as_of in ("2025-03-20", "2025-12-31"):
        kafka = re.findall(r"digest ([0-9a-f]{64})", hotline("replay", "--from-kafka", "--as-of", as_of))
        embedded = re.findall(
            r"digest ([0-9a-f]{64})", hotline("replay", "--log", str(log), "--as-of", as_of)
        )
        assert kafka == embedded and len(kafka) == 1
