"""`hotline verify` and the manifest of `hotline replay`, through typer's CliRunner.

`verify` is not on hotline.cli's app yet (its registration is the lead's), so a small app registers
it beside `ingest` and `replay`, exactly as hotline/cli.py registers commands.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.commands_verify import TAMPERED

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"

runner = CliRunner()


def head_by_hand(log: Path, upto: int = 26) -> str:
    head = bytes(32)
    with sqlite3.connect(log) as db:
        for (body,) in db.execute("SELECT body FROM facts WHERE offset <= ? ORDER BY offset", (upto,)):
            head = hashlib.sha256(b"\x01" + head + hashlib.sha256(b"\x00" + body).digest()).digest()
    return head.hex()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.db"
    assert runner.invoke(app, ["ingest", str(EXAMPLES), "--log", str(path)]).exit_code == 0
    return path


def test_verify_prints_the_records_end_and_head_of_an_intact_log(log: Path) -> None:
    result = runner.invoke(app, ["verify", "--log", str(log)])
    assert result.exit_code == 0, result.output
    assert f"facts: 26 records checked, end offset 26, head {head_by_hand(log)}" in result.output
    assert f"decisions: 0 records checked, end offset 0, head {'0' * 64}" in result.output


def test_verify_names_the_altered_record_and_exits_4(log: Path) -> None:
    with sqlite3.connect(log) as db:
        db.execute("UPDATE facts SET body = body || x'00' WHERE offset = 9")
    result = runner.invoke(app, ["verify", "--log", str(log)])
    assert TAMPERED == 4 and result.exit_code == 4
    lines = [line for line in result.output.splitlines() if line.startswith("tampered:")]
    what = "body or place no longer matches its link"
    assert lines == [f"tampered: facts: record at offset 9 was altered or reordered: {what}"]
    assert "Traceback" not in result.output


def test_verify_json_says_where_the_chain_breaks(log: Path) -> None:
    with sqlite3.connect(log) as db:
        db.execute("DELETE FROM facts WHERE offset > 24")
    result = runner.invoke(app, ["verify", "--log", str(log), "--json"])
    assert result.exit_code == 4
    out = json.loads(result.stdout)
    assert out["intact"] is False
    assert out["facts"]["break"]["offset"] == 25 and out["facts"]["break"]["kind"] == "removed"
    assert out["facts"]["records"] == 24 and out["decisions"]["intact"] is True


def test_verify_of_a_missing_log_is_an_operator_mistake(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", "--log", str(tmp_path / "nope.db")])
    assert result.exit_code == 2 and "no such log" in result.output


def test_replay_prints_the_manifest_beside_the_digest(log: Path) -> None:
    out = runner.invoke(app, ["replay", "--log", str(log)]).output
    assert f"manifest log: 26 records to offset 26, head {head_by_hand(log)}" in out
    assert "digest " in out


def test_replay_json_holds_digest_manifest_facts_and_seconds(log: Path) -> None:
    result = runner.invoke(app, ["replay", "--log", str(log), "--json", "--upto-offset", "5"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"digest", "manifest", "facts", "seconds"}
    assert out["manifest"] == {"source": "log", "records": 5, "end_offset": 5, "head": head_by_hand(log, 5)}
    assert out["facts"] == 5 and len(out["digest"]) == 64
