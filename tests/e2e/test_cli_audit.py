"""`hotline audit` and `hotline whatif` on the documented example facts (docs/examples/facts.jsonl).

Expected values by hand from RULES.md and the 3.0 pack: CALL-1001's barcode mismatch is confirmed on
2025-03-04; the codes were not provided by the deadline, 2025-03-06 15:00 +08:00 (07:00 UTC), so the
account and the number are blacklisted from then for 6 months, until 2025-09-06 07:00 UTC. The number's
penalty is lifted on 2025-04-01 09:00 +08:00 (01:00 UTC) by the facts that follow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
SHIPPED = Path(__file__).parents[2] / "domain" / "policies" / "3.0.toml"


def hotline(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def log(tmp_path: Path) -> str:
    """The examples in two parts, with an admission check recorded between them (before the
    violation was confirmed) and one after them."""
    lines = EXAMPLES.read_text().splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:10]))
    rest.write_text("".join(lines[10:]))
    path = str(tmp_path / "audit.db")
    hotline("ingest", str(first), "--log", path)
    call = ["--account", "A-1001", "--number", "13800138000", "--barcode", "210235A1B2C3"]
    call += ["--model", "ST-5310", "--site", "SITE-77-SH-01"]
    assert "ADMITTED" in hotline("check", *call, "--at", "2025-03-10T10:00+08:00", "--log", path)
    hotline("ingest", str(rest), "--log", path)
    assert "REFUSED" in hotline("check", *call, "--at", "2025-07-01T10:00+08:00", "--log", path)
    return path


def draft(tmp_path: Path, effective_from: str, months: int) -> Path:
    """The shipped pack as version 3.1 with another BARCODE-MISMATCH engineer term."""
    text = SHIPPED.read_text().replace(
        'version = "3.0"', f'version = "3.1"\neffective_from = {effective_from}'
    )
    text, n = re.subn(
        r"(\[rules\.BARCODE-MISMATCH\][^\[]*?engineer_months = )6", rf"\g<1>{months}", text, count=1
    )
    assert n == 1
    path = tmp_path / "draft.toml"
    path.write_text(text)
    return path


def test_audit_shows_todays_answer_beside_the_recorded_one(log: str) -> None:
    report = json.loads(hotline("audit", "--log", log, "--json"))
    assert report["decisions"] == 2
    [row] = report["would_differ"]  # the 2025-07-01 refusal still stands; the 2025-03-10 one does not
    assert row["decision"]["at"] == "2025-03-10T02:00:00Z" and row["decision"]["admitted"] is True
    assert row["now_admitted"] is False
    assert [r["code"] for r in row["now_reasons"]] == ["account-blacklisted", "number-blacklisted"]
    text = hotline("audit", "--log", log)
    assert "2 decisions recorded; 1 would differ" in text and "now: refused" in text


def test_whatif_from_before_the_confirmation_changes_the_terms(log: str, tmp_path: Path) -> None:
    pack = draft(tmp_path, "2025-03-01T00:00:00+08:00", 3)
    out = json.loads(hotline("whatif", "--policy", str(pack), "--log", log, "--json"))
    changed = {c["penalty_id"]: c for c in out["differences"]["changed"]}
    assert set(changed) == {"barcode-mismatch:CALL-1001/account", "barcode-mismatch:CALL-1001/number"}
    account = changed["barcode-mismatch:CALL-1001/account"]
    assert account["recorded"]["until"] == "2025-09-06T07:00:00Z"
    assert account["recorded"]["policy_version"] == "3.0"
    assert account["draft"]["start"] == "2025-03-06T07:00:00Z"
    assert account["draft"]["until"] == "2025-06-06T07:00:00Z"
    assert account["draft"]["policy_version"].startswith("3.1+sha256:")
    assert out["differences"]["added"] == [] and out["differences"]["removed"] == []
    # the 2025-07-01 refusal: under the draft the account's 3 months ended on 2025-06-06; the failed
    # exam of 2025-03-20 still leaves no valid storage certificate, so the call is refused for that alone
    [decision] = out["decisions"]
    assert decision["decision"]["at"] == "2025-07-01T02:00:00Z"
    assert [r["code"] for r in decision["recorded_reasons"]] == ["account-blacklisted", "no-certificate"]
    assert [r["code"] for r in decision["draft_reasons"]] == ["no-certificate"]


def test_whatif_after_the_confirmation_changes_nothing(log: str, tmp_path: Path) -> None:
    """A version takes effect from its date: the violation was confirmed under 3.0 and keeps its terms."""
    pack = draft(tmp_path, "2025-04-01T00:00:00+08:00", 3)
    out = json.loads(hotline("whatif", "--policy", str(pack), "--log", log, "--json"))
    diff = out["differences"]
    assert diff["added"] == diff["removed"] == diff["changed"] == diff["companies"] == []
    assert out["decisions"] == []
    text = hotline("whatif", "--policy", str(pack), "--log", log)
    assert "0 added, 0 removed, 0 changed" in text and "nothing written" in text


def test_whatif_writes_nothing(log: str, tmp_path: Path) -> None:
    before = hotline("replay", "--log", log).splitlines()[-1]
    hotline("whatif", "--policy", str(draft(tmp_path, "2025-03-01T00:00:00+08:00", 3)), "--log", log)
    assert hotline("replay", "--log", log).splitlines()[-1] == before


def test_audit_refuses_one_offset_for_a_topic_in_one_line(log: str) -> None:
    result = runner.invoke(app, ["audit", "--from-kafka", "--upto-offset", "5"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("error: --upto-offset: a topic has one offset per partition")


def test_a_bad_draft_is_one_line(log: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "3.1"\nnot toml = =\n')
    result = runner.invoke(app, ["whatif", "--policy", str(bad), "--log", log])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.toml" in lines[0]
