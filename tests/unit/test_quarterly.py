"""Seed 004 quarterly reports, counted by hand. Quarters are calendar quarters on the policy's calendar
(Asia/Shanghai): 2025-04-01 00:30 +08:00 is 2025Q2 although it is still 31 March in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.policy import load_policy
from projections.quarterly import quarterly_reports
from projections.quarters import quarter_bounds
from schemas import facts as f
from tests.unit.builders import NUMBER, SRC, account, call, case, confirm, fold, report, t, world


def responded(case_id: str, at: str) -> f.CaseResponded:
    return f.CaseResponded(id=f"resp-{case_id}", at=t(at), source=SRC, case_id=case_id)


def history() -> list[f.Fact]:
    facts = world(("a1",)) + [account("b1", "co2")]
    facts += [
        call("c1", "2025-01-15T10:00"),
        call("c2", "2025-03-31T23:30"),  # still Q1 on the line's calendar
        call("c3", "2025-04-01T00:30"),  # Q2 on the line's calendar (16:30 UTC on 31 March)
        call("c4", "2025-02-01T10:00", "b1"),  # the other company
        call("c5", "2025-02-02T10:00", "nobody"),  # an unknown account: no company
    ]
    facts += [case("K1", "c1", "2025-01-15T10:05", fault_level="L1"), responded("K1", "2025-01-15T10:20")]
    facts += [case("K2", "c2", "2025-03-31T23:35", fault_level="L2")]  # breached at 2025-04-01 00:05
    facts += [case("K3", "c3", "2025-04-01T00:35", fault_level="complaint")]
    facts += [report("R1", "ACCOUNT-SHARED", "2025-03-09T12:00", call_id="c1", number=NUMBER)]
    facts += [confirm("R1", "2025-03-10T10:00")]  # 1 violation; the account and the number: 2 penalties
    return facts


def test_a_quarter_with_hand_counted_numbers() -> None:
    [q1] = quarterly_reports(fold(history()), None, "co1", "2025Q1")
    assert (q1.calls, q1.cases) == (2, 2)
    assert (q1.response_met, q1.response_breached, q1.response_open, q1.response_attainment) == (1, 1, 0, 0.5)
    assert (q1.resolution_met, q1.resolution_breached, q1.resolution_open) == (0, 0, 0)
    assert (q1.violations, q1.violations_by_rule, q1.penalties) == (1, {"ACCOUNT-SHARED": 1}, 2)


def test_the_next_quarter_and_the_other_company() -> None:
    reports = {
        (r.company_id, r.quarter): r
        for r in quarterly_reports(fold(history(), "2025-04-01T01:00"), t("2025-04-01T01:00"))
    }
    assert sorted(reports) == [("co1", "2025Q1"), ("co1", "2025Q2"), ("co2", "2025Q1")]
    q2 = reports[("co1", "2025Q2")]
    # the complaint is open on both targets an hour after it was opened
    assert (q2.calls, q2.cases, q2.response_open, q2.resolution_open, q2.violations) == (1, 1, 1, 1, 0)
    assert (reports[("co2", "2025Q1")].calls, reports[("co2", "2025Q1")].cases) == (1, 0)


def test_a_report_asked_for_with_no_activity_is_zeros() -> None:
    [empty] = quarterly_reports(fold(history()), None, "co1", "2024Q4")
    assert (empty.calls, empty.cases, empty.violations, empty.penalties, empty.response_attainment) == (
        0,
        0,
        0,
        0,
        None,
    )


def test_quarter_bounds_on_the_line_calendar() -> None:
    tz = load_policy().tz
    assert quarter_bounds("2025Q2", tz) == (
        datetime(2025, 3, 31, 16, 0, tzinfo=UTC),
        datetime(2025, 6, 30, 16, 0, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="quarter"):
        quarter_bounds("2025-Q5", tz)
