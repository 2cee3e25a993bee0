"""Fuzzing the line parser: whatever the bytes, `parse_lines` never raises, and every non-blank line
is either parsed or refused, with its line number, never both and never lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.event_time import EventTimeBounds
from producers.validate import parse_lines

RECEIVED = datetime(2026, 12, 2, tzinfo=UTC)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TYPES = ["company.registered", "account.opened", "call.received", "certificate.granted", "[/x]", ""]
FIELDS = ["id", "at", "source", "company_id", "name", "account_id", "number", "valid_until", "ended_at", "v"]
TIMES = st.sampled_from(
    ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "2025-03-01T09:00:00+08:00",
     "1999-12-31T23:59:59Z", "2026-12-03T00:00:01Z", "2025-02-30T10:00:00Z", "9999-03-01T10:00:00+08:00"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20), TIMES
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FACTISH = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES)},
    optional={name: st.one_of(JSONISH, TIMES, st.text(max_size=12)) for name in FIELDS},
)


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def check(lines: list[bytes]) -> None:
    parsed, rejected = parse_lines(lines, "fuzz", RECEIVED, EventTimeBounds())
    expected = {n for n, line in enumerate(lines, 1) if line.strip()}
    landed = [n for n, _ in parsed]
    refused = {r.line for r in rejected}
    assert len(landed) == len(set(landed))
    assert set(landed) | refused == expected
    assert not set(landed) & refused
    assert all(r.reason and r.file == "fuzz" for r in rejected)
    assert not [r for r in rejected if "could not be checked" in r.reason]  # the last resort stays unused


@FUZZ
@given(st.lists(st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" ")), max_size=8))
def test_arbitrary_bytes_never_raise(lines: list[bytes]) -> None:
    check(lines)


@FUZZ
@given(st.lists(st.one_of(FACTISH, JSONISH).map(lambda o: json.dumps(o).encode()), max_size=8))
def test_arbitrary_json_and_fact_like_objects_never_raise(lines: list[bytes]) -> None:
    check(lines)


@FUZZ
@given(st.lists(st.sampled_from([deep(70), deep(5000), b'{"a":' * 3000, b"\xff\xfe{}", b"  "]), max_size=6))
def test_hostile_shapes_never_raise(lines: list[bytes]) -> None:
    check(lines)
