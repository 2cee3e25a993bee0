"""A sealed log end to end through the CLI (docs/privacy.md): nothing personal in its files, the same
governance as a clear log, and `hotline forget person` erases a person without changing a decision.

The story (RULES.md, ACCOUNT-SHARED): a1 (person P-1) calls from +86 134 1532 3691 on 31 January;
staff confirm the report on 1 February 10:00, so a1 and the number are blacklisted for three months,
until 1 May 10:00 (+08:00).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from hotline.cli import app
from schemas.codec import fact_to_json
from schemas.facts import AccountOpened, Fact
from tests.unit.builders import account, call, confirm, report, world

E164 = "+8613415323691"
AT = "2025-03-01T10:00"
NOTE = "Engineer Wang Lei admitted lending the account"


def _facts() -> list[bytes]:
    facts: list[Fact] = [
        account("a1", person="P-1") if isinstance(f, AccountOpened) and f.account_id == "a1" else f
        for f in world(("a1", "a2"))
    ]
    facts += [
        call("c1", "2025-01-31T09:00", "a1", number="+86 134 1532 3691", problem="Disk failure"),
        msgspec.structs.replace(
            report("R1", "ACCOUNT-SHARED", "2025-02-01T09:00", "a1", call_id="c1"), note=NOTE
        ),
        confirm("R1", "2025-02-01T10:00"),
    ]
    return [fact_to_json(f) for f in facts]


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def check(log: Path, number: str) -> dict[str, Any]:
    """`hotline check --json`: a2 calls from `number` on 1 March 10:00, BC1 as installed."""
    common = ["--barcode", "BC1", "--model", "M1", "--site", "s1", "--at", AT, "--log", str(log), "--json"]
    return msgspec.json.decode(run("check", "--account", "a2", "--number", number, *common))  # type: ignore[no-any-return]


@pytest.fixture
def sealed(tmp_path: Path) -> Path:
    source = tmp_path / "facts.jsonl"
    source.write_bytes(b"\n".join(_facts()) + b"\n")
    log = tmp_path / "h.db"
    run("ingest", str(source), "--log", str(log), "--seal")
    source.unlink()  # the CRM's export is not the log's to keep
    (tmp_path / "facts.jsonl.rejects.jsonl").unlink(missing_ok=True)
    return log


def _on_disk(log: Path) -> bytes:
    """Every byte of the log and its key store, WAL included."""
    return b"".join(p.read_bytes() for p in sorted(log.parent.glob(f"{log.name}*")))


def test_nothing_personal_is_written_to_the_log_or_the_key_store(sealed: Path) -> None:
    check(sealed, "13415323691")  # its decision, recorded on the log
    raw = _on_disk(sealed)
    for personal in ("3415323691", "134 1532", "P-1", "Wang Lei", "Disk failure"):
        assert personal.encode() not in raw, personal


def test_admission_matches_the_pseudonym_and_shows_the_number(sealed: Path) -> None:
    answer = check(sealed, "0086 134 1532 3691")
    assert [r["code"] for r in answer["reasons"]] == ["number-blacklisted"]
    assert answer["request"]["number"] == E164
    # three months from 1 February 10:00 +08:00, as the clear log says it
    assert (
        answer["reasons"][0]["detail"]
        == f"number {E164} is blacklisted until 2025-05-01 02:00:00+00:00 (R1/number)"
    )


def test_forgetting_the_person_erases_them_and_changes_no_decision(
    sealed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_TOKENS", str(tmp_path / "tokens.db"))
    staff = run("tokens", "create", "--role", "staff", "--name", "dpo").split()[-1]
    reader = run("tokens", "create", "--role", "reader", "--name", "dash").split()[-1]
    before = msgspec.json.decode(run("replay", "--log", str(sealed), "--json"))["digest"]
    shown = run("explain", "number", "134 1532 3691", "--log", str(sealed), "--as-of", AT)
    assert E164 in shown and "blacklisted" in shown

    refused = CliRunner().invoke(
        app, ["forget", "person", "P-1", "--log", str(sealed), "--token", reader, "--yes"]
    )
    assert refused.exit_code == 2 and "staff" in refused.output
    run("forget", "person", "P-1", "--log", str(sealed), "--token", staff, "--yes")

    assert msgspec.json.decode(run("replay", "--log", str(sealed), "--json"))["digest"] == before
    shown = run("explain", "number", "134 1532 3691", "--log", str(sealed), "--as-of", AT)
    assert E164 not in shown and "[erased]" in shown and "blacklisted" in shown
    answer = check(sealed, "13415323691")
    assert [r["code"] for r in answer["reasons"]] == ["number-blacklisted"]  # the penalty still binds
    again = CliRunner().invoke(
        app, ["forget", "person", "P-1", "--log", str(sealed), "--token", staff, "--yes"]
    )
    assert again.exit_code == 2 and "already forgotten" in again.output


def test_a_sealed_log_without_its_key_store_stops_in_one_line(sealed: Path) -> None:
    Path(f"{sealed}.keys").rename(sealed.parent / "elsewhere.keys")
    result = CliRunner().invoke(app, ["state", "--log", str(sealed)])
    assert result.exit_code == 2
    assert "sealed" in result.output and "no key store" in result.output and "Traceback" not in result.output


def test_a_clear_log_cannot_be_sealed_afterwards(tmp_path: Path) -> None:
    source = tmp_path / "facts.jsonl"
    source.write_bytes(b"\n".join(_facts()) + b"\n")
    run("ingest", str(source), "--log", str(tmp_path / "clear.db"))
    result = CliRunner().invoke(app, ["ingest", str(source), "--log", str(tmp_path / "clear.db"), "--seal"])
    assert result.exit_code == 2 and "already holds clear facts" in result.output


def test_a_sender_may_not_set_the_sealed_field(sealed: Path, tmp_path: Path) -> None:
    forged = tmp_path / "forged.jsonl"
    line = msgspec.json.decode(fact_to_json(call("c9", "2025-02-05T09:00", "a2")))
    forged.write_bytes(msgspec.json.encode(line | {"sealed": "v1.x.y"}) + b"\n")
    result = CliRunner().invoke(app, ["ingest", str(forged), "--log", str(sealed)])
    assert result.exit_code == 3
    assert "field sealed" in result.output and "never by a sender" in result.output
