"""The questions people ask, end to end through the CLI on a log of hand-written facts: is this
subject blacklisted, until when and why (`status`); may this call through, off the record
(`check --dry-run`); the quarterly report per company (`report quarterly`).

The story, on the line's calendar (Asia/Shanghai, +08:00), with every expected value worked out by
hand from RULES.md:

- company C-1; person P-1 holds accounts A-1 and A-2; device BC-1 of customer CUST-1 (C-1's customer),
  under warranty until 2028;
- 2025-02-10 09:30 A-1 calls from 138 0013 8000; case CASE-1 (level L3, response target 2 h) is
  opened at 09:35 and answered at 10:00: the response target is met;
- ACCOUNT-SHARED by A-1 from that number, confirmed 2025-02-12 10:00: account and number blacklisted
  for 3 months, until 2025-05-12 10:00;
- ACCOUNT-LEAKED by A-1 from that number, confirmed 2025-03-03 10:00: 6 months, until 2025-09-03 10:00.
  The union of the two periods runs from 2025-02-12 10:00 to 2025-09-03 10:00 (02:00 UTC).

2025Q1 for C-1: 1 call, 1 case, response 1 met (attainment 1.0), 2 violations, 4 penalties (account
and number for each), 1 unit under warranty at the quarter's end, below every priority threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from storage.log import EmbeddedLog

runner = CliRunner()

FACTS = [
    {"type": "company.registered", "id": "f-01", "at": "2025-01-02T09:00:00+08:00", "company_id": "C-1",
     "name": "Acme"},
    {"type": "account.opened", "id": "f-02", "at": "2025-01-02T10:00:00+08:00", "account_id": "A-1",
     "company_id": "C-1", "person_id": "P-1"},
    {"type": "account.opened", "id": "f-03", "at": "2025-01-02T10:05:00+08:00", "account_id": "A-2",
     "company_id": "C-1", "person_id": "P-1"},
    {"type": "device.installed", "id": "f-04", "at": "2025-01-03T09:00:00+08:00", "barcode": "BC-1",
     "product_model": "ST-1", "product_line": "storage", "customer_id": "CUST-1", "site_id": "S-1",
     "warranty_end": "2028-01-03T00:00:00+08:00"},
    {"type": "customer.assigned", "id": "f-05", "at": "2025-01-03T09:30:00+08:00", "customer_id": "CUST-1",
     "company_id": "C-1"},
    {"type": "call.received", "id": "CALL-1", "at": "2025-02-10T09:30:00+08:00", "account_id": "A-1",
     "number": "13800138000", "barcode": "BC-1", "stated_model": "ST-1", "stated_site": "S-1",
     "problem": "pool offline", "case_id": "CASE-1"},
    {"type": "case.opened", "id": "f-06", "at": "2025-02-10T09:35:00+08:00", "case_id": "CASE-1",
     "call_id": "CALL-1", "account_id": "A-1", "barcode": "BC-1", "fault_level": "L3"},
    {"type": "case.responded", "id": "f-07", "at": "2025-02-10T10:00:00+08:00", "case_id": "CASE-1"},
    {"type": "violation.reported", "id": "V-1", "at": "2025-02-11T10:00:00+08:00", "rule": "ACCOUNT-SHARED",
     "account_id": "A-1", "number": "13800138000"},
    {"type": "violation.confirmed", "id": "f-08", "at": "2025-02-12T10:00:00+08:00", "violation_id": "V-1"},
    {"type": "violation.reported", "id": "V-2", "at": "2025-03-01T10:00:00+08:00", "rule": "ACCOUNT-LEAKED",
     "account_id": "A-1", "number": "13800138000"},
    {"type": "violation.confirmed", "id": "f-09", "at": "2025-03-03T10:00:00+08:00", "violation_id": "V-2"},
]  # fmt: skip


def hotline(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def log(tmp_path: Path) -> str:
    facts = tmp_path / "story.jsonl"
    facts.write_text("".join(json.dumps({**f, "source": "test"}) + "\n" for f in FACTS))
    path = str(tmp_path / "hotline.db")
    assert "12 facts appended, 0 already on the log, 0 rejected" in hotline(
        "ingest", str(facts), "--log", path
    )
    return path


# --- status ----------------------------------------------------------------------------------------


def test_status_gives_the_end_of_the_union_why_and_what_lifts_it(log: str) -> None:
    out = hotline("status", "account", "A-1", "--log", log, "--as-of", "2025-04-01")
    assert "account A-1: blacklisted until 2025-09-03 10:00 +08:00" in out
    assert "V-1/account from 2025-02-12 10:00 +08:00 until 2025-05-12 10:00 +08:00" in out
    assert "V-2/account from 2025-03-03 10:00 +08:00 until 2025-09-03 10:00 +08:00" in out
    assert "policy 3.0" in out
    assert "lifted by: time, at 2025-09-03 10:00 +08:00" in out
    assert "staff annulling V-1, V-2" in out


def test_status_json_of_a_number_under_another_spelling(log: str) -> None:
    answer = json.loads(
        hotline("status", "number", "+86 138-0013-8000", "--log", log, "--as-of", "2025-04-01", "--json")
    )
    assert (answer["subject"], answer["blacklisted"], answer["until"]) == (
        "+8613800138000",
        True,
        "2025-09-03T02:00:00Z",
    )
    assert [r["rule"] for r in answer["reasons"]] == ["ACCOUNT-SHARED", "ACCOUNT-LEAKED"]


def test_expired_penalties_do_not_read_as_blacklisted(log: str) -> None:
    # no --as-of: now, long after 2025-09-03
    assert "account A-1: not blacklisted" in hotline("status", "account", "A-1", "--log", log)
    assert "not blacklisted" in hotline(
        "status", "account", "A-1", "--log", log, "--as-of", "2025-09-03T10:00"
    )
    out = hotline("explain", "account", "A-1", "--log", log)
    assert "account A-1 — not blacklisted" in out
    assert "(expired, policy 3.0)" in out


def test_status_of_a_person_lists_their_accounts_and_numbers(log: str) -> None:
    out = hotline("status", "person", "P-1", "--log", log, "--as-of", "2025-06-01")
    assert "person P-1: blacklisted" in out
    assert "account A-1: blacklisted until 2025-09-03 10:00 +08:00" in out
    assert "account A-2: not blacklisted" in out
    assert "number +86 138 0013 8000: blacklisted until 2025-09-03 10:00 +08:00" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("number", "138-abc"), "ID '138-abc': not a phone number"),
        (("account", "A-404"), "ID 'A-404': no account of that id on the log"),
        (("company", "A\x1b[2J"), "ID 'A\\x1b[2J': an id is one printable line"),
    ],
)
def test_a_bad_id_is_one_line_naming_the_argument(log: str, args: tuple[str, str], says: str) -> None:
    out = hotline("status", *args, "--log", log, code=2)
    assert says in out
    assert len(out.strip().splitlines()) == 1


def test_state_counts_subjects_not_entries(log: str) -> None:
    # A-1 and its number each carry two entries in force on 2025-04-01: one account, one number
    out = hotline("state", "--log", log, "--as-of", "2025-04-01")
    assert "Blacklisted now: 1 accounts, 1 numbers, 0 companies" in out
    assert "dates Asia/Shanghai" in out


# --- check --dry-run -------------------------------------------------------------------------------

CALL = (
    "--account",
    "A-1",
    "--number",
    "13800138000",
    "--barcode",
    "BC-1",
    "--model",
    "ST-1",
    "--site",
    "S-1",
)


def test_check_dry_run_answers_without_recording(log: str) -> None:
    out = hotline("check", *CALL, "--at", "2025-04-01T10:00+08:00", "--dry-run", "--log", log)
    assert "REFUSED" in out and "account-blacklisted" in out
    assert "not recorded" in out
    assert "at 2025-04-01 10:00 +08:00" in out  # a time always carries its zone
    as_json = json.loads(
        hotline("check", *CALL, "--at", "2025-04-01T10:00", "--dry-run", "--json", "--log", log)
    )
    assert as_json["recorded"] is False and as_json["admitted"] is False
    assert list(EmbeddedLog(Path(log)).decisions()) == []
    hotline("check", *CALL, "--at", "2025-04-01T10:00", "--log", log)  # without it: recorded
    assert len(list(EmbeddedLog(Path(log)).decisions())) == 1


# --- report quarterly ------------------------------------------------------------------------------

HEADER = (
    "company_id,quarter,calls,cases,response_met,response_breached,response_open,response_attainment,"
    "resolution_met,resolution_breached,resolution_open,violations,violations_by_rule,penalties,"
    "units_in_warranty,priority_tier"
)


def test_quarterly_csv_by_hand_and_the_same_bytes_on_two_runs(log: str, tmp_path: Path) -> None:
    first, second = tmp_path / "q1-a.csv", tmp_path / "q1-b.csv"
    for out in (first, second):
        hotline(
            "report", "quarterly", "--quarter", "2025Q1", "--format", "csv", "--out", str(out), "--log", log
        )
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().splitlines() == [
        HEADER,
        "C-1,2025Q1,1,1,1,0,0,1.0,0,0,0,2,ACCOUNT-LEAKED=1;ACCOUNT-SHARED=1,4,1,",
    ]


def test_quarterly_json_for_one_company_and_an_empty_quarter(log: str) -> None:
    [row] = json.loads(
        hotline(
            "report", "quarterly", "--quarter", "2025Q2", "--company", "C-1", "--format", "json", "--log", log
        )
    )
    # nothing happened in Q2 but the penalties running on: no call, no case, no new violation
    assert (row["calls"], row["cases"], row["violations"], row["penalties"]) == (0, 0, 0, 0)
    assert row["response_attainment"] is None and row["units_in_warranty"] == 1


def test_quarterly_refuses_a_bad_quarter_and_an_unknown_company(log: str) -> None:
    assert "--quarter '2025Q5'" in hotline("report", "quarterly", "--quarter", "2025Q5", "--log", log, code=2)
    out = hotline("report", "quarterly", "--quarter", "2025Q1", "--company", "C-9", "--log", log, code=2)
    assert "--company 'C-9'" in out
