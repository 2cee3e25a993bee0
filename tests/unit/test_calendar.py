"""Calendar arithmetic (RULES.md: calendar months clamped to month end, Asia/Shanghai; "within one year"
is strict), directly and through the company counter."""

from __future__ import annotations

from datetime import UTC

import pytest

from domain.calendar import add_months, within_one_year

from .builders import NUMBER, POLICY, confirm, fold, report, t, world

TZ = POLICY.tz


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-01-31T10:00", 1, "2025-02-28T10:00"),
        ("2025-01-31T10:00", 3, "2025-04-30T10:00"),
        ("2025-01-31T10:00", 6, "2025-07-31T10:00"),
        ("2024-01-31T10:00", 1, "2024-02-29T10:00"),  # leap year
        ("2024-01-31T10:00", 3, "2024-04-30T10:00"),
        ("2025-08-31T10:00", 6, "2026-02-28T10:00"),
        ("2025-08-31T10:00", 3, "2025-11-30T10:00"),
        ("2024-02-29T10:00", 12, "2025-02-28T10:00"),
        ("2025-03-01T10:00", 12, "2026-03-01T10:00"),
        ("2025-01-15T10:00", 1, "2025-02-15T10:00"),
        ("2025-11-30T10:00", 3, "2026-02-28T10:00"),  # across the year end
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(t(start), months, TZ) == t(expected)


def test_add_months_counts_on_the_shanghai_calendar_not_utc():
    # 31 Jan 01:00 in Shanghai is still 30 Jan in UTC: the local calendar decides.
    start = t("2025-01-31T01:00")
    assert start.astimezone(UTC).day == 30
    assert add_months(start, 1, TZ) == t("2025-02-28T01:00")
    assert add_months(start, 3, TZ) == t("2025-04-30T01:00")
    # the same instant given in UTC gives the same answer
    assert add_months(start.astimezone(UTC), 1, TZ) == t("2025-02-28T01:00")
    # late evening UTC on 31 Jan is already 1 Feb in Shanghai: no clamping then
    late = t("2025-01-31T20:00+00:00")  # 1 Feb 04:00 Shanghai
    assert add_months(late, 1, TZ) == t("2025-03-01T04:00")


def test_add_months_returns_utc():
    assert add_months(t("2025-01-31T10:00"), 1, TZ).utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("earlier", "later", "within"),
    [
        ("2025-03-01T10:00", "2026-02-28T10:00", True),
        ("2025-03-01T10:00", "2026-02-28T23:59", True),
        ("2025-03-01T10:00", "2026-03-01T10:00", False),
        ("2025-03-01T10:00", "2026-03-01T12:00", False),
        ("2025-03-01T10:00", "2025-03-01T10:00", True),
        ("2024-03-01T10:00", "2025-02-28T10:00", True),
        ("2024-03-01T10:00", "2025-03-01T10:00", False),
    ],
)
def test_within_one_year_is_strict(earlier, later, within):
    assert within_one_year(t(earlier), t(later), TZ) is within


def _mismatch(rid: str, confirmed: str) -> list:
    return [report(rid, "BARCODE-MISMATCH", confirmed, number=NUMBER), confirm(rid, confirmed)]


def test_company_counter_one_year_edge_within():
    state = fold(world() + _mismatch("R1", "2025-03-01T10:00") + _mismatch("R2", "2026-02-28T10:00"))
    assert "R1/company" not in state.penalties
    p = state.penalties["R2/company"]
    assert (p.subject_kind, p.subject, p.rule) == ("company", "co1", "BARCODE-MISMATCH")
    assert p.at == t("2026-02-28T10:00")
    assert p.until == t("2026-08-28T10:00")
    assert "R1" in p.causes


def test_company_counter_one_year_edge_not_within():
    state = fold(world() + _mismatch("R1", "2025-03-01T10:00") + _mismatch("R2", "2026-03-01T10:00"))
    assert not [p for p in state.penalties.values() if p.subject_kind == "company"]
    assert not state.active_penalties("company", "co1", t("2026-03-01T10:00"))


def test_facts_given_in_utc_or_local_time_fold_alike():
    facts = world() + [
        report("R1", "ACCOUNT-SHARED", "2025-01-30T12:00", number=NUMBER),
        confirm("R1", "2025-01-31T01:00"),
    ]
    local = fold(facts, utc=False)
    normalised = fold(facts)
    for state in (local, normalised):
        assert state.penalties["R1/account"].at == t("2025-01-31T01:00")
        assert state.penalties["R1/account"].until == t("2025-04-30T01:00")
