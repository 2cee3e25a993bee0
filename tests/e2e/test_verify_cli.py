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


# --- a signed head (storage/signed_head.py, hotline/signed_heads.py) -------------------------------
def keys(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / f"{name}.key", tmp_path / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def rewrite_consistently(log: Path, offset: int) -> None:
    """Alter one body and recompute every link after it and the recorded head: `verify` alone passes."""
    with sqlite3.connect(log) as db:
        (body,) = db.execute("SELECT body FROM facts WHERE offset = ?", (offset,)).fetchone()
        db.execute("UPDATE facts SET body = ? WHERE offset = ?", (bytes(body) + b" ", offset))
        head = bytes(32)
        for n, body in db.execute("SELECT offset, body FROM facts ORDER BY offset").fetchall():
            head = hashlib.sha256(b"\x01" + head + hashlib.sha256(b"\x00" + body).digest()).digest()
            db.execute("UPDATE facts SET link = ? WHERE offset = ?", (head, n))
        db.execute("UPDATE chain_head SET head = ? WHERE log = 'facts'", (head,))


def test_a_signed_head_holds_for_the_log_and_for_a_longer_one(log: Path, tmp_path: Path) -> None:
    private, public = keys(tmp_path, "auditor")
    statement = tmp_path / "heads.json"
    signed = runner.invoke(
        app, ["verify", "--log", str(log), "--sign", str(private), "--statement", str(statement)]
    )
    assert signed.exit_code == 0, signed.output
    written = json.loads(statement.read_text())
    assert written["heads"]["facts"] == {"records": 26, "end_offset": 26, "head": head_by_hand(log)}
    assert written["heads"]["decisions"] == {"records": 0, "end_offset": 0, "head": "0" * 64}

    more = tmp_path / "more.jsonl"
    more.write_text(
        '{"type":"company.registered","id":"late-co","at":"2025-03-01T09:00:00+08:00","source":"crm",'
        '"company_id":"C-LATE","name":"Late Ltd"}\n'
    )
    assert runner.invoke(app, ["ingest", str(more), "--log", str(log)]).exit_code == 0
    checked = runner.invoke(
        app, ["verify", "--log", str(log), "--against", str(public), "--statement", str(statement)]
    )
    assert checked.exit_code == 0, checked.output
    assert "facts: 27 records checked, end offset 27" in checked.output
    assert "facts: the head signed " in checked.output
    assert "at offset 26 is still the log's (26 records up to it)" in checked.output


def test_a_consistent_rewrite_passes_verify_but_not_the_signed_head(log: Path, tmp_path: Path) -> None:
    private, public = keys(tmp_path, "auditor")
    statement = tmp_path / "heads.json"
    signing = ["verify", "--log", str(log), "--sign", str(private), "--statement", str(statement)]
    assert runner.invoke(app, signing).exit_code == 0
    signed_head = head_by_hand(log)
    rewrite_consistently(log, 9)
    assert runner.invoke(app, ["verify", "--log", str(log)]).exit_code == 0  # the chain alone fits
    checked = runner.invoke(
        app, ["verify", "--log", str(log), "--against", str(public), "--statement", str(statement)]
    )
    assert checked.exit_code == TAMPERED
    (line,) = [x for x in checked.output.splitlines() if x.startswith("tampered:")]
    assert line.startswith(
        f"tampered: facts: the record at offset 26 has head {head_by_hand(log)[:16]}… and 26 records up "
        f"to it, not the head {signed_head[:16]}… and 26 records signed "
    )
    assert line.endswith(": the log was rewritten at or before it")


def test_an_altered_statement_or_another_key_is_refused_in_one_line(log: Path, tmp_path: Path) -> None:
    private, public = keys(tmp_path, "auditor")
    _, other = keys(tmp_path, "someone-else")
    statement = tmp_path / "heads.json"
    signing = ["verify", "--log", str(log), "--sign", str(private), "--statement", str(statement)]
    assert runner.invoke(app, signing).exit_code == 0
    checking = ["verify", "--log", str(log), "--statement", str(statement), "--against"]

    wrong_key = runner.invoke(app, [*checking, str(other)])
    assert wrong_key.exit_code == 2 and "not by " in wrong_key.output and "Traceback" not in wrong_key.output

    statement.write_text(statement.read_text().replace('"records": 26', '"records": 25'))
    altered = runner.invoke(app, [*checking, str(public)])
    assert altered.exit_code == 2
    assert "the signature does not match its content (altered?)" in altered.output

    alone = runner.invoke(app, ["verify", "--log", str(log), "--sign", str(private)])
    assert alone.exit_code == 2 and "needs --statement FILE" in alone.output
