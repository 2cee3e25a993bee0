"""The `hotline` CLI end to end on an embedded log: what a newcomer and an operator type."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
runner = CliRunner()


def hotline(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def log(tmp_path: Path) -> str:
    path = str(tmp_path / "hotline.db")
    out = hotline("ingest", str(EXAMPLES), "--log", path)
    assert "21 facts appended, 0 already on the log, 0 rejected" in out
    return path


def test_ingest_reports_each_bad_line_writes_rejects_and_keeps_the_rest(tmp_path: Path, log: str) -> None:
    source = tmp_path / "mixed.jsonl"
    good = (
        '{"type":"company.registered","id":"co-2","at":"2025-03-01T09:00:00+08:00","source":"crm",'
        '"company_id":"C-2","name":"Beta"}'
    )
    source.write_text("{oops\n" + good + "\n" + '{"type":"company.registered","id":"x"}\n')
    out = hotline("ingest", str(source), "--log", log)
    assert "mixed.jsonl:1 field -: not valid JSON" in out
    assert "mixed.jsonl:3 field company_id, name, at, source: missing required fields" in out
    assert "1 facts appended, 0 already on the log, 2 rejected" in out
    rejects = [json.loads(line) for line in (tmp_path / "mixed.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [1, 3]


def test_state_json_at_an_as_of_time(log: str) -> None:
    snap = json.loads(hotline("state", "--log", log, "--as-of", "2025-03-20", "--json"))
    in_force = {
        (e["penalty"]["subject_kind"], e["penalty"]["subject"])
        for e in snap["blacklist"]
        if e["status"] == "in force"
    }
    assert ("account", "A-1001") in in_force
    assert snap["as_of"] == "2025-03-19T16:00:00Z"  # midnight on the line's calendar, in UTC


def test_check_answers_with_every_reason_and_records_the_decision(log: str) -> None:
    decision = json.loads(
        hotline(
            "check",
            "--log",
            log,
            "--account",
            "A-1001",
            "--number",
            "13912345678",
            "--barcode",
            "210235A1B2C3",
            "--model",
            "ST-9999",
            "--site",
            "SITE-77-SH-01",
            "--at",
            "2025-03-20T10:00:00+08:00",
            "--json",
        )
    )
    assert decision["admitted"] is False
    codes = [r["code"] for r in decision["reasons"]]
    assert codes[0] == "account-blacklisted" and codes[-1] == "barcode-mismatch"
    assert "1 decisions recorded" in hotline("audit", "--log", log)


def test_explain_shows_the_chain_with_policy_version(log: str) -> None:
    out = hotline("explain", "account", "A-1001", "--log", log, "--as-of", "2025-04-01")
    assert "violation" in out and "penalty" in out and "policy 3.0" in out


def test_replay_prints_the_same_digest_twice_and_differs_by_offset(log: str) -> None:
    def digest(*extra: str) -> str:
        match = re.search(r"digest ([0-9a-f]{64})", hotline("replay", "--log", log, *extra))
        assert match
        return match.group(1)

    full = digest("--as-of", "2025-12-31")
    assert digest("--as-of", "2025-12-31") == full
    assert digest("--as-of", "2025-12-31", "--upto-offset", "5") != full


def test_bad_parameters_give_one_clear_line_not_a_traceback(log: str) -> None:
    result = runner.invoke(app, ["state", "--log", log, "--as-of", "next tuesday"])
    assert result.exit_code == 2
    assert "--as-of: 'next tuesday' is not a date or time" in result.output
    assert "Traceback" not in result.output


def test_schema_export(tmp_path: Path) -> None:
    out = hotline("schema", "--out", str(tmp_path))
    assert "facts.schema.json" in out
    assert "call.received" in (tmp_path / "facts.schema.json").read_text()


def test_demo_runs_on_a_fresh_machine_and_every_rule_fires(tmp_path: Path) -> None:
    out = hotline(
        "demo", "--log", str(tmp_path / "demo.db"), "--companies", "30", "--engineers", "300", "--months", "3"
    )
    assert "Every rule fired: 12 of 12" in out
    assert "4 bad lines refused" in out
    assert "Digest of the state" in out
