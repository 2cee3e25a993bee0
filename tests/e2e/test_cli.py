"""The `hotline` CLI end to end on an embedded log: what a newcomer and an operator type."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
EXAMPLE_FACTS = sum(1 for line in EXAMPLES.read_text().splitlines() if line.strip())
runner = CliRunner()


def hotline(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def log(tmp_path: Path) -> str:
    path = str(tmp_path / "hotline.db")
    out = hotline("ingest", str(EXAMPLES), "--log", path)
    assert f"{EXAMPLE_FACTS} facts appended, 0 already on the log, 0 rejected" in out
    return path


def test_ingest_reports_each_bad_line_writes_rejects_and_keeps_the_rest(tmp_path: Path, log: str) -> None:
    source = tmp_path / "mixed.jsonl"
    good = (
        '{"type":"company.registered","id":"co-2","at":"2025-03-01T09:00:00+08:00","source":"crm",'
        '"company_id":"C-2","name":"Beta"}'
    )
    source.write_text("{oops\n" + good + "\n" + '{"type":"company.registered","id":"x"}\n')
    out = hotline("ingest", str(source), "--log", log, code=3)  # 3: some lines were refused
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


# --- operator mistakes: one line, a non-zero exit, never a stack trace (issue 7) ---------------------


def mistake(*args: str, code: int = 2) -> str:
    """Run a command that must fail with `code` and exactly one line of error, no trace."""
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_read_command_refuses_a_log_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "misspelt.db"
    for command in (["state"], ["explain", "account", "A-1"], ["replay"], ["audit"]):
        assert "no such log" in mistake(*command, "--log", str(missing))
    check = ["check", "--account", "A", "--number", "13912345678", "--barcode", "B", "--model", "M"]
    assert "no such log" in mistake(*check, "--site", "S", "--log", str(missing))
    assert not missing.exists()  # a read never creates a log


@pytest.mark.parametrize("kind", ["not sqlite", "truncated", "directory", "/dev/null"])
def test_a_log_that_is_not_a_log_is_one_line(tmp_path: Path, log: str, kind: str) -> None:
    runner.invoke(app, ["replay", "--log", log])  # leaves the log's content in its main file
    target = tmp_path / "bad.db"
    if kind == "not sqlite":
        target.write_text("call,number\n1,13912345678\n" * 200)
    elif kind == "truncated":
        target.write_bytes(Path(log).read_bytes()[:6000])
    elif kind == "directory":
        target.mkdir()
    else:
        target = Path("/dev/null")
    for command in ("state", "replay", "audit"):
        assert str(target) in mistake(command, "--log", str(target))


def test_offsets_and_times_out_of_range_name_the_option(log: str) -> None:
    result = runner.invoke(app, ["state", "--log", log, "--upto-offset", str(2**70)])
    assert result.exit_code == 2 and "--upto-offset" in result.output and "Traceback" not in result.output
    assert "--as-of" in mistake("state", "--log", log, "--as-of", "0001-01-01")
    assert "--as-of" in mistake("replay", "--log", log, "--as-of", "0001-01-01T00:00:00+08:00")


@pytest.mark.parametrize(
    "pack",
    [b'version = "3.1"\nrules = [', "version = 'ü'".encode("latin-1"), b"\xff\xfe\x00v\x00"],
    ids=["invalid TOML", "latin-1", "UTF-16"],
)
def test_a_policy_that_cannot_be_read_is_one_line(tmp_path: Path, log: str, pack: bytes) -> None:
    path = tmp_path / "pack.toml"
    path.write_bytes(pack)
    assert "pack.toml" in mistake("state", "--log", log, "--policy", str(path))


def test_a_policy_with_an_unknown_time_zone_is_one_line(tmp_path: Path, log: str) -> None:
    shipped = (Path(__file__).parents[2] / "domain" / "policies" / "3.0.toml").read_text()
    assert "Asia/Shanghai" in shipped
    path = tmp_path / "mars.toml"
    path.write_text(shipped.replace("Asia/Shanghai", "Mars/Olympus_Mons"))
    assert "mars.toml" in mistake("state", "--log", log, "--policy", str(path))


def test_check_names_the_option_at_fault(log: str) -> None:
    base = ["check", "--log", log, "--barcode", "B", "--model", "M", "--site", "S"]
    assert mistake(*base, "--account", "A-1", "--number", "not a number").startswith("error: --number:")
    line = mistake(*base, "--account", "A-1\x1b[2J", "--number", "13912345678")
    assert line.startswith("error: --account:") and "\x1b" not in line
    assert "--at" in mistake(*base, "--account", "A-1", "--number", "13912345678", "--at", "soon")


def test_ids_with_markup_or_escapes_never_crash_nor_reach_the_terminal(tmp_path: Path, log: str) -> None:
    source = tmp_path / "hostile.jsonl"
    company = (
        '{{"type":"company.registered","id":"{id}","at":"2025-03-01T09:00:00+08:00","source":"crm",'
        '"company_id":"{company}","name":"{name}"}}\n'
    )
    source.write_text(
        company.format(id="co-[/]", company="C[/]1", name="[bold]x[/]")
        + company.format(id="co-esc", company="C\\u001b[31m", name="n")
        + '{"type":"[/x]","id":"t"}\n'
    )
    out = hotline("ingest", str(source), "--log", log, code=3)
    assert "1 facts appended, 0 already on the log, 2 rejected" in out
    assert "hostile.jsonl:2 field company_id" in out and "hostile.jsonl:3 field type" in out
    assert "[/x]" in out
    assert "[/]" in hotline("explain", "company", "C[/]1", "--log", log)
    hotline("state", "--log", log)
    decision = hotline(
        "check", "--log", log, "--account", "A[/]", "--number", "13912345678", "--barcode", "[/b]",
        "--model", "[/]", "--site", "S", "--at", "2025-03-20T10:00:00+08:00",
    )  # fmt: skip
    assert "REFUSED" in decision and "A[/]" in decision
    out = hotline("explain", "account", "\x1b]0;pwned\x07[/]", "--log", log)
    assert "\x1b" not in out and "\x07" not in out and "[/]" in out


def test_ingest_refuses_a_bad_bound_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_MAX_SKEW", "a while")
    assert "HOTLINE_MAX_SKEW" in mistake("ingest", str(EXAMPLES), "--log", str(tmp_path / "x.db"))


def test_no_broker_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.tokens import tokens

    monkeypatch.setenv("HOTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # nothing listens on port 1
    monkeypatch.setenv("HOTLINE_TOKENS", str(tmp_path / "tokens.db"))
    assert runner.invoke(tokens, ["create", "--role", "reader"]).exit_code == 0
    assert "127.0.0.1:1" in mistake("replay", "--from-kafka")
    assert "127.0.0.1:1" in mistake("serve", "--port", "0")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="runs the CLI as nobody")
def test_a_read_only_log_is_read_and_refuses_writes_in_one_line(tmp_path: Path) -> None:
    """As `nobody`, on a log and a directory it may not write: reads work, a write says so in one line."""
    cli = str(Path(sys.executable).parent / "hotline")
    log = str(tmp_path / "hotline.db")  # written by a process that ends: no write-ahead file is left
    assert subprocess.run([cli, "ingest", str(EXAMPLES), "--log", log], capture_output=True).returncode == 0
    shared = Path(tempfile.mkdtemp(prefix="hotline-ro-"))
    try:
        shared.chmod(0o755)
        ro = shared / "log.db"
        shutil.copy(log, ro)
        ro.chmod(0o644)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", cli]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*nobody, *args, "--log", str(ro)], capture_output=True, text=True, cwd=shared
            )

        mine = subprocess.run(
            [cli, "replay", "--log", log, "--as-of", "2025-12-31"], capture_output=True, text=True
        )
        theirs = run("replay", "--as-of", "2025-12-31")
        assert theirs.returncode == 0, theirs.stderr
        assert re.findall(r"digest \w+", theirs.stdout) == re.findall(r"digest \w+", mine.stdout)
        assert run("state").returncode == 0
        written = run("ingest", str(EXAMPLES))
        errors = [line for line in written.stderr.splitlines() if line.startswith("error:")]
        assert written.returncode == 2 and len(errors) == 1 and "Traceback" not in written.stderr
    finally:
        shutil.rmtree(shared)
