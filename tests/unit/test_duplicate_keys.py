"""A key given twice makes a fact that reads two ways (msgspec keeps the last, other readers the first):
the line is refused, naming the key, and the other lines of the batch still land."""

from __future__ import annotations

from producers.validate import TWICE, parse_lines

COMPANY = '"type":"company.registered","at":"2025-01-01T00:00:00+08:00","source":"crm","name":"Acme"'


def test_a_key_given_twice_is_refused_naming_it() -> None:
    lines = [
        f'{{{COMPANY},"id":"co-1","company_id":"C1","company_id":"C2"}}'.encode(),
        f'{{{COMPANY},"id":"co-2","company_id":"C3"}}'.encode(),
    ]
    parsed, rejected = parse_lines(lines, "crm.jsonl")
    assert [fact.company_id for _, fact in parsed] == ["C3"]  # type: ignore[attr-defined]
    assert [(r.line, r.field, r.reason) for r in rejected] == [(1, "company_id", TWICE)]


def test_the_tag_and_spaced_keys_count_too() -> None:
    spaced = (
        '{"type" : "company.registered", "id" : "a", "id" : "b", "at" : "2025-01-01T00:00:00+08:00", '
        '"source" : "crm", "name" : "Acme", "company_id" : "C1"}'
    )
    _, rejected = parse_lines([spaced.encode()], "x")
    assert [r.field for r in rejected] == ["id"]
    tag = f'{{{COMPANY},"type":"company.registered","id":"co-1","company_id":"C1"}}'
    _, rejected = parse_lines([tag.encode()], "x")
    assert [r.field for r in rejected] == ["type"]


def test_a_colon_in_quotes_inside_a_value_is_not_a_key() -> None:
    line = (
        '{"type":"company.registered","at":"2025-01-01T00:00:00+08:00","source":"crm",'
        '"name":"say \\":\\" once","id":"co-1","company_id":"C1"}'
    )
    parsed, rejected = parse_lines([line.encode()], "x")
    assert rejected == [] and parsed[0][1].name == 'say ":" once'  # type: ignore[attr-defined]
