"""The README's Kafka commands: produce facts, then the audit replay from Kafka prints the same digest
as the embedded replay of the same facts."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
runner = CliRunner()


def hotline(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def digest_of(output: str) -> str:
    match = re.search(r"digest ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


@pytest.fixture
def namespace(monkeypatch: pytest.MonkeyPatch) -> str:
    ns = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOTLINE_NAMESPACE", ns)
    return ns


def test_produce_then_replay_from_kafka_equals_the_embedded_replay(namespace: str, tmp_path: Path) -> None:
    out = hotline("produce", str(EXAMPLES), "--source", "any")
    assert f"26 read: 26 facts published to {namespace}.facts" in out
    again = hotline("produce", str(EXAMPLES))
    assert "0 facts published" in again and "26 already there" in again
    log = str(tmp_path / "embedded.db")
    hotline("ingest", str(EXAMPLES), "--log", log)
    for as_of in ("2025-03-20", "2025-12-31"):
        kafka = digest_of(hotline("replay", "--from-kafka", "--as-of", as_of))
        assert kafka == digest_of(hotline("replay", "--log", log, "--as-of", as_of))


def test_a_bad_line_is_reported_and_the_rest_published(namespace: str, tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_text(EXAMPLES.read_text().splitlines()[0] + "\n{oops\n")
    out = hotline("produce", str(source), code=3)  # 3: some lines refused, the rest published
    assert "mixed.jsonl:2 field -: not valid JSON" in out
    assert "1 facts published" in out and "1 lines rejected" in out
