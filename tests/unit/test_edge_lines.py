"""Every line lands or is refused on its own, with field and reason: event-time bounds, dates out of
range, deep nesting, control characters in keys (RULES.md: "Facts from the far future are refused")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from producers.event_time import BoundsError, EventTimeBounds
from producers.validate import parse_lines

RECEIVED = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
COMPANY = (
    '{{"type":"company.registered","id":"{id}","at":"{at}","source":"crm","company_id":"{company}",'
    '"name":"{name}"}}'
)


def company(
    at: str = "2025-03-01T09:00:00+08:00", id: str = "co-1", company: str = "C1", name: str = "n"
) -> bytes:
    return COMPANY.format(at=at, id=id, company=company, name=name).encode()


def certificate(at: str, valid_until: str) -> bytes:
    return json.dumps(
        {"type": "certificate.granted", "id": "ce-1", "at": at, "source": "crm", "certificate_id": "CE1",
         "account_id": "A1", "product_line": "storage", "valid_until": valid_until}
    ).encode()  # fmt: skip


def call(at: str, ended_at: str) -> bytes:
    return json.dumps(
        {"type": "call.received", "id": "call-1", "at": at, "ended_at": ended_at, "source": "cc",
         "account_id": "A1", "number": "13800000001", "barcode": "B", "stated_model": "M",
         "stated_site": "S", "problem": "x"}
    ).encode()  # fmt: skip


def refused(line: bytes, bounds: EventTimeBounds | None = None) -> list[tuple[str | None, str]]:
    good = company(id="co-good", company="C-good")
    parsed, rejected = parse_lines([good, line, good], "f", RECEIVED, bounds or EventTimeBounds())
    landed = [n for n, _ in parsed]
    assert landed == ([1, 3] if rejected else [1, 2, 3])  # the good lines around it land
    assert {r.line for r in rejected} <= {2}
    return [(r.field, r.reason) for r in rejected]


def fields(line: bytes, bounds: EventTimeBounds | None = None) -> list[str | None]:
    return [field for field, _ in refused(line, bounds)]


# --- the future: one day of skew by default --------------------------------------------------------


def test_a_fact_up_to_one_day_after_reception_lands() -> None:
    assert fields(company(at="2026-12-03T12:00:00Z")) == []  # exactly received + 1 day
    assert fields(company(at="2026-12-03T20:00:00+08:00")) == []  # the same instant at +08:00


def test_a_fact_more_than_one_day_after_reception_is_refused_naming_at() -> None:
    [(field, reason)] = refused(company(at="2026-12-03T12:00:01Z"))
    assert field == "at" and "future" in reason
    assert fields(company(at="9999-03-01T10:00:00+08:00")) == ["at"]  # the rating that stopped the fold


def test_the_skew_is_configurable() -> None:
    hour = EventTimeBounds(max_skew=timedelta(hours=1))
    assert fields(company(at="2026-12-02T13:00:00Z"), hour) == []
    assert fields(company(at="2026-12-02T13:00:01Z"), hour) == ["at"]


def test_a_call_that_ends_in_the_far_future_is_refused_naming_ended_at() -> None:
    assert fields(call("2025-03-01T09:00:00Z", "2025-03-01T09:30:00Z")) == []
    assert fields(call("2025-03-01T09:00:00Z", "9999-01-01T00:00:00Z")) == ["ended_at"]


# --- the past: before the epoch (2000-01-01T00:00:00Z by default) ----------------------------------


def test_a_fact_before_the_epoch_is_refused_naming_at() -> None:
    assert fields(company(at="2000-01-01T00:00:00Z")) == []
    [(field, reason)] = refused(company(at="1999-12-31T23:59:59Z"))
    assert field == "at" and "epoch" in reason
    assert fields(company(at="2000-01-01T07:59:59+08:00")) == ["at"]  # 1999-12-31T23:59:59Z
    later = EventTimeBounds(epoch=datetime(2020, 1, 1, tzinfo=UTC))
    assert fields(company(at="2019-12-31T23:59:59Z"), later) == ["at"]


# --- ends announced in the future: at most a century after `at` ------------------------------------


def test_an_end_a_century_after_at_is_refused_but_a_long_warranty_lands() -> None:
    assert fields(certificate("2025-01-01T00:00:00Z", "2045-01-01T00:00:00Z")) == []
    assert fields(certificate("2025-01-01T00:00:00Z", "9999-01-01T00:00:00Z")) == ["valid_until"]


# --- the crashers of issue 7 -------------------------------------------------------------------------


def test_a_date_without_a_utc_equivalent_is_refused_naming_its_field() -> None:
    [(field, reason)] = refused(company(at="0001-01-01T00:00:00+08:00"))  # before year 1 in UTC
    assert field == "at" and "range" in reason
    assert fields(company(at="9999-12-31T23:00:00-08:00")) == ["at"]  # after year 9999 in UTC
    assert fields(certificate("2025-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00")) == ["valid_until"]


def test_json_nested_5000_deep_is_refused_whole() -> None:
    [(field, reason)] = refused(b"[" * 5000 + b"]" * 5000)
    assert field is None and "nested" in reason
    assert fields(b'{"type":' + b"{" * 5000) == [None]  # unbalanced too
    assert fields(company(name="[[[[" * 100)) == []  # brackets inside a string are text


def test_a_type_that_is_rich_markup_is_refused_naming_type() -> None:
    assert fields(b'{"type":"[/x]","id":"x"}') == ["type"]


@pytest.mark.parametrize("key", ["C\\n1", "C1\\n", "C\\u001b[31m1", "C\\u0085", "C\\u0000", "\\t"])
def test_a_key_with_a_control_character_is_refused(key: str) -> None:
    assert fields(company(company=key)) == ["company_id"]
    assert fields(company(id=key)) == ["id"]


def test_free_text_may_hold_newlines_and_keys_may_hold_markup() -> None:
    assert fields(company(name="line one\\nline two", company="C[/]1")) == []


# --- configuration ------------------------------------------------------------------------------------


def test_the_bounds_are_read_from_the_environment() -> None:
    assert EventTimeBounds.from_env({}) == EventTimeBounds(
        datetime(2000, 1, 1, tzinfo=UTC), timedelta(days=1)
    )
    env = {"HOTLINE_MAX_SKEW": "PT36H", "HOTLINE_EPOCH": "2010-06-01"}
    assert EventTimeBounds.from_env(env) == EventTimeBounds(
        datetime(2010, 6, 1, tzinfo=UTC), timedelta(hours=36)
    )
    assert EventTimeBounds.from_env({"HOTLINE_MAX_SKEW": "600"}).max_skew == timedelta(minutes=10)
    assert EventTimeBounds.from_env({"HOTLINE_MAX_SKEW": "P2DT1H"}).max_skew == timedelta(days=2, hours=1)
    epoch = EventTimeBounds.from_env({"HOTLINE_EPOCH": "2010-06-01T08:00:00+08:00"}).epoch
    assert epoch == datetime(2010, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "value"),
    [("HOTLINE_MAX_SKEW", "a day"), ("HOTLINE_MAX_SKEW", "P"), ("HOTLINE_MAX_SKEW", "-5"),
     ("HOTLINE_MAX_SKEW", "9" * 30), ("HOTLINE_EPOCH", "last year")],
)  # fmt: skip
def test_a_bound_that_cannot_be_read_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(BoundsError, match=name):
        EventTimeBounds.from_env({name: value})


def test_received_defaults_to_the_wall_clock() -> None:
    tomorrow = datetime.now(UTC) + timedelta(hours=23)
    far = datetime.now(UTC) + timedelta(days=2)
    lines = [company(at=t.isoformat(), id=f"co-{i}") for i, t in enumerate((tomorrow, far))]
    parsed, rejected = parse_lines(lines, "f", bounds=EventTimeBounds())
    assert [n for n, _ in parsed] == [1] and [(r.line, r.field) for r in rejected] == [(2, "at")]
