"""Bad input at the edge: a clear error per line (line, field, reason), and nothing valid is lost."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from producers.ingest import ingest_files
from producers.rejects_file import RejectsFile
from producers.validate import NOT_UTF8, Rejection
from storage.log import EmbeddedLog

GOOD = [
    '{"type":"company.registered","id":"co-1","at":"2025-01-01T09:00:00+08:00","source":"crm",'
    '"company_id":"C1","name":"Acme"}',
    '{"type":"account.opened","id":"ac-1","at":"2025-01-01T09:00:00+08:00","source":"crm",'
    '"account_id":"A1","company_id":"C1","person_id":"P1"}',
    '{"type":"call.received","id":"call-1","at":"2025-01-02T09:00:00+08:00","source":"cc","account_id":"A1",'
    '"number":"13800000001","barcode":"NOT-INSTALLED","stated_model":"M","stated_site":"S","problem":"x"}',
]


def ingest(
    tmp_path: Path, lines: list[str], log: EmbeddedLog | None = None
) -> tuple[EmbeddedLog, list[Rejection]]:
    log = log or EmbeddedLog(tmp_path / "log.db")
    source = tmp_path / f"in-{log.count()}.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = ingest_files(log, [source])
    return log, report.rejected


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("{not json", None, "not valid JSON"),
        (
            '{"type":"coffee.ordered","id":"x","at":"2025-01-01T09:00:00+08:00","source":"crm"}',
            "type",
            "unknown fact type 'coffee.ordered'",
        ),
        (
            '{"type":"account.opened","id":"x","at":"2025-01-01T09:00:00+08:00","source":"crm","company_id":"C1",'
            '"person_id":"P1"}',
            "account_id",
            "missing required field",
        ),
        (
            '{"type":"account.opened","id":"x","at":"2025-01-01T09:00:00+08:00","source":"crm","account_id":42,'
            '"company_id":"C1","person_id":"P1"}',
            "account_id",
            "Expected `str`, got `int`",
        ),
        (
            '{"type":"company.registered","id":"x","at":"2025-02-03T09:00:00+08:00","source":"crm",'
            '"company_id":"C9","name":"n","case":"K-1"}',
            "case",
            "unknown field",
        ),
        (
            '{"type":"company.registered","id":"x","at":"2025-02-30T09:00:00+08:00","source":"crm",'
            '"company_id":"C9","name":"n"}',
            "at",
            "not a valid date-time",
        ),
        (
            '{"type":"company.registered","id":"x","at":"2025-02-03T09:00:00","source":"crm",'
            '"company_id":"C9","name":"n"}',
            "at",
            "needs a UTC offset",
        ),
        (
            '{"type":"company.registered","id":"co-1","at":"2025-01-01T09:00:00+08:00","source":"crm",'
            '"company_id":"C1","name":"Someone else"}',
            "id",
            "already used by a different fact",
        ),
        (
            '{"type":"certificate.granted","id":"x","at":"2025-01-01T09:00:00+08:00","source":"crm",'
            '"certificate_id":"CE","account_id":"A-404","product_line":"switch","valid_until":"2027-01-01T00:00:00Z"}',
            "account_id",
            "unknown account 'A-404'",
        ),
        (
            '{"type":"violation.reported","id":"x","at":"2025-01-05T09:00:00+08:00","source":"cc",'
            '"rule":"BARCODE-SWAP-IN-WARRANTY","account_id":"A1","device_barcode":"B-404"}',
            "device_barcode",
            "unknown barcode 'B-404'",
        ),
        (
            '{"type":"call.received","id":"x","at":"2025-01-02T09:00:00+08:00","source":"cc","account_id":"A1",'
            '"number":"13800000001","barcode":"B","stated_model":"M","stated_site":"S","problem":"x",'
            '"ended_at":"2025-01-02T08:00:00+08:00"}',
            "ended_at",
            "ends before it starts",
        ),
    ],
)
def test_a_bad_line_is_refused_with_field_and_reason_and_the_good_lines_land(
    tmp_path: Path, line: str, field: str | None, reason: str
) -> None:
    log, rejected = ingest(tmp_path, [GOOD[0], line, *GOOD[1:]])
    assert [(r.line, r.field) for r in rejected] == [(2, field)]
    assert reason in rejected[0].reason
    assert rejected[0].raw.startswith(line[:20])
    assert log.count() == 3  # every good fact landed, the bad one did not


def test_duplicate_id_with_other_content_against_the_log_is_refused(tmp_path: Path) -> None:
    log, _ = ingest(tmp_path, GOOD)
    changed = GOOD[0].replace("Acme", "Acme Ltd")
    log, rejected = ingest(tmp_path, [changed], log)
    assert [(r.field, r.reason) for r in rejected] == [
        ("id", "id 'co-1' is already used by a different fact")
    ]


def test_resending_the_same_facts_is_harmless(tmp_path: Path) -> None:
    log, _ = ingest(tmp_path, GOOD)
    source = tmp_path / "again.jsonl"
    source.write_text("\n".join(GOOD))
    report = ingest_files(log, [source])
    assert (report.appended, report.duplicates, report.rejected) == (0, 3, [])
    assert log.count() == 3


def test_references_resolve_across_the_whole_batch_whatever_the_line_order(tmp_path: Path) -> None:
    log, rejected = ingest(tmp_path, list(reversed(GOOD)))
    assert rejected == [] and log.count() == 3


def test_rejects_file_lists_each_bad_line(tmp_path: Path) -> None:
    _, rejected = ingest(tmp_path, ["{not json", *GOOD, '{"type":"nope"}'])
    out = tmp_path / "rejects.jsonl"
    with RejectsFile(out, [r.file for r in rejected]) as rejects:
        for rejection in rejected:
            rejects.add(rejection)
    rows = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
    assert [row["line"] for row in rows] == [1, 5]
    assert all(row["reason"] for row in rows)


def test_a_line_that_is_not_utf8_is_refused_alone(tmp_path: Path) -> None:
    source = tmp_path / "latin1.jsonl"
    source.write_bytes(
        GOOD[0].encode() + b"\n" + '{"type":"company.registered","name":"Café"}'.encode("latin-1") + b"\n"
    )
    log = EmbeddedLog(tmp_path / "log.db")
    report = ingest_files(log, [source])
    # Our own reason, whatever the JSON library says about the bytes.
    assert [(r.line, r.field, r.reason) for r in report.rejected] == [(2, None, NOT_UTF8)]
    assert "Caf" in report.rejected[0].raw  # the line is shown, undecodable bytes replaced
    assert report.appended == 1 and log.count() == 1  # the good line is kept


def test_a_refused_fact_introduces_nothing_to_the_rest_of_the_batch(tmp_path: Path) -> None:
    """The account is refused (its company is unknown), so the call that relies on it is refused too."""
    bad_account = GOOD[1].replace('"company_id":"C1"', '"company_id":"C-404"')
    log, rejected = ingest(tmp_path, [bad_account, GOOD[2]])
    assert sorted((r.line, r.field) for r in rejected) == [(1, "company_id"), (2, "account_id")]
    assert log.count() == 0


CRASHERS = [
    # the rating dated 9999 that stopped replay, audit, explain and the worker (issue 7)
    '{"type":"rating.issued","id":"r-9999","at":"9999-03-01T10:00:00+08:00","source":"crm","company_id":"C1",'
    '"product_line":"storage","stars":3}',
    '{"type":"company.registered","id":"co-y1","at":"0001-01-01T00:00:00+08:00","source":"crm",'
    '"company_id":"C-y1","name":"n"}',
    "[" * 5000 + "]" * 5000,
    '{"type":"[/x]","id":"x"}',
    '{"type":"company.registered","id":"co-esc","at":"2025-01-01T09:00:00+08:00","source":"crm",'
    '"company_id":"C\\u001b[2J","name":"n"}',
]


def test_each_crasher_is_refused_on_its_own_line_and_the_good_lines_land(tmp_path: Path) -> None:
    log, rejected = ingest(tmp_path, [GOOD[0], *CRASHERS, GOOD[1], GOOD[2]])
    assert [(r.line, r.field) for r in rejected] == [
        (2, "at"),
        (3, "at"),
        (4, None),
        (5, "type"),
        (6, "company_id"),
    ]
    assert sorted(f.id for f in log.read()) == ["ac-1", "call-1", "co-1"]


def test_the_kafka_producers_parse_through_the_same_checks() -> None:
    """`produce` and `ingest-server` hand their lines to parse_lines through producers.sources.Source."""
    from producers.kafka_producer import _parse_lines
    from producers.sources import Source

    lines = [GOOD[0].encode(), *(line.encode() for line in CRASHERS)]
    parsed, rejected = _parse_lines(Source("http", lines))
    assert [n for n, _ in parsed] == [1]
    assert [(r.line, r.field) for r in rejected] == [
        (2, "at"),
        (3, "at"),
        (4, None),
        (5, "type"),
        (6, "company_id"),
    ]
