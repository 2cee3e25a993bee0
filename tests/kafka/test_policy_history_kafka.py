"""Issue 8 on a real broker: `replay --from-kafka` and `audit --from-kafka` take the same policy
history as the embedded commands (two packs, each in force from its effective time), and the replay
from the topic prints the embedded replay's digest under that history."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from tests.unit.policy_packs import SHIPPED, pack_text

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
runner = CliRunner()


def hotline(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def digest_of(output: str) -> str:
    match = re.search(r"digest ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def test_replay_from_kafka_under_two_packs_equals_the_embedded_replay(
    kafka_broker: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOTLINE_NAMESPACE", f"t{uuid.uuid4().hex[:8]}")
    (tmp_path / "3.0.toml").write_text(SHIPPED, encoding="utf-8")
    # in force before the example's barcode-mismatch is confirmed (2025-03-04): 12 months, not 6
    later = pack_text("3.1", "2025-03-01T00:00:00+08:00", BARCODE_MISMATCH=12)
    (tmp_path / "3.1.toml").write_text(later, encoding="utf-8")
    packs = ["--policy", str(tmp_path / "3.0.toml"), "--policy", str(tmp_path / "3.1.toml")]
    hotline("produce", str(EXAMPLES), "--source", "any")
    log = str(tmp_path / "embedded.db")
    hotline("ingest", str(EXAMPLES), "--log", log)
    for as_of in ("2025-03-20", "2025-12-31"):
        kafka = digest_of(hotline("replay", "--from-kafka", "--as-of", as_of, *packs))
        assert kafka == digest_of(hotline("replay", "--log", log, "--as-of", as_of, *packs))
        one_pack = digest_of(hotline("replay", "--from-kafka", "--as-of", as_of, *packs[:2]))
        assert kafka != one_pack  # the 3.1 terms were applied
    assert "decisions recorded" in hotline("audit", "--from-kafka", *packs)
